import {type ChildProcess, spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {setTimeout as delay} from 'node:timers/promises'
import type {ExecutionContext} from 'ava'
import type {PlatformInfo} from '../../src/lib/local-platform.js'
import {api, loginToken} from './api.js'
import {BIN} from './cli.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from './platform.js'

/** `mezu platform start` as a child process: a platform that a test can SIGKILL. */
export interface PlatformProcess extends JsonProcess<PlatformInfo> {
  caPem: string
}

/**
 * Starts the built `mezu platform start --json` on DATA_DIR (initialised on the first start with
 * the test owner) on the given ports, 0 = any; resolves once its summary line is printed.
 * `extra.args` are added to the command line (e.g. --config), `extra.env` to its environment.
 */
export async function startPlatformProcess(t: ExecutionContext, dataDir: string, ports: {api: number; edge: number; tunnel: number} = {api: 0, edge: 0, tunnel: 0}, extra: {args?: string[]; env?: NodeJS.ProcessEnv} = {}): Promise<PlatformProcess> {
  const run = await spawnMezuJson<PlatformInfo>(t, [
    'platform', 'start', '--data-dir', dataDir, '--api-port', String(ports.api), '--edge-port', String(ports.edge), '--tunnel-port', String(ports.tunnel),
    '--admin-email', ADMIN_EMAIL, '--admin-password-stdin', ...(extra.args?.includes('--log-level') ? [] : ['--log-level', 'silent']), '--json', ...(extra.args ?? []),
  ], {env: extra.env, stdin: ADMIN_PASSWORD, what: 'platform start'})
  return {...run, caPem: readFileSync(run.summary.caPath, 'utf8')}
}

/** A long-running `mezu … --json` child: its first stdout line parsed, and ways to stop it (always stopped at teardown). */
export interface JsonProcess<T> {
  child: ChildProcess
  summary: T
  exited: Promise<number | null>
  stderr(): string
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** Spawns the built `mezu ARGS` (CI=1, no master key from the environment) and resolves with its first stdout line, parsed. */
export async function spawnMezuJson<T>(t: ExecutionContext, args: string[], opts: {env?: NodeJS.ProcessEnv; stdin?: string; what: string}): Promise<JsonProcess<T>> {
  const child = spawn(process.execPath, [BIN, ...args], {env: {...process.env, CI: '1', MEZU_MASTER_KEY: '', ...opts.env}, stdio: ['pipe', 'pipe', 'pipe']})
  child.stdin!.end(opts.stdin ?? '')
  let stdout = ''
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill(signal)
    await exited
  }
  t.teardown(async () => {
    await Promise.race([kill('SIGTERM'), delay(10_000)])
    await kill('SIGKILL')
  })
  const summary = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.what} printed no line within 90 s; stderr: ${stderr}`)), 90_000)
    child.stdout!.on('data', (d) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      resolve(JSON.parse(stdout.slice(0, nl)) as T)
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${opts.what} exited ${code} before listening; stderr: ${stderr}`))
    })
  })
  return {child, summary, exited, stderr: () => stderr, kill}
}

/**
 * Through the API as the owner: a project with one environment, a public route for `service` on
 * `host`, and a Warpgate registration token for it.
 */
export async function publishThroughApi(p: PlatformProcess, host: string, service: string): Promise<{token: string; warpgateId: string}> {
  const {apiUrl} = p.summary
  const owner = await loginToken(apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = async (method: string, path: string, body: unknown, want = 201) => {
    const r = await api(apiUrl, p.caPem, method, path, {token: owner, body})
    if (r.status !== want) throw new Error(`${method} ${path}: ${r.status} ${r.text}`)
    return r.body
  }
  const project = `p-${service}`
  await call('POST', '/v1/projects', {name: project})
  await call('POST', `/v1/projects/${project}/environments`, {name: 'prod'})
  await call('POST', `/v1/projects/${project}/policies`, {name: 'open', public: true})
  await call('POST', '/v1/routes', {project, env: 'prod', hostname: host, service, policy: 'open'})
  const wg = await call('POST', '/v1/warpgates', {project, environment: 'prod', name: service, service})
  return {token: wg.token, warpgateId: wg.warpgate.id}
}
