// `node dist/bench/login-stall.js`: what logins cost the data plane. Two platforms, each with an
// open public route through a Warpgate to the same origin: one hashes passwords in its worker
// thread (now), the other on its main thread (before; bench/inline-passwords.ts preloaded). In
// alternating rounds, requests go to the route at a fixed rate, without and with password logins
// (POST /v1/sessions) at a fixed rate; latency is counted from each request's scheduled start,
// so a stalled loop is not hidden by requests that were never sent. Also the platforms' RSS: idle
// before the logins, right after them, and once the idle worker has exited.
//
// Knobs (environment): STALL_RPS=200 STALL_LOGINS=3 (per s) STALL_DURATION=8 (s) STALL_ROUNDS=3
//   STALL_IDLE_WAIT=35 (s; the worker exits after 30 s without work). Not part of the tests.
import {type ChildProcess, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import https from 'node:https'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {LocalMezu, type PlatformInfo, stopChild, WARPGATE_BIN} from '../src/lib/local-platform.js'
import {rssMiB} from './memory.js'

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d)
const RPS = env('STALL_RPS', 200)
const LOGINS_PER_S = env('STALL_LOGINS', 3)
const DURATION_MS = env('STALL_DURATION', 8) * 1000
const ROUNDS = env('STALL_ROUNDS', 3)
const IDLE_WAIT_MS = env('STALL_IDLE_WAIT', 35) * 1000
const HERE = dirname(fileURLToPath(import.meta.url))
const EMAIL = 'stall@mezu.localhost'
const ROUTE = 'stall'

type Mode = 'worker' | 'inline'

interface Target {
  mode: Mode
  routeUrl: URL
  apiUrl: URL
  agent: https.Agent
  password: string
  pid: number
  children: ChildProcess[]
  dir: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function startOrigin(): Promise<{url: string; child: ChildProcess}> {
  const child = spawn(process.execPath, [join(HERE, 'origin.js'), '0'], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({input: child.stdout!}).once('line', (l) => resolve(Number(/listening (\d+)/.exec(l)?.[1])))
    child.once('exit', (code) => reject(new Error(`origin exited ${code}`)))
  })
  return {url: `http://127.0.0.1:${port}`, child}
}

async function startTarget(mode: Mode, originUrl: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), `mezu-stall-${mode}-`))
  const dirs = {configDir: join(dir, 'cli'), dataDir: join(dir, 'data')}
  const nodeArgs = mode === 'inline' ? ['--import', pathToFileURL(join(HERE, 'inline-passwords.js')).href] : []
  const platformMezu = new LocalMezu({...dirs, nodeArgs})
  const mezu = new LocalMezu(dirs)
  const password = randomBytes(18).toString('base64url')
  const children: ChildProcess[] = []
  const platform = await platformMezu.startPlatform({email: EMAIL, password, ports: {api: 0, edge: 0, tunnel: 0}})
  children.push(platform.child)
  const info: PlatformInfo = platform.info
  mezu.loginAndUse(info, {email: EMAIL, password, project: 'stall', env: 'prod'})
  mezu.must(['policies', 'create', 'open', '--public', '--json'])
  mezu.must(['routes', 'create', '--hostname', ROUTE, '--service', ROUTE, '--policy', 'open', '--rate-limit', '1000000', '--json'])
  const token = JSON.parse(mezu.must(['warpgates', 'create', '--name', ROUTE, '--json']).out).token
  const warpgate = mezu.spawn([originUrl, '--quiet', '--json', '--grace', '1s', '--log-level', 'warn'], undefined, {
    bin: WARPGATE_BIN,
    env: {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: info.apiUrl, MEZU_CA_FILE: info.caPath},
  })
  children.push(warpgate)
  const url = await tunnelUrl(warpgate)
  const agent = new https.Agent({keepAlive: true, maxSockets: 256, ca: readFileSync(info.caPath, 'utf8'), lookup: (_h, o, cb) => ((o as {all?: boolean}).all ? (cb as unknown as (e: null, a: unknown[]) => void)(null, [{address: '127.0.0.1', family: 4}]) : cb(null, '127.0.0.1', 4))})
  return {mode, routeUrl: new URL('/small', url), apiUrl: new URL('/v1/sessions', info.apiUrl), agent, password, pid: platform.child.pid!, children, dir}
}

function tunnelUrl(warpgate: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let url: string | undefined
    let done = false
    warpgate.once('exit', (code) => done || reject(new Error(`the Warpgate exited (${code})`)))
    createInterface({input: warpgate.stdout!}).on('line', (line) => {
      let e: {type?: string; urls?: string[]}
      try {
        e = JSON.parse(line)
      } catch {
        return
      }
      if (e.type === 'registered') url ??= e.urls?.[0]
      if (!done && url && e.type === 'connected') {
        done = true
        resolve(url)
      }
    })
  })
}

