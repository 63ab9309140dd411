import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {LocalMezu, type PlatformInfo, stopChild, WARPGATE_BIN} from '../src/lib/local-platform.js'
import {type Endpoint, waitReady} from './load.js'

/** What the benchmark reaches through Mezusphere, and the processes whose memory it reports. */
export interface MezuTarget extends Endpoint {
  /** e.g. {edge: pid, warpgate: pid}; measured idle right after start and at peak at the end */
  processes: Record<string, number>
  /** the platform's /metrics URL when it was started with `platformArgs: ['--metrics-addr', …]` */
  metricsUrl?: string
  /** ms from starting the Warpgate until the route answered 200 at every edge */
  servedMs: number
  /** the Warpgate's tunnel connections, as its events report them */
  tunnelState: TunnelState
  stop(): Promise<void>
}

/** What the Warpgate's connected/disconnected events said: connections up per edge, drops after readiness. */
export interface TunnelState {
  /** connections up now, by edge id (`local` for an all-in-one platform) */
  up: Record<string, number>
  /** connections lost since the tunnel was first ready */
  drops: number
}

const ROUTE = 'bench'
const READY_TIMEOUT_MS = 60_000
/** the owner the benchmark's platforms are initialised with */
export const EMAIL = 'bench@mezu.localhost'

/**
 * Starts the platform (edge) and a Warpgate publishing `origin` on a public route, and returns
 * the public URL (https://<route host>:<edge port>), the platform CA, and the processes' pids.
 * Both run as child processes (`mezu platform start`, and `mezu-warpgate … --quiet` as a server
 * runs it, or `mezu tunnel` with MEZU_BENCH_RUNTIME=tunnel) so their CPU and memory are not the
 * load generator's. The route is public (no login) and has no practical rate
 * limit, so the data plane is what gets measured.
 */
