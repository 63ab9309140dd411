import net, {type AddressInfo} from 'node:net'
import {once} from 'node:events'
import type {ExecutionContext} from 'ava'
import {type CaMaterial, createCa, issueServerCert} from '../../platform/pki/ca.js'
import {signWarpgateCsr} from '../../platform/pki/csr.js'
import {MutableTunnelDirectory} from '../../platform/edge/tunnel/directory.js'
import {TunnelListener} from '../../platform/edge/tunnel/listener.js'
import {TunnelPool} from '../../platform/edge/tunnel/pool.js'
import {newId} from '../../src/protocol/ids.js'
import {createKeyAndCsr} from '../../src/warpgate/registration.js'

/** A Warpgate's TLS identity, signed by `ca` (what registration would give it). */
export interface WarpgateIdentity {
  warpgateId: string
  caPem: string
  certPem: string
  keyPem: string
}

/** One real tunnel listener (the edge's), on 127.0.0.1:0, admitting every Warpgate `ca` signed. */
export interface TestTunnelEdge {
  url: string
  pool: TunnelPool
  directory: MutableTunnelDirectory
  listener: TunnelListener
}

/** A platform CA and a Warpgate certificate from it, with no platform around them. */
export async function tunnelIdentity(): Promise<{ca: CaMaterial; warpgate: WarpgateIdentity}> {
  const ca = await createCa('tunnel edge test CA')
  const warpgateId = newId('warpgate')
  const {keyPem, csrPem} = await createKeyAndCsr()
  const {certPem} = await signWarpgateCsr(ca, csrPem, warpgateId, 60 * 60_000)
  return {ca, warpgate: {warpgateId, caPem: ca.certPem, certPem, keyPem}}
}

/** The edge's tunnel listener, pool and directory as the platform composes them, closed when the test ends. */
export async function startTunnelEdge(t: ExecutionContext, ca: CaMaterial): Promise<TestTunnelEdge> {
  const server = await issueServerCert(ca, {dns: ['localhost'], ips: ['127.0.0.1']})
  const pool = new TunnelPool()
  const directory = new MutableTunnelDirectory()
  const listener = new TunnelListener({
    host: '127.0.0.1', port: 0, tls: {key: server.keyPem, cert: server.chainPem}, caPem: ca.certPem, pool, directory,
    admit: (warpgateId) => ({warpgateId, name: 'edges', projectId: 'prj_edges', environmentId: 'env_edges', service: 'edges'}),
  })
  const port = await listener.listen()
  t.teardown(() => listener.close())
  return {url: `tls://127.0.0.1:${port}`, pool, directory, listener}
}

/** tls://127.0.0.1:PORT where nothing listens (bound, read back, closed): an edge that is down. */
export async function deadTunnelUrl(): Promise<string> {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return `tls://127.0.0.1:${port}`
}

/** Polls `check` until it holds, failing after the deadline (for state that has no event to wait on). */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
