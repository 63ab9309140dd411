// `npm run bench -- --edges N`: small requests through one edge (the all-in-one platform) and
// through N edge nodes of one control plane, the connections split evenly over N load generators
// in both cases, so the only difference is how many edges serve them.
import {writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {type EdgeCluster, startEdgeCluster} from './edge-cluster.js'
import {type Around, type Endpoint, type SmallResult, smallRequests} from './load.js'
import {cpuMs, peakMiB, rssMiB} from './memory.js'
import {startThroughMezu, type TunnelState} from './through-mezu.js'

export interface EdgesOptions {
  edges: number
  connections: number
  durationMs: number
  warmupMs: number
  useWrk: boolean
}

/** One scenario's small-request run: a load generator per share of the connections, all at once. */
export interface SpreadMeasured {
  /** each share's result, with the edge it went to */
  shares: Array<SmallResult & {edge: string; connections: number}>
  requests: number
  errors: number
  /** the shares' requests/s added up */
  rps: number
  /** false when any request failed: the numbers then measure failures as well, and do not count */
  counts: boolean
  cpuUsPerRequest: Record<string, number>
  memory: Record<string, {idle: number; peak: number}>
  /** ms from starting the Warpgate until the route answered 200 at every edge */
  servedMs: number
  /** the Warpgate's connections up per edge at the end, and connections lost during the run */
  tunnel: TunnelState
}

/** Calls `around.start` when the first of `n` loads starts measuring and `around.end` when the last one stops. */
function together(n: number, around: Around): Around {
  let started = 0
  let ended = 0
  return {
    start: () => {
      if (started++ === 0) around.start()
    },
    end: () => {
      if (++ended === n) around.end()
    },
  }
}

/** How the scenario came up: the Warpgate's live connection state, and the names of the edge ids its events carry. */
interface Served {
  servedMs: number
  tunnel: TunnelState
  edgeNames?: Record<string, string>
}

async function measureSpread(label: string, targets: Array<Endpoint & {edge: string}>, processes: Record<string, number>, o: EdgesOptions, served: Served): Promise<SpreadMeasured> {
  const idle = Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, rssMiB(pid)]))
  const share = Math.max(1, Math.floor(o.connections / targets.length))
  process.stderr.write(`[bench] ${label}: small requests (${targets.length} × ${share} connections, ${o.durationMs / 1000}s)\n`)
  const cpu = () => Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, cpuMs(pid)]))
  let before: Record<string, number> = {}
  let used: Record<string, number> = {}
  const around = together(targets.length, {
    start: () => (before = cpu()),
    end: () => (used = Object.fromEntries(Object.entries(cpu()).map(([k, ms]) => [k, ms - before[k]]))),
  })
  const results = await Promise.all(targets.map((t) => smallRequests(t, {connections: share, durationMs: o.durationMs, warmupMs: o.warmupMs, useWrk: o.useWrk, around})))
  const shares = results.map((r, i) => ({...r, edge: targets[i].edge, connections: share}))
  const requests = shares.reduce((n, s) => n + s.requests, 0)
  const errors = shares.reduce((n, s) => n + s.errors, 0)
  return {
    shares,
    requests,
    errors,
    rps: shares.reduce((n, s) => n + s.rps, 0),
    counts: errors === 0,
    cpuUsPerRequest: Object.fromEntries(Object.entries(used).map(([k, ms]) => [k, (ms * 1000) / Math.max(1, requests)])),
    memory: Object.fromEntries(Object.entries(processes).map(([k, pid]) => [k, {idle: idle[k], peak: peakMiB(pid)}])),
    servedMs: served.servedMs,
    tunnel: {up: Object.fromEntries(Object.entries(served.tunnel.up).map(([id, n]) => [served.edgeNames?.[id] ?? id, n])), drops: served.tunnel.drops},
  }
}

const f = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits))

