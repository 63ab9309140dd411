import {type ChildProcess, spawn} from 'node:child_process'
import {setTimeout as delay} from 'node:timers/promises'
import type {ExecutionContext} from 'ava'
import {api} from './api.js'
import {BIN} from './cli.js'

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
export interface EdgeNodeProcess {
  child: ChildProcess
  summary: EdgeNodeSummary
  exited: Promise<number | null>
  stderr(): string
  kill(signal?: NodeJS.Signals): Promise<void>
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
  const child = spawn(process.execPath, [
    BIN, 'platform', 'start', '--role', 'edge', '--data-dir', dataDir, '--control-url', controlUrl, '--edge-port', String(ports.edge), '--tunnel-port', String(ports.tunnel),
    ...(opts.joinToken ? ['--join-token', opts.joinToken] : []), '--log-level', 'warn', '--json', ...(opts.args ?? []),
  ], {env: {...process.env, CI: '1', MEZU_MASTER_KEY: ''}, stdio: ['ignore', 'pipe', 'pipe']})
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
  const summary = await new Promise<EdgeNodeSummary>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the edge printed no line within 60 s; stderr: ${stderr}`)), 60_000)
    child.stdout!.on('data', (d) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      resolve(JSON.parse(stdout.slice(0, nl)) as EdgeNodeSummary)
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the edge exited ${code} before serving; stderr: ${stderr}`))
    })
  })
  return {child, summary, exited, stderr: () => stderr, kill, address: {ports: {edge: summary.ports.edge}, caPem, domain: summary.domain}}
}
