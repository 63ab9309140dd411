import type {ExecutionContext} from 'ava'
import {api} from './api.js'
import {type JsonProcess, spawnMezuJson} from './platform-process.js'

/** What `mezu platform start --role edge --json` prints once it serves. */
export interface EdgeNodeSummary {
  role: 'edge'
  edgeId: string
  name: string
  edgeUrl: string
  tunnelUrls: string[]
  metricsUrl: string | null
  ports: {edge: number; tunnel: number}
  domain: string
  dataDir: string
}

/** An edge node as a child process, which a test can SIGKILL and start again on the same ports. */
export interface EdgeNodeProcess extends JsonProcess<EdgeNodeSummary> {
  /** the address edgeRequest and AuthBrowser take */
  address: {ports: {edge: number}; caPem: string; domain: string}
}

/** A join token for a new edge, through the API as `token`'s holder. */
export async function createEdge(apiUrl: string, caPem: string, token: string, name: string): Promise<{id: string; joinToken: string}> {
  const r = await api(apiUrl, caPem, 'POST', '/v1/edges', {token, body: {name}})
  if (r.status !== 201) throw new Error(`POST /v1/edges: ${r.status} ${r.text}`)
  return {id: r.body.edge.id, joinToken: r.body.joinToken}
}

/** Starts `mezu platform start --role edge` on DATA_DIR; the join token is needed on the first start only. */
export async function startEdgeNode(t: ExecutionContext, dataDir: string, controlUrl: string, caPem: string, opts: {joinToken?: string; ports?: {edge: number; tunnel: number}; args?: string[]} = {}): Promise<EdgeNodeProcess> {
  const ports = opts.ports ?? {edge: 0, tunnel: 0}
  const run = await spawnMezuJson<EdgeNodeSummary>(t, [
    'platform', 'start', '--role', 'edge', '--data-dir', dataDir, '--control-url', controlUrl, '--edge-port', String(ports.edge), '--tunnel-port', String(ports.tunnel),
    ...(opts.joinToken ? ['--join-token', opts.joinToken] : []), '--log-level', 'warn', '--json', ...(opts.args ?? []),
  ], {what: 'the edge'})
  return {...run, address: {ports: {edge: run.summary.ports.edge}, caPem, domain: run.summary.domain}}
}
