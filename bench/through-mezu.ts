import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {LocalMezu, stopChild, WARPGATE_BIN} from '../src/lib/local-platform.js'
import type {Endpoint} from './load.js'

/** What the benchmark reaches through Mezusphere, and the processes whose memory it reports. */
export interface MezuTarget extends Endpoint {
  /** e.g. {edge: pid, warpgate: pid}; measured idle right after start and at peak at the end */
  processes: Record<string, number>
  /** the platform's /metrics URL when it was started with `platformArgs: ['--metrics-addr', …]` */
  metricsUrl?: string
  stop(): Promise<void>
}

const ROUTE = 'bench'
const EMAIL = 'bench@mezu.localhost'

/**
 * Starts the platform (edge) and a Warpgate publishing `origin` on a public route, and returns
 * the public URL (https://<route host>:<edge port>), the platform CA, and the processes' pids.
 * Both run as child processes (`mezu platform start`, and `mezu-warpgate … --quiet` as a server
 * runs it, or `mezu tunnel` with MEZU_BENCH_RUNTIME=tunnel) so their CPU and memory are not the
 * load generator's. The route is public (no login) and has no practical rate
 * limit, so the data plane is what gets measured.
 */
export async function startThroughMezu(origin: {url: string; port: number; workDir: string; nodeArgs?: string[]; platformArgs?: string[]}): Promise<MezuTarget> {
  const dir = mkdtempSync(join(origin.workDir, 'mezu-'))
  const mezu = new LocalMezu({configDir: join(dir, 'cli'), dataDir: join(dir, 'data'), nodeArgs: origin.nodeArgs})
  const password = randomBytes(18).toString('base64url')
  const children: ChildProcess[] = []
  const stop = async () => {
    // The Warpgate first (--grace 1s), so the edge sees a clean drain rather than a dead tunnel.
    for (const c of children.reverse()) await stopChild(c)
    rmSync(dir, {recursive: true, force: true})
  }
  try {
    const platform = await mezu.startPlatform({email: EMAIL, password, ports: {api: 0, edge: 0, tunnel: 0}, args: origin.platformArgs})
    children.push(platform.child)
    const {info} = platform
    mezu.loginAndUse(info, {email: EMAIL, password, project: 'bench', env: 'prod'})
    mezu.must(['policies', 'create', 'open', '--public', '--json'])
    // Created beforehand because `mezu tunnel --route` cannot attach a policy; the tunnel reuses it.
    // The rate limit is the most the API allows (1M/min per client IP): the default (6000/min) would
    // throttle the load generator, which is a single IP.
    mezu.must(['routes', 'create', '--hostname', ROUTE, '--service', ROUTE, '--policy', 'open', '--rate-limit', '1000000', '--json'])
    const tunnel = process.env.MEZU_BENCH_RUNTIME === 'tunnel'
      ? mezu.spawn(['tunnel', origin.url, '--name', ROUTE, '--route', ROUTE, '--quiet', '--json', '--grace', '1s'])
      : mezu.spawn([origin.url, '--quiet', '--json', '--grace', '1s', '--log-level', 'warn'], undefined, {
        bin: WARPGATE_BIN,
        env: {MEZU_WARPGATE_TOKEN: JSON.parse(mezu.must(['warpgates', 'create', '--name', ROUTE, '--json']).out).token, MEZU_API_URL: info.apiUrl, MEZU_CA_FILE: info.caPath},
      })
    children.push(tunnel)
    const url = await tunnelReady(tunnel)
    return {
      url: new URL(url).origin,
      caPem: readFileSync(info.caPath, 'utf8'),
      processes: {edge: platform.child.pid!, warpgate: tunnel.pid!},
      metricsUrl: info.metricsUrl ?? undefined,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Resolves with the route's public URL once the tunnel reports it and a connection is up. */
function tunnelReady(tunnel: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let url: string | undefined
    let connected = false
    let done = false
    const onExit = (code: number | null) => reject(new Error(`the Warpgate exited (${code}) before it was connected`))
    tunnel.once('exit', onExit)
    // Keeps reading after readiness: --quiet leaves only connection events, and a full pipe would stall it.
    createInterface({input: tunnel.stdout!}).on('line', (line) => {
      let e: {type?: string; url?: string; urls?: string[]}
      try {
        e = JSON.parse(line)
      } catch {
        return
      }
      // mezu tunnel reports the route it ensured; mezu-warpgate the routes that already point at it
      if (e.type === 'route') url = e.url
      if (e.type === 'registered') url ??= e.urls?.[0]
      if (e.type === 'connected') connected = true
      if (!done && url && connected) {
        done = true
        tunnel.off('exit', onExit)
        resolve(url)
      }
    })
  })
}
