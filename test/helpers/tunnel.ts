import {spawn} from 'node:child_process'
import {EventEmitter, once} from 'node:events'
import {mkdirSync, symlinkSync} from 'node:fs'
import net, {type AddressInfo} from 'node:net'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import http2 from 'node:http2'
import {createInterface} from 'node:readline'
import {setTimeout as delay} from 'node:timers/promises'
import https from 'node:https'
import type {ExecutionContext} from 'ava'
import {createWarpgate} from '../../platform/store/config/warpgates.js'
import {Warpgate, type WarpgateEvent, type WarpgateOptions} from '../../src/warpgate/warpgate.js'
import {BIN, mezu} from './cli.js'
import {tempDir, type TestPlatform} from './platform.js'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

/** A registration token made through the store (what `mezu warpgates create` does through the API). */
export async function registrationToken(platform: TestPlatform, scope: {projectId: string; environmentId: string}, service: string, name = service): Promise<{token: string; warpgateId: string}> {
  const {token, warpgate} = await createWarpgate(platform.ctx.cdb, {...scope, name, service, tokenTtlMs: 60 * 60_000})
  return {token, warpgateId: warpgate.id}
}

/** Waits for an event that satisfies `match`, failing after the deadline. */
export function waitFor<T>(subscribe: (fn: (v: T) => void) => () => void, match: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
    }, ms)
    const off = subscribe((v) => {
      if (!match(v)) return
      clearTimeout(timer)
      off()
      resolve(v)
    })
  })
}

export function warpgateEvent(wg: Warpgate, match: (e: WarpgateEvent) => boolean, what: string, ms?: number): Promise<WarpgateEvent> {
  return waitFor<WarpgateEvent>((fn) => {
    wg.on('event', fn)
    return () => wg.off('event', fn)
  }, match, what, ms)
}

/** An in-process Warpgate registered with a fresh token, started, with `connections` up. */
export async function startWarpgate(t: ExecutionContext, platform: TestPlatform, scope: {projectId: string; environmentId: string}, service: string, originUrl: string, opts: Partial<WarpgateOptions> & {connections?: number} = {}): Promise<{wg: Warpgate; warpgateId: string}> {
  const {token, warpgateId} = await registrationToken(platform, scope, service)
  const wg = new Warpgate({apiUrl: platform.apiUrl, caPem: platform.caPem, token, originUrl, connections: 2, nextDelay: () => 50, ...opts})
  t.teardown(() => wg.stop())
  const n = opts.connections ?? 2
  const up = warpgateEvent(wg, (e) => e.type === 'connected' && e.connections >= n, `${n} connections of ${service}`)
  await wg.start()
  await up
  return {wg, warpgateId}
}

export interface EdgeResponse {
  status: number
  headers: http2.IncomingHttpHeaders | Record<string, string | string[] | undefined>
  body: Buffer
  text: string
}

/** An HTTPS/1.1 request to the edge for `host`, CA pinned, connecting to 127.0.0.1. */
/** What edge requests need of a platform, in-process or a child (PlatformProcess.summary + caPem). */
export type EdgeAddress = Pick<TestPlatform, 'caPem'> & {ports: {edge: number | null}}

export function edgeRequest(platform: EdgeAddress, host: string, path: string, opts: {method?: string; body?: Buffer | string; headers?: Record<string, string>; agent?: https.Agent} = {}): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: platform.ports.edge!, servername: host.replace(/:\d+$/, ''), method: opts.method ?? 'GET', path, ca: platform.caPem,
      headers: {host, ...opts.headers}, agent: opts.agent ?? false,
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8')})
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** A running `mezu tunnel … --json` child: its event lines so far, and a way to wait for one. */
export interface TunnelCli {
  events: Array<Record<string, any>>
  stderr(): string
  waitForEvent(match: (e: Record<string, any>) => boolean, what: string, ms?: number): Promise<Record<string, any>>
  /** SIGINT, then the exit code */
  stop(): Promise<number | null>
}

/**
 * Spawns the built `mezu tunnel ARGS --json` (or, with `command: [WARPGATE_BIN]`, the lean
 * `mezu-warpgate ARGS --json`) and resolves once `connections` tunnel connections are up.
 */
export async function startTunnelCli(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv, connections = 1, command = [BIN, 'tunnel'], launcher: string[] = []): Promise<TunnelCli> {
  // LAUNCHER runs node in another context, e.g. ['ip', 'netns', 'exec', NS] (it execs, so signals reach node)
  const [file, ...argv] = [...launcher, process.execPath, ...command, ...args, '--connections', String(connections), '--json']
  const child = spawn(file, argv, {
    env: {...process.env, CI: '1', MEZU_WARPGATE_TOKEN: '', MEZU_TOKEN: '', ...env}, stdio: ['ignore', 'pipe', 'pipe'], detached: false,
  })
  const events: TunnelCli['events'] = []
  const lines = new EventEmitter<{line: [Record<string, any>]}>()
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  createInterface({input: child.stdout}).on('line', (l) => {
    try {
      const e = JSON.parse(l) as Record<string, any>
      events.push(e)
      lines.emit('line', e)
    } catch {
      // a service's own output line ("[hello] …"), not an event
    }
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  // Stop it the way a person would, so it stops the service it started: SIGKILL would orphan that
  // service (it runs in its own process group). The second signal skips the drain.
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await Promise.race([exited, delay(200)])
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await Promise.race([exited, delay(10_000)])
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const waitForEvent: TunnelCli['waitForEvent'] = (match, what, ms = 20_000) => {
    const seen = events.find(match)
    if (seen) return Promise.resolve(seen)
    const gone = exited.then((code) => Promise.reject(new Error(`mezu tunnel exited ${code} while waiting for ${what}; stderr: ${err}`)))
    return Promise.race([gone, waitFor<Record<string, any>>((fn) => {
      lines.on('line', fn)
      return () => lines.off('line', fn)
    }, match, `${what}; stderr: ${err}`, ms)])
  }
  await waitForEvent((e) => e.type === 'connected' && e.connections >= connections, `${connections} connection(s)`)
  return {
    events, waitForEvent, stderr: () => err,
    async stop() {
      child.kill('SIGINT')
      return exited
    },
  }
}

/** A port for a service that listens where its mezu.json says (bind :0, read it, release it). */
export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

/**
 * `mezu init DIR --template hello` on a free port, then what `npm install` would add there: the
 * repo's own jose (no network in tests). Returns the service directory.
 */
export async function scaffoldHello(t: ExecutionContext): Promise<string> {
  const dir = join(tempDir(t), 'hello')
  const init = await mezu(['init', dir, '--template', 'hello', '--port', String(await freePort()), '--json'])
  if (init.code !== 0) throw new Error(`mezu init failed: ${init.stderr}`)
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(join(REPO, 'node_modules', 'jose'), join(dir, 'node_modules', 'jose'), 'dir')
  return dir
}

/**
 * Waits until the edge has a ready tunnel connection for HOST: "connected" on the Warpgate side
 * can come a moment before the edge's session is ready, when it answers 503 service_offline.
 */
export async function waitUntilServed(platform: EdgeAddress, host: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const r = await edgeRequest(platform, host, '/.well-known/mezu-test-ready', {headers: {accept: 'application/json'}})
    if (r.headers['mezu-edge-error'] !== 'service_offline') return
    if (Date.now() > deadline) throw new Error(`${host} was not served within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