export async function startThroughMezu(origin: {url: string; port: number; workDir: string; nodeArgs?: string[]; platformArgs?: string[]}): Promise<MezuTarget> {
  const {mezu, platform, children, stop} = await startScratchPlatform({workDir: origin.workDir, prefix: 'mezu-', nodeArgs: origin.nodeArgs, platformArgs: origin.platformArgs})
  try {
    const {info} = platform
    const tunnel = publishOrigin(mezu, info, origin.url)
    children.push(tunnel.child)
    const url = await tunnel.ready
    const servedMs = await waitServed([{url: new URL(url).origin, caPem: readFileSync(info.caPath, 'utf8')}], tunnel.startedAt)
    return {
      url: new URL(url).origin,
      caPem: readFileSync(info.caPath, 'utf8'),
      processes: {edge: platform.child.pid!, warpgate: tunnel.child.pid!},
      metricsUrl: info.metricsUrl ?? undefined,
      servedMs,
      tunnelState: tunnel.state,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * A platform in a scratch directory with the CLI logged in to it (project bench, env prod), and
 * the stop that ends every child pushed to `children` in reverse order and removes the directory.
 */
export async function startScratchPlatform(o: {workDir: string; prefix: string; nodeArgs?: string[]; platformArgs?: string[]}) {
  const dir = mkdtempSync(join(o.workDir, o.prefix))
  const mezu = new LocalMezu({configDir: join(dir, 'cli'), dataDir: join(dir, 'data'), nodeArgs: o.nodeArgs})
  const password = randomBytes(18).toString('base64url')
  const children: ChildProcess[] = []
  const stop = async () => {
    // later children first: the Warpgate drains before its edge, edges stop before their control plane
    for (const c of children.reverse()) await stopChild(c)
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const platform = await mezu.startPlatform({email: EMAIL, password, ports: {api: 0, edge: 0, tunnel: 0}, args: o.platformArgs})
    children.push(platform.child)
    mezu.loginAndUse(platform.info, {email: EMAIL, password, project: 'bench', env: 'prod'})
    return {dir, mezu, platform, children, stop}
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * Creates the public route for `originUrl` and starts a Warpgate publishing it (`mezu-warpgate`, or
 * `mezu tunnel` with MEZU_BENCH_RUNTIME=tunnel); `ready` resolves with the route's public URL once
 * the tunnel has a connection to each of `edges` edges.
 */
export function publishOrigin(mezu: LocalMezu, info: PlatformInfo, originUrl: string, edges = 1): {child: ChildProcess; startedAt: number; ready: Promise<string>; state: TunnelState} {
  mezu.must(['policies', 'create', 'open', '--public', '--json'])
  // Created beforehand because `mezu tunnel --route` cannot attach a policy; the tunnel reuses it.
  // The rate limit is the most the API allows (1M/min per client IP): the default (6000/min) would
  // throttle the load generator, which is a single IP.
  mezu.must(['routes', 'create', '--hostname', ROUTE, '--service', ROUTE, '--policy', 'open', '--rate-limit', '1000000', '--json'])
  const asTunnel = process.env.MEZU_BENCH_RUNTIME === 'tunnel'
  const token = asTunnel ? undefined : (JSON.parse(mezu.must(['warpgates', 'create', '--name', ROUTE, '--json']).out) as {token: string}).token
  const startedAt = Date.now()
  const child = asTunnel
    ? mezu.spawn(['tunnel', originUrl, '--name', ROUTE, '--route', ROUTE, '--quiet', '--json', '--grace', '1s'])
    : mezu.spawn([originUrl, '--quiet', '--json', '--grace', '1s', '--log-level', 'warn'], undefined, {
      bin: WARPGATE_BIN,
      env: {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: info.apiUrl, MEZU_CA_FILE: info.caPath},
    })
  const state: TunnelState = {up: {}, drops: 0}
  return {child, startedAt, state, ready: tunnelReady(child, edges, state)}
}

/** Resolves with the route's public URL once the tunnel reports it and a connection to each of `edges` edges is up. */
function tunnelReady(tunnel: ChildProcess, edges: number, state: TunnelState): Promise<string> {
  return new Promise((resolve, reject) => {
    let url: string | undefined
    let done = false
    const fail = (why: string) => {
      clearTimeout(timer)
      reject(new Error(`the Warpgate ${why} before it was connected to ${edges} edge(s) (connections up: ${JSON.stringify(state.up)})`))
    }
    const onExit = (code: number | null) => fail(`exited (${code})`)
    const timer = setTimeout(() => {
      tunnel.off('exit', onExit)
      fail(`waited ${READY_TIMEOUT_MS / 1000} s`)
    }, READY_TIMEOUT_MS)
    tunnel.once('exit', onExit)
    // Keeps reading after readiness: --quiet leaves only connection events, and a full pipe would stall it.
    createInterface({input: tunnel.stdout!}).on('line', (line) => {
      let e: {type?: string; url?: string; urls?: string[]; edge?: string}
      try {
        e = JSON.parse(line)
      } catch {
        return
      }
      // mezu tunnel reports the route it ensured; mezu-warpgate the routes that already point at it
      if (e.type === 'route') url = e.url
      if (e.type === 'registered') url ??= e.urls?.[0]
      const edge = e.edge ?? 'local'
      if (e.type === 'connected') state.up[edge] = (state.up[edge] ?? 0) + 1
      if (e.type === 'disconnected') {
        state.up[edge] = Math.max(0, (state.up[edge] ?? 0) - 1)
        if (done) state.drops++
      }
      if (!done && url && Object.values(state.up).filter((n) => n > 0).length >= edges) {
        done = true
        clearTimeout(timer)
        tunnel.off('exit', onExit)
        resolve(url)
      }
    })
  })
}

/** Waits until every endpoint answers GET /small with 200; ms since `since`. */
export async function waitServed(endpoints: Endpoint[], since: number): Promise<number> {
  await Promise.all(endpoints.map((ep) => waitReady(ep)))
  return Date.now() - since
}
