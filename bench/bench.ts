// `npm run bench`: the same origin reached directly and through Mezusphere (edge + Warpgate on a
// public route): small-request throughput and latency under concurrency, 256 MiB download and
// upload, and memory. Prints a table with ratios. Not part of the tests.
//
// Knobs (environment): BENCH_CONNS=64 BENCH_DURATION=8 (s) BENCH_WARMUP=2 (s) BENCH_LARGE_MB=256
//   BENCH_TOOL=node|wrk (default: wrk when installed) BENCH_JSON=<file> (also write the results).
// `npm run bench -- --profile` also writes V8 CPU profiles of the edge and the Warpgate
// (bench-profiles/edge.cpuprofile, warpgate.cpuprofile; open them in Chrome DevTools).
// `npm run bench -- --metrics` instead compares small-request throughput through four platforms,
// two with metrics off and two with `--metrics-addr` (scraped every 5 s during the run), started in
// the order off, on, on, off so that start order cancels out, in rounds (BENCH_ROUNDS=3, the order
// rotated every round) so that the machine's other load hits all alike. `--metrics --aa` runs the
// same with metrics off on all four:
// the difference it shows is the noise floor to read the real comparison against.
// `npm run bench -- --control` instead measures the control plane's edge snapshot at scale
// (bench/control-plane.ts): full build, one change of each kind, event-loop blocking.
// `npm run bench -- --edges 2` instead compares small requests through one edge (the all-in-one
// platform, as above) and through 2 (or N, up to 8) edge nodes: `--role control` plus `--role edge`
// nodes joined with `mezu edges create` tokens, one Warpgate keeping its connections to each
// (bench/edges.ts). Both scenarios split BENCH_CONNS over N load generators run at once (one per
// edge in the second); per share req/s, p50/p99 and errors, CPU µs/req and idle/peak RSS of
// control, each edge and the Warpgate. A scenario with errors does not count (no ratios).
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import {controlPlaneBench} from './control-plane.js'
import {compareEdges} from './edges.js'
import {download, type Endpoint, hasWrk, smallRequests, type SmallResult, upload, waitReady} from './load.js'
import {cpuMs, peakMiB, rssMiB, sampleRss, writeCalls} from './memory.js'
import {type MezuTarget, startThroughMezu} from './through-mezu.js'

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d)
const CONNS = env('BENCH_CONNS', 64)
const DURATION_MS = env('BENCH_DURATION', 8) * 1000
const WARMUP_MS = env('BENCH_WARMUP', 2) * 1000
const LARGE_MB = env('BENCH_LARGE_MB', 256)
const USE_WRK = process.env.BENCH_TOOL ? process.env.BENCH_TOOL === 'wrk' : hasWrk()
const PROFILE_DIR = process.argv.includes('--profile') ? join(process.cwd(), 'bench-profiles') : undefined
const METRICS_AB = process.argv.includes('--metrics')
const METRICS_AA = process.argv.includes('--aa')
const ROUNDS = env('BENCH_ROUNDS', 3)
const CONTROL = process.argv.includes('--control')
const EDGES = edgesFlag(process.argv)

/** `--edges N` or `--edges=N`: 2 to 8 edge nodes; undefined without the flag. */
function edgesFlag(argv: string[]): number | undefined {
  const i = argv.findIndex((a) => a === '--edges' || a.startsWith('--edges='))
  if (i < 0) return undefined
  const raw = argv[i].startsWith('--edges=') ? argv[i].slice('--edges='.length) : argv[i + 1]
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 2 || n > 8) {
    console.error(`bench: --edges takes a whole number of edge nodes from 2 to 8 (got ${raw ?? 'nothing'}), e.g. npm run bench -- --edges 2`)
    process.exit(2)
  }
  return n
}

interface Measured {
  small: SmallResult
  /** CPU µs per small request of each measured process (from /proc, over the measured run) */
  cpuUsPerRequest: Record<string, number>
  /** small requests per write system call of each process: how well writes are batched */
  requestsPerWrite: Record<string, number>
  /** CPU ms per MiB of each process during the download and the upload */
  cpuMsPerMiB: {download: Record<string, number>; upload: Record<string, number>}
  downloadMiBs: number
  uploadMiBs: number
  /** idle: right after start; transfers: the largest sampled during the download and upload; peak: the lifetime high-water mark */
  memory: Record<string, {idle: number; transfers: number; peak: number}>
}

/** Starts the origin as its own process on a free port. */
async function startOrigin(): Promise<{pid: number; port: number; url: string; stop(): void}> {
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'origin.js'), '0'], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({input: child.stdout}).once('line', (l) => resolve(Number(/listening (\d+)/.exec(l)?.[1])))
    child.once('exit', (code) => reject(new Error(`origin exited ${code}`)))
  })
  return {pid: child.pid!, port, url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM')}
}