function table(one: SpreadMeasured, many: SpreadMeasured, edgeNames: string[]): string {
  // a scenario with errors does not count: its ratios are left out and its column says so
  const ratio = (a: number | undefined, b: number | undefined) => (!one.counts || !many.counts ? 'not counted' : a && b ? `${(b / a).toFixed(2)}x` : '-')
  const sum = (r: Record<string, number>, skip = '') => Object.entries(r).reduce((n, [k, v]) => (k === skip ? n : n + v), 0)
  const rows: string[][] = [
    ['small requests, req/s (all edges)', f(one.rps), f(many.rps), ratio(one.rps, many.rps)],
    ['small requests, errors', f(one.errors), f(many.errors), ''],
  ]
  // share i went to the one edge in the first column and to edge i in the second
  many.shares.forEach((s, i) => {
    const o = one.shares[i]
    const who = `${s.connections} connections to ${edgeNames[i]}`
    rows.push([`${who}, req/s`, f(o.rps), f(s.rps), ratio(o.rps, s.rps)])
    rows.push([`${who}, p50 ms`, f(o.p50Ms, 2), f(s.p50Ms, 2), ratio(o.p50Ms, s.p50Ms)])
    rows.push([`${who}, p99 ms`, f(o.p99Ms, 2), f(s.p99Ms, 2), ratio(o.p99Ms, s.p99Ms)])
    rows.push([`${who}, errors`, f(o.errors), f(s.errors), ''])
  })
  rows.push(['Mezusphere CPU µs/req (all but the origin)', f(sum(one.cpuUsPerRequest, 'origin')), f(sum(many.cpuUsPerRequest, 'origin')), ratio(sum(one.cpuUsPerRequest, 'origin'), sum(many.cpuUsPerRequest, 'origin'))])
  const names = ['control', 'edge', ...edgeNames, 'warpgate', 'origin']
  for (const n of names) {
    if (one.cpuUsPerRequest[n] === undefined && many.cpuUsPerRequest[n] === undefined) continue
    rows.push([`${n} CPU µs/req`, f(one.cpuUsPerRequest[n]), f(many.cpuUsPerRequest[n]), ''])
  }
  for (const n of names) {
    const a = one.memory[n]
    const b = many.memory[n]
    if (!a && !b) continue
    rows.push([`${n} RSS idle / peak, MiB`, a ? `${f(a.idle)} / ${f(a.peak)}` : '-', b ? `${f(b.idle)} / ${f(b.peak)}` : '-', ''])
  }
  const up = (t: TunnelState) => Object.entries(t.up).sort(([a], [b]) => (a < b ? -1 : 1)).map(([edge, n]) => `${edge} ${n}`).join(', ')
  rows.push(['Warpgate connections up per edge', up(one.tunnel), up(many.tunnel), ''])
  rows.push(['Warpgate connections lost during the run', f(one.tunnel.drops), f(many.tunnel.drops), ''])
  rows.push(['Warpgate start → route served at every edge, ms', f(one.servedMs), f(many.servedMs), ''])
  const column = (name: string, m: SpreadMeasured) => (m.counts ? name : `${name} (does not count: ${m.errors} errors)`)
  const head = ['metric', column('one edge (all-in-one platform)', one), column(`${edgeNames.length} edges (control + ${edgeNames.join(' + ')})`, many), 'ratio']
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

/** Runs the one-edge scenario, then the N-edge one, and prints them side by side (and BENCH_JSON). */
export async function compareEdges(origin: {url: string; port: number; pid: number}, workDir: string, o: EdgesOptions): Promise<void> {
  let oneEdge: SpreadMeasured
  const single = await startThroughMezu({url: origin.url, port: origin.port, workDir})
  try {
    // the same split of connections as below, every share to the one edge
    const targets = Array.from({length: o.edges}, () => ({url: single.url, caPem: single.caPem, edge: 'edge'}))
    oneEdge = await measureSpread('one edge', targets, {origin: origin.pid, ...single.processes}, o, {servedMs: single.servedMs, tunnel: single.tunnelState})
  } finally {
    await single.stop()
  }
  let cluster: EdgeCluster | undefined
  let edges: SpreadMeasured
  try {
    process.stderr.write(`[bench] starting a control plane, ${o.edges} edge nodes and a Warpgate\n`)
    cluster = await startEdgeCluster({url: origin.url, workDir, count: o.edges})
    const edgeNames = Object.fromEntries(Object.entries(cluster.edgeIds).map(([name, id]) => [id, name]))
    edges = await measureSpread(`${o.edges} edges`, cluster.endpoints, {origin: origin.pid, ...cluster.processes}, o, {servedMs: cluster.servedMs, tunnel: cluster.tunnelState, edgeNames})
  } finally {
    await cluster?.stop()
  }
  const edgeNames = edges.shares.map((s) => s.edge)
  const share = oneEdge.shares[0].connections
  console.log(`\nMezusphere edges benchmark: node ${process.version}, ${cpus().length} CPUs, load by ${oneEdge.shares[0].tool}, ${o.edges} load generators at once with ${share} keep-alive connections each, ${o.durationMs / 1000}s (+${o.warmupMs / 1000}s warm-up); one edge: every generator to the one edge; ${o.edges} edges: one generator per edge\n`)
  console.log(table(oneEdge, edges, edgeNames))
  if (!oneEdge.counts || !edges.counts) console.log('\nnote: a scenario with errors does not count: its throughput and latency include failed requests, so no ratios are given')
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({oneEdge, edges, edgeNames, conns: share * o.edges, durationMs: o.durationMs}, null, 2) + '\n')
}
