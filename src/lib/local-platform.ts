// Drives the real `mezu` CLI as child processes to stand up a local platform, a logged-in CLI and
// Warpgates. Shared by the Quickstart demo (bin/demo.js) and the benchmark (bench/through-mezu.ts),
// so both exercise exactly what a user would type. Not used by the commands themselves.
import {type ChildProcess, spawn, spawnSync, type StdioOptions} from 'node:child_process'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

/** bin/run.js of this checkout (this file lives at dist/src/lib/). */
export const MEZU_BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url))
/** The lean server runtime, `mezu-warpgate`. */
export const WARPGATE_BIN = fileURLToPath(new URL('../../../bin/warpgate.js', import.meta.url))

/** The JSON line `mezu platform start --json` prints once it listens. */
export interface PlatformInfo {
  apiUrl: string
  edgeUrl: string
  tunnelUrl: string
  tunnelUrls: string[]
  /** http://HOST:PORT/metrics with --metrics-addr, else null */
  metricsUrl?: string | null
  ports: {api: number; edge: number; tunnel: number}
  domain: string
  dataDir: string
  caPath: string
  pid: number
}

export interface MezuResult {
  code: number | null
  out: string
  err: string
}

/** A `mezu` invocation that failed; the message carries its stderr. */
export class MezuRunError extends Error {
  override name = 'MezuRunError'
  constructor(readonly args: string[], readonly result: MezuResult) {
    super(`mezu ${args.join(' ')} failed (exit ${result.code}):\n${result.err}`)
  }
}

export class LocalMezu {
  /** MEZU_CONFIG_DIR and MEZU_DATA_DIR set; no inherited MEZU_TOKEN/API URL/scope to leak in. */
  readonly env: NodeJS.ProcessEnv

  /** Node flags for the long-running processes only (the benchmark's --cpu-prof, which NODE_OPTIONS refuses) */
  private readonly nodeArgs: string[]

  constructor(dirs: {configDir: string; dataDir: string; nodeArgs?: string[]}) {
    this.nodeArgs = dirs.nodeArgs ?? []
    this.env = {...process.env, MEZU_CONFIG_DIR: dirs.configDir, MEZU_DATA_DIR: dirs.dataDir}
    for (const k of ['MEZU_TOKEN', 'MEZU_API_URL', 'MEZU_CA_FILE', 'MEZU_PROJECT', 'MEZU_ENV', 'MEZU_WARPGATE_TOKEN']) delete this.env[k]
  }

  /** Runs `mezu ARGS` to completion. */
  run(args: string[], input = ''): MezuResult {
    const r = spawnSync(process.execPath, [MEZU_BIN, ...args], {env: this.env, input, encoding: 'utf8'})
    return {code: r.status, out: r.stdout, err: r.stderr}
  }

  /** Runs `mezu ARGS`; throws unless it exits 0 or fails with one of the --json error codes in okCodes. */
  must(args: string[], input = '', okCodes: string[] = []): MezuResult {
    const r = this.run(args, input)
    if (r.code !== 0 && !okCodes.some((c) => r.err.includes(`"code":"${c}"`))) throw new MezuRunError(args, r)
    return r
  }

  /** Starts a long-running `mezu ARGS` (platform start, tunnel), or `bin` ARGS (e.g. WARPGATE_BIN) with `env` added. */
  spawn(args: string[], stdio: StdioOptions = ['ignore', 'pipe', 'inherit'], opts: {bin?: string; env?: NodeJS.ProcessEnv} = {}): ChildProcess {
    return spawn(process.execPath, [...this.nodeArgs, opts.bin ?? MEZU_BIN, ...args], {env: {...this.env, ...opts.env}, stdio})
  }

  /**
   * `mezu platform start --json` (initialising an empty data directory with this owner), resolved
   * once it prints its addresses. Ports default to the platform's; 0 picks free ones.
   */
  async startPlatform(o: {email: string; password: string; ports?: {api: number; edge: number; tunnel: number}; logLevel?: string; stderr?: 'inherit' | 'ignore' | number; args?: string[]}): Promise<{child: ChildProcess; info: PlatformInfo}> {
    const ports = o.ports ? ['--api-port', String(o.ports.api), '--edge-port', String(o.ports.edge), '--tunnel-port', String(o.ports.tunnel)] : []
    const child = this.spawn(['platform', 'start', '--json', '--log-level', o.logLevel ?? 'warn', '--admin-email', o.email, '--admin-password-stdin', ...ports, ...(o.args ?? [])], ['pipe', 'pipe', o.stderr ?? 'inherit'])
    child.stdin!.end(o.password + '\n')
    const line = await firstLine(child, 'mezu platform start')
    // Keep draining stdout so the platform never blocks on a full pipe.
    child.stdout!.resume()
    return {child, info: JSON.parse(line) as PlatformInfo}
  }

  /** Logs the owner in and selects PROJECT/ENV, creating both when missing. */
  loginAndUse(info: PlatformInfo, o: {email: string; password: string; project: string; env: string}): void {
    this.must(['login', '--api-url', info.apiUrl, '--ca-file', info.caPath, '--email', o.email, '--password-stdin', '--json'], o.password)
    this.must(['projects', 'create', o.project, '--json'], '', ['conflict'])
    this.must(['envs', 'create', o.env, '--project', o.project, '--json'], '', ['conflict'])
    this.must(['use', `${o.project}/${o.env}`, '--json'])
  }
}

/** The first stdout line of a child, or an error if it exits before printing one. */
export function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({input: child.stdout!})
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`${what} exited (${signal ?? code}) before it was ready`))
    child.once('exit', onExit)
    rl.once('line', (line) => {
      child.off('exit', onExit)
      rl.close()
      resolve(line)
    })
  })
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