async function measure(label: string, ep: Endpoint, processes: Record<string, number>): Promise<Measured> {
  await waitReady(ep)
  const idle = Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, rssMiB(pid)]))
  process.stderr.write(`[bench] ${label}: small requests (${CONNS} connections, ${DURATION_MS / 1000}s)\n`)
  const cpu = () => Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, cpuMs(pid)]))
  const used = (before: Record<string, number>) => Object.fromEntries(Object.entries(cpu()).map(([k, ms]) => [k, ms - before[k]]))
  const writes = () => Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, writeCalls(pid)]))
  let before: Record<string, number> = {}
  let cpuUsed: Record<string, number> = {}
  let writesBefore: Record<string, number> = {}
  let writesMade: Record<string, number> = {}
  const around = {
    start: () => {
      before = cpu()
      writesBefore = writes()
    },
    end: () => {
      cpuUsed = used(before)
      writesMade = Object.fromEntries(Object.entries(writes()).map(([k, n]) => [k, n - writesBefore[k]]))
    },
  }
  const small = await smallRequests(ep, {connections: CONNS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, useWrk: USE_WRK, around})
  const cpuUsPerRequest = Object.fromEntries(Object.entries(cpuUsed).map(([k, ms]) => [k, (ms * 1000) / Math.max(1, small.requests)]))
  const requestsPerWrite = Object.fromEntries(Object.entries(writesMade).map(([k, n]) => [k, small.requests / Math.max(1, n)]))
  process.stderr.write(`[bench] ${label}: ${LARGE_MB} MiB download\n`)
  const rssDuringTransfers = sampleRss(processes)
  before = cpu()
  const downloadMiBs = await download(ep, LARGE_MB)
  const perMiB = (u: Record<string, number>) => Object.fromEntries(Object.entries(u).map(([k, ms]) => [k, ms / LARGE_MB]))
  const dl = perMiB(used(before))
  process.stderr.write(`[bench] ${label}: ${LARGE_MB} MiB upload\n`)
  before = cpu()
  const uploadMiBs = await upload(ep, LARGE_MB)
  const ul = perMiB(used(before))
  const transfers = rssDuringTransfers.stop()
  const memory = Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, {idle: idle[k], transfers: transfers[k], peak: peakMiB(pid)}]))
  return {small, cpuUsPerRequest, requestsPerWrite, cpuMsPerMiB: {download: dl, upload: ul}, downloadMiBs, uploadMiBs, memory}
}

const f = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits))
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(b / a).toFixed(2)}x` : '-')

function table(direct: Measured, mezu: Measured | undefined): string {
  const rows: string[][] = [
    ['small requests, req/s', f(direct.small.rps), f(mezu?.small.rps), ratio(direct.small.rps, mezu?.small.rps)],
    ['small requests, p50 ms', f(direct.small.p50Ms, 2), f(mezu?.small.p50Ms, 2), ratio(direct.small.p50Ms, mezu?.small.p50Ms)],
    ['small requests, p99 ms', f(direct.small.p99Ms, 2), f(mezu?.small.p99Ms, 2), ratio(direct.small.p99Ms, mezu?.small.p99Ms)],
    ['small requests, errors', f(direct.small.errors), f(mezu?.small.errors), ''],
    [`download ${LARGE_MB} MiB, MiB/s`, f(direct.downloadMiBs), f(mezu?.downloadMiBs), ratio(direct.downloadMiBs, mezu?.downloadMiBs)],
    [`upload ${LARGE_MB} MiB, MiB/s`, f(direct.uploadMiBs), f(mezu?.uploadMiBs), ratio(direct.uploadMiBs, mezu?.uploadMiBs)],
  ]
  const names = new Set([...Object.keys(direct.memory), ...Object.keys(mezu?.memory ?? {})])
  const sum = (r: Record<string, number> | undefined) => (r ? Object.values(r).reduce((a, b) => a + b, 0) : undefined)
  // origin + edge + Warpgate: what serving costs on the server side
  const server = (m: Measured | undefined, pick: (m: Measured) => Record<string, number>) => (m ? sum(pick(m)) : undefined)
  rows.push(['small requests, server CPU µs/req', f(server(direct, (m) => m.cpuUsPerRequest)), f(server(mezu, (m) => m.cpuUsPerRequest)), ratio(server(direct, (m) => m.cpuUsPerRequest), server(mezu, (m) => m.cpuUsPerRequest))])
  for (const n of names) {
    if (n === 'origin') continue
    rows.push([`small requests, ${n} CPU µs/req`, f(direct.cpuUsPerRequest[n]), f(mezu?.cpuUsPerRequest[n]), ''])
  }
  for (const n of names) rows.push([`small requests, ${n} requests per write syscall`, f(direct.requestsPerWrite[n], 2), f(mezu?.requestsPerWrite[n], 2), ''])
  rows.push(['download, server CPU ms/MiB', f(server(direct, (m) => m.cpuMsPerMiB.download), 2), f(server(mezu, (m) => m.cpuMsPerMiB.download), 2), ''])
  rows.push(['upload, server CPU ms/MiB', f(server(direct, (m) => m.cpuMsPerMiB.upload), 2), f(server(mezu, (m) => m.cpuMsPerMiB.upload), 2), ''])
  for (const n of names) {
    const d = direct.memory[n]
    const m = mezu?.memory[n]
    const cell = (x: Measured['memory'][string] | undefined) => (x ? `${f(x.idle)} / ${f(x.transfers)} / ${f(x.peak)}` : '-')
    rows.push([`${n} RSS idle / during transfers / lifetime peak, MiB`, cell(d), cell(m), ''])
  }
  const head = ['metric', 'direct', 'through Mezusphere', 'ratio']
  const lines = [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`)
  return lines.join('\n')
}

