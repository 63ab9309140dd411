import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {firstLine} from '../src/lib/local-platform.js'
import type {Endpoint} from './load.js'
import {publishOrigin, startScratchPlatform, type TunnelState, waitServed} from './through-mezu.js'

/** What `mezu platform start --role edge --json` prints once it serves (the fields used here). */
interface EdgeSummary {
  edgeId: string
  name: string
  ports: {edge: number; tunnel: number}
}

/** A control plane, its edge nodes and one Warpgate, all as child processes. */
export interface EdgeCluster {
  /** the public route at each edge's own port, edge-a first */
  endpoints: Array<Endpoint & {edge: string}>
  /** {control, edge-a, edge-b, …, warpgate}: pids */
  processes: Record<string, number>
  /** ms from starting the Warpgate until the route answered 200 at every edge */
  servedMs: number
  tunnelState: TunnelState
  /** edge name → the edge id the Warpgate's events carry */
  edgeIds: Record<string, string>
  stop(): Promise<void>
}

/** edge-a, edge-b, … */
export const edgeName = (i: number) => `edge-${String.fromCharCode(97 + i)}`

/**
 * Starts `mezu platform start --role control`, `count` edge nodes joined to it with tokens from
 * `mezu edges create` (each its own data directory and ports), and a Warpgate publishing `origin`
 * on the public route; resolves once the route answers 200 through every edge's own port. The
 * edges are up before the Warpgate registers, so it learns all of them at registration.
 */
export async function startEdgeCluster(origin: {url: string; workDir: string; count: number}): Promise<EdgeCluster> {
  const {dir, mezu, platform: control, children, stop} = await startScratchPlatform({workDir: origin.workDir, prefix: 'cluster-', platformArgs: ['--role', 'control']})
  try {
    const {info} = control
    const processes: Record<string, number> = {control: control.child.pid!}
    const edges: EdgeSummary[] = []
    const names = Array.from({length: origin.count}, (_, i) => edgeName(i))
    for (const name of names) {
      const {joinToken} = JSON.parse(mezu.must(['edges', 'create', '--name', name, '--json']).out) as {joinToken: string}
      const child = mezu.spawn([
        'platform', 'start', '--role', 'edge', '--data-dir', join(dir, name), '--control-url', info.apiUrl, '--join-token', joinToken,
        '--edge-port', '0', '--tunnel-port', '0', '--log-level', 'warn', '--json',
      ])
      children.push(child)
      edges.push(JSON.parse(await firstLine(child, `the edge ${name}`)) as EdgeSummary)
      // keep draining stdout so the edge never blocks on a full pipe
      child.stdout!.resume()
      processes[name] = child.pid!
    }
    const tunnel = publishOrigin(mezu, info, origin.url, origin.count)
    children.push(tunnel.child)
    processes.warpgate = tunnel.child.pid!
    // the route's URL names the control plane's edge port; each edge serves it on its own
    const host = new URL(await tunnel.ready).hostname
    const caPem = readFileSync(info.caPath, 'utf8')
    const endpoints = edges.map((e, i) => ({edge: names[i], url: `https://${host}:${e.ports.edge}`, caPem}))
    const servedMs = await waitServed(endpoints, tunnel.startedAt)
    return {endpoints, processes, servedMs, tunnelState: tunnel.state, edgeIds: Object.fromEntries(edges.map((e, i) => [names[i], e.edgeId])), stop}
  } catch (error) {
    await stop()
    throw error
  }
}