function send(t: Target, url: URL, method: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {method, agent: t.agent, headers: body ? {'content-type': 'application/json', 'content-length': Buffer.byteLength(body)} : {}}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Calls `fn` at `perSecond` on schedule for `ms`; each result is its latency from the scheduled start. */
async function openLoop(perSecond: number, ms: number, fn: () => Promise<number>): Promise<{latencies: number[]; errors: number}> {
  const latencies: number[] = []
  let errors = 0
  const inFlight: Promise<void>[] = []
  const start = performance.now()
  const count = Math.floor((perSecond * ms) / 1000)
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / perSecond
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    inFlight.push(
      fn().then(
        (status) => (status >= 200 && status < 300 ? void latencies.push(performance.now() - due) : void errors++),
        () => void errors++,
      ),
    )
  }
  await Promise.all(inFlight)
  return {latencies, errors}
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN)

interface Row {
  mode: Mode
  logins: boolean
  round: number
  p50: number
  p99: number
  max: number
  requests: number
  errors: number
  loginMs?: number
  loginErrors?: number
}

async function measure(t: Target, round: number, logins: boolean): Promise<Row> {
  // not counted: connections and the tunnel warm again after the other platform's turn
  await openLoop(RPS, 2000, () => send(t, t.routeUrl, 'GET'))
  const probe = openLoop(RPS, DURATION_MS, () => send(t, t.routeUrl, 'GET'))
  const body = JSON.stringify({email: EMAIL, password: t.password})
  const login = logins ? openLoop(LOGINS_PER_S, DURATION_MS, () => send(t, t.apiUrl, 'POST', body)) : undefined
  const [p, l] = await Promise.all([probe, login])
  const s = p.latencies.sort((a, b) => a - b)
  const row: Row = {mode: t.mode, logins, round, p50: pct(s, 50), p99: pct(s, 99), max: s.at(-1) ?? NaN, requests: s.length, errors: p.errors}
  if (l) {
    row.loginMs = l.latencies.reduce((a, b) => a + b, 0) / Math.max(1, l.latencies.length)
    row.loginErrors = l.errors
  }
  process.stderr.write(`[stall] ${JSON.stringify(row, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}\n`)
  return row
}

const origin = await startOrigin()
const targets: Target[] = []
try {
  for (const mode of ['worker', 'inline'] as const) targets.push(await startTarget(mode, origin.url))
  // warm both routes and connections
  for (const t of targets) await openLoop(50, 1000, () => send(t, t.routeUrl, 'GET'))
  process.stderr.write(`[stall] waiting ${IDLE_WAIT_MS / 1000} s for the setup's worker to exit\n`)
  await sleep(IDLE_WAIT_MS)
  const rss: Record<Mode, Record<string, number>> = {worker: {}, inline: {}}
  for (const t of targets) rss[t.mode].beforeLogins = rssMiB(t.pid)
  const rows: Row[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    // alternate which goes first, so the machine's other load hits both alike
    const order = round % 2 ? targets : [...targets].reverse()
    for (const t of order) for (const logins of [false, true]) rows.push(await measure(t, round, logins))
  }
  for (const t of targets) rss[t.mode].afterLogins = rssMiB(t.pid)
  await sleep(IDLE_WAIT_MS)
  for (const t of targets) rss[t.mode].idleAfter = rssMiB(t.pid)

  const summary = (mode: Mode, logins: boolean) => {
    const r = rows.filter((x) => x.mode === mode && x.logins === logins)
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    return {
      mode,
      logins: logins ? `${LOGINS_PER_S}/s` : 'none',
      'p50 ms (median of rounds)': med(r.map((x) => x.p50)).toFixed(1),
      'p99 ms (median of rounds)': med(r.map((x) => x.p99)).toFixed(1),
      'p99 ms (each round)': r.map((x) => x.p99.toFixed(0)).join(' / '),
      'max ms (worst round)': Math.max(...r.map((x) => x.max)).toFixed(0),
      'login ms (mean)': logins ? (r.reduce((a, x) => a + (x.loginMs ?? 0), 0) / r.length).toFixed(0) : '',
      errors: r.reduce((a, x) => a + x.errors + (x.loginErrors ?? 0), 0),
    }
  }
  console.log(`\nRoute GET at ${RPS}/s for ${DURATION_MS / 1000} s per round, ${ROUNDS} rounds; latency from the scheduled start.`)
  console.table([summary('worker', false), summary('worker', true), summary('inline', false), summary('inline', true)])
  console.log('\nPlatform RSS (MiB):')
  console.table(Object.fromEntries(Object.entries(rss).map(([m, r]) => [m, Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.toFixed(0)]))])))
} finally {
  for (const t of targets) {
    t.agent.destroy()
    for (const c of [...t.children].reverse()) await stopChild(c)
    rmSync(t.dir, {recursive: true, force: true})
  }
  origin.child.kill('SIGTERM')
}