/** Keeps the edge's and the Warpgate's profiles under plain names, drops the CLI helpers' ones. */
function keepProfiles(dir: string, pids: Record<string, number>): string[] {
  const kept: string[] = []
  for (const file of readdirSync(dir)) {
    const who = Object.entries(pids).find(([, pid]) => file.includes(`.${pid}.`))?.[0]
    if (who) {
      renameSync(join(dir, file), join(dir, `${who}.cpuprofile`))
      kept.push(join(dir, `${who}.cpuprofile`))
    } else if (file.startsWith('CPU.')) {
      rmSync(join(dir, file))
    }
  }
  return kept
}

/**
 * Small requests through platforms with metrics off and with metrics on, in alternating rounds.
 * Four platforms started in the order off, on, on, off (ABBA): a run showed the platform started
 * second measuring ~4% slower with both off, so a lone pair would charge the start order to metrics.
 */
async function compareMetrics(origin: {url: string; port: number}, workDir: string): Promise<void> {
  // with --profile, every platform and Warpgate writes a CPU profile (compare the edges')
  const nodeArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : undefined
  const onArgs = METRICS_AA ? [] : ['--metrics-addr', '127.0.0.1:0']
  const started: MezuTarget[] = []
  try {
    const targets: Array<{label: 'off' | 'on'; target: MezuTarget}> = []
    for (const label of ['off', 'on', 'on', 'off'] as const) {
      const target = await startThroughMezu({...origin, workDir, nodeArgs, ...(label === 'on' && {platformArgs: onArgs})})
      started.push(target)
      if (label === 'on' && !METRICS_AA && !target.metricsUrl) throw new Error('the platform started with --metrics-addr printed no metricsUrl')
      targets.push({label, target})
    }
    const metricsUrl = targets[1].target.metricsUrl
    const runs: Record<'off' | 'on', Array<SmallResult & {edgeCpuUs: number; scrapes: number}>> = {off: [], on: []}
    for (let round = 1; round <= ROUNDS; round++) {
      // which goes first rotates: a machine warming up or slowing down favours neither
      const order = [...targets.slice(round % targets.length), ...targets.slice(0, round % targets.length)]
      for (const {label, target} of order) {
        await waitReady(target)
        process.stderr.write(`[bench] round ${round}/${ROUNDS}, metrics ${label}: small requests (${CONNS} connections, ${DURATION_MS / 1000}s)\n`)
        let cpuBefore = 0
        let scrapes = 0
        // Prometheus scrapes every 15 s or more; every 5 s here, so its cost is in the numbers
        let scraper: NodeJS.Timeout | undefined
        const url = target.metricsUrl
        const around = {
          start: () => {
            cpuBefore = cpuMs(target.processes.edge)
            if (url) scraper = setInterval(() => void fetch(url).then((r) => r.text()).then(() => scrapes++, () => {}), 5000)
          },
          end: () => {
            clearInterval(scraper)
            cpuBefore = cpuMs(target.processes.edge) - cpuBefore
          },
        }
        const r = await smallRequests(target, {connections: CONNS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, useWrk: USE_WRK, around})
        runs[label].push({...r, edgeCpuUs: (cpuBefore * 1000) / Math.max(1, r.requests), scrapes})
      }
    }
    // one of the two metrics-on platforms, which had half the "on" rounds
    const text = metricsUrl ? await (await fetch(metricsUrl)).text() : ''
    const counted = [...text.matchAll(/^mezu_edge_requests_total\{[^}]*class="2xx"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const row = (name: string, pick: (r: SmallResult & {edgeCpuUs: number}) => number, digits = 0) => {
      const a = mean(runs.off.map(pick))
      const b = mean(runs.on.map(pick))
      return [name, `${f(a, digits)} (${runs.off.map((r) => f(pick(r), digits)).join(', ')})`, `${f(b, digits)} (${runs.on.map((r) => f(pick(r), digits)).join(', ')})`, `${((b / a - 1) * 100).toFixed(1)}%`]
    }
    const rows = [
      row('small requests, req/s', (r) => r.rps),
      row('small requests, p50 ms', (r) => r.p50Ms, 2),
      row('small requests, p99 ms', (r) => r.p99Ms, 2),
      row('edge CPU µs/req', (r) => r.edgeCpuUs),
      ['small requests, errors', String(runs.off.reduce((n, r) => n + r.errors, 0)), String(runs.on.reduce((n, r) => n + r.errors, 0)), ''],
    ]
    const head = ['metric', 'metrics off: mean (rounds)', `${METRICS_AA ? 'metrics off too (A/A control)' : 'metrics on'}: mean (rounds)`, 'on vs off']
    console.log(`\nMezusphere metrics overhead${METRICS_AA ? ' (A/A control: both off)' : ''}: node ${process.version}, ${cpus().length} CPUs, load by ${runs.off[0].tool}, ${CONNS} keep-alive connections, ${ROUNDS} rounds (4 platforms started off, on, on, off, the order rotated each round) of ${DURATION_MS / 1000}s (+${WARMUP_MS / 1000}s warm-up), /metrics scraped every 5 s while on (${runs.on.reduce((n, r) => n + r.scrapes, 0)} scrapes)\n`)
    console.log([head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n'))
    if (metricsUrl) console.log(`\nthe first metrics-on edge counted ${counted} 2xx requests (the load generator made ${runs.on.reduce((n, r) => n + r.requests, 0) / 2} on average per metrics-on platform in the measured windows, plus warm-ups and readiness probes)`)
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({metricsOff: runs.off, metricsOn: runs.on, conns: CONNS, durationMs: DURATION_MS}, null, 2) + '\n')
  } finally {
    for (const t of started.reverse()) await t.stop()
  }
}

async function main(): Promise<void> {
  if (CONTROL) return controlPlaneBench()
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, {recursive: true})
  const origin = await startOrigin()
  if (METRICS_AB || EDGES) {
    const workDir = mkdtempSync(join(tmpdir(), 'mezu-bench-'))
    try {
      if (EDGES) await compareEdges(origin, workDir, {edges: EDGES, connections: CONNS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, useWrk: USE_WRK})
      else await compareMetrics(origin, workDir)
    } finally {
      origin.stop()
      rmSync(workDir, {recursive: true, force: true})
    }
    return
  }
  const workDir = mkdtempSync(join(tmpdir(), 'mezu-bench-'))
  let mezuTarget: Awaited<ReturnType<typeof startThroughMezu>> | undefined
  try {
    const direct = await measure('direct', {url: origin.url}, {origin: origin.pid})
    // the platform and the Warpgate write their profile when they exit
    const nodeArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : undefined
    mezuTarget = await startThroughMezu({url: origin.url, port: origin.port, workDir, nodeArgs})
    const mezu = await measure('through Mezusphere', mezuTarget, {origin: origin.pid, ...mezuTarget.processes})
    console.log(`\nMezusphere benchmark: node ${process.version}, ${cpus().length} CPUs, load by ${direct.small.tool}, ${CONNS} keep-alive connections, ${DURATION_MS / 1000}s (+${WARMUP_MS / 1000}s warm-up), ${LARGE_MB} MiB transfers over one connection\n`)
    console.log(table(direct, mezu))
    if (direct.small.tool === 'node') console.log('\nnote: the Node load generator shares the CPU with what it measures; install wrk for the client to cost less')
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({direct, mezu, conns: CONNS, durationMs: DURATION_MS, largeMb: LARGE_MB}, null, 2) + '\n')
  } finally {
    await mezuTarget?.stop()
    origin.stop()
    rmSync(workDir, {recursive: true, force: true})
    if (PROFILE_DIR && mezuTarget) console.log(`\nCPU profiles: ${keepProfiles(PROFILE_DIR, mezuTarget.processes).join(', ') || 'none written'}`)
  }
}

main().catch((error) => {
  console.error(`bench failed: ${(error as Error).message}`)
  process.exit(1)
})
