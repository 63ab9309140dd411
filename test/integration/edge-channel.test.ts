import {createPrivateKey, X509Certificate} from 'node:crypto'
import test, {type ExecutionContext} from 'ava'
import WebSocket from 'ws'
import {type EdgeNodeState, enrolEdge} from '../../platform/edge/remote/enrol.js'
import {EDGE_CHANNEL_PATH, EDGE_CHANNEL_PROTOCOL, type RenewedCertificate, type ToEdge} from '../../platform/edge/remote/messages.js'
import {createKeyAndCsr} from '../../src/protocol/csr.js'
import {edgeIdFromSan} from '../../src/protocol/identity.js'
import {applyDelta, decodeSnapshot, encodeSnapshot} from '../../platform/edge/remote/wire.js'
import {api, loginToken} from '../helpers/api.js'
import {createEdge} from '../helpers/edge-node.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform, tempDir} from '../helpers/platform.js'

// The control plane's end of the edge channel, spoken to by a test with a really enrolled edge's
// certificate: who is let in, what it is sent, and what it does with bad messages.

async function enrolled(t: ExecutionContext): Promise<{p: TestPlatform; owner: string; edge: EdgeNodeState}> {
  const p = await startTestPlatform(t)
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const {joinToken} = await createEdge(p.apiUrl, p.caPem, owner, 'edge-t')
  const edge = await enrolEdge({dataDir: tempDir(t), controlUrl: p.apiUrl, joinToken, dns: [], ips: []})
  return {p, owner, edge}
}

interface Opened {
  ws: WebSocket
  messages: ToEdge[]
  next(match: (m: ToEdge) => boolean, what: string): Promise<ToEdge>
  closed: Promise<{code: number; reason: string}>
}

/** Opens the channel; resolves once it is open, or rejects with the HTTP status of the refusal. */
function open(t: ExecutionContext, p: TestPlatform, tls: {key?: string; cert?: string}, protocol = EDGE_CHANNEL_PROTOCOL): Promise<Opened> {
  const url = new URL(EDGE_CHANNEL_PATH, p.apiUrl).toString().replace(/^https:/, 'wss:')
  const ws = new WebSocket(url, protocol, {...tls, ca: [p.caPem], maxPayload: 256 * 1024 * 1024})
  t.teardown(() => ws.terminate())
  const messages: ToEdge[] = []
  const waiters = new Set<() => void>()
  ws.on('message', (d) => {
    messages.push(JSON.parse(d.toString()) as ToEdge)
    for (const w of [...waiters]) w()
  })
  const closed = new Promise<{code: number; reason: string}>((resolve) => ws.on('close', (code, reason) => resolve({code, reason: reason.toString()})))
  const next: Opened['next'] = (match, what) => new Promise((resolve, reject) => {
    const check = () => {
      const m = messages.find(match)
      if (!m) return
      waiters.delete(check)
      clearTimeout(timer)
      resolve(m)
    }
    const timer = setTimeout(() => {
      waiters.delete(check)
      reject(new Error(`no ${what} within 10 s; got ${messages.map((m) => m.t).join(', ')}`))
    }, 10_000)
    waiters.add(check)
    check()
  })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ws, messages, next, closed}))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
}

test('the channel refuses no certificate, another protocol version, and a revoked edge; an admitted edge gets a snapshot without the control plane\'s private key', async (t) => {
  const {p, owner, edge} = await enrolled(t)
  const tls = {key: edge.keyPem, cert: edge.certPem}
  await t.throwsAsync(open(t, p, {}), {message: 'HTTP 401'})
  await t.throwsAsync(open(t, p, tls, 'mezu-edge.0'), {message: 'HTTP 400'})

  const c = await open(t, p, tls)
  const hello = await c.next((m) => m.t === 'hello', 'hello')
  if (hello.t !== 'hello') return t.fail()
  t.is(hello.edgeId, edge.edgeId)
  t.is(hello.snapshot.version, p.edgeSource.get().version)
  t.deepEqual(hello.snapshot, JSON.parse(JSON.stringify(encodeSnapshot(p.edgeSource.get()))))
  t.false(JSON.stringify(hello).includes('"d":'), 'no private JWK travels')
  t.true(hello.snapshot.publishedKeys.some((k) => k.kid === edge.signingKey.kid), 'the edge\'s own key is published to every edge')
  t.is(Buffer.from(hello.secrets.tokenHashKey, 'base64').length, 32)
  t.deepEqual(hello.tunnelEdges.map((e) => e.edge), ['local'])

  const revoked = await api(p.apiUrl, p.caPem, 'POST', `/v1/edges/${edge.edgeId}/revoke`, {token: owner})
  t.is(revoked.status, 200, revoked.text)
  t.is((await c.closed).code, 4003)
  await t.throwsAsync(open(t, p, tls), {message: 'HTTP 403'})
})

test('changes arrive as a feed event and then a delta that brings the edge\'s copy level with the control plane', async (t) => {
  const {p, owner, edge} = await enrolled(t)
  const c = await open(t, p, {key: edge.keyPem, cert: edge.certPem})
  const hello = await c.next((m) => m.t === 'hello', 'hello')
  if (hello.t !== 'hello') return t.fail()
  let copy = decodeSnapshot(hello.snapshot, edge.signingKey)
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await api(p.apiUrl, p.caPem, method, path, {token: owner, body})
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`)
    return r.body
  }
  await call('POST', '/v1/projects', {name: 'p1'})
  await call('POST', '/v1/projects/p1/environments', {name: 'prod'})
  const route = await call('POST', '/v1/routes', {project: 'p1', env: 'prod', hostname: `a.${p.domain}`, service: 'svc'})
  await call('POST', '/v1/routes', {project: 'p1', env: 'prod', hostname: `b.${p.domain}`, service: 'svc'})
  await call('DELETE', `/v1/routes/${route.id}`)
  const want = p.edgeSource.get().version
  await c.next((m) => m.t === 'event' && m.event.kind === 'route' && m.event.id === route.id && m.event.action === 'deleted', 'the route deletion event')
  await c.next((m) => m.t === 'delta' && m.delta.to >= want, `a delta up to version ${want}`)
  for (const m of c.messages) if (m.t === 'delta') copy = applyDelta(copy, m.delta, edge.signingKey)
  t.deepEqual(encodeSnapshot(copy), encodeSnapshot(p.edgeSource.get()))
  t.deepEqual(copy.routes.map((r) => r.hostname), [`b.${p.domain}`])
})

test('bad messages from an edge: an unknown method and missing parameters are answered with errors, garbage closes the channel', async (t) => {
  const {p, edge} = await enrolled(t)
  const c = await open(t, p, {key: edge.keyPem, cert: edge.certPem})
  await c.next((m) => m.t === 'hello', 'hello')
  c.ws.send(JSON.stringify({t: 'req', id: 1, method: 'dropTables', params: {}}))
  c.ws.send(JSON.stringify({t: 'req', id: 2, method: 'login', params: {email: 'x@example.test'}}))
  c.ws.send(JSON.stringify({t: 'req', id: 3, method: 'invitation', params: {code: 'mezu_inv_nothing'}}))
  const res = async (id: number) => c.next((m) => m.t === 'res' && m.id === id, `the answer to ${id}`) as Promise<Extract<ToEdge, {t: 'res'}>>
  t.is((await res(1)).error?.code, 'invalid_request')
  t.regex((await res(2)).error?.message ?? '', /password must be a string/)
  t.deepEqual((await res(3)).result, {ok: false})
  c.ws.send(JSON.stringify({t: 'status', version: 1}))
  t.is((await c.closed).code, 1007)

  const d = await open(t, p, {key: edge.keyPem, cert: edge.certPem})
  d.ws.send('not json')
  t.is((await d.closed).code, 1007)
})

test('renewCertificate signs a new key for the connected edge only: its own id whatever it asks for, names checked as at enrolment, recorded and audited', async (t) => {
  const {p, owner, edge} = await enrolled(t)
  const c = await open(t, p, {key: edge.keyPem, cert: edge.certPem})
  await c.next((m) => m.t === 'hello', 'hello')
  const res = async (id: number) => c.next((m) => m.t === 'res' && m.id === id, `the answer to ${id}`) as Promise<Extract<ToEdge, {t: 'res'}>>
  const {keyPem, csrPem} = await createKeyAndCsr('mezu-edge')

  c.ws.send(JSON.stringify({t: 'req', id: 1, method: 'renewCertificate', params: {csr: 'not a csr'}}))
  t.is((await res(1)).error?.code, 'invalid_request')
  c.ws.send(JSON.stringify({t: 'req', id: 2, method: 'renewCertificate', params: {csr: csrPem, dns: ['*.elsewhere.test']}}))
  t.regex((await res(2)).error?.message ?? '', /only wildcard/)
  c.ws.send(JSON.stringify({t: 'req', id: 3, method: 'renewCertificate', params: {csr: csrPem, dns: 'edge.example.test'}}))
  t.is((await res(3)).error?.code, 'invalid_request')

  // an edgeId in the parameters is ignored: the channel's client certificate says who asks
  c.ws.send(JSON.stringify({t: 'req', id: 4, method: 'renewCertificate', params: {csr: csrPem, dns: ['edge-t.example.test'], ips: ['192.0.2.7'], edgeId: 'edge_someoneelse'}}))
  const ok = (await res(4)).result as RenewedCertificate
  const cert = new X509Certificate(ok.certificatePem)
  t.true(cert.checkPrivateKey(createPrivateKey(keyPem)))
  t.true(cert.verify(new X509Certificate(p.caPem).publicKey))
  t.is(edgeIdFromSan(cert.subjectAltName), edge.edgeId)
  t.regex(cert.subjectAltName ?? '', /DNS:edge-t\.example\.test/)
  t.regex(cert.subjectAltName ?? '', /IP Address:192\.0\.2\.7/)
  t.not(cert.serialNumber, new X509Certificate(edge.certPem).serialNumber)

  const shown = await api(p.apiUrl, p.caPem, 'GET', `/v1/edges/${edge.edgeId}`, {token: owner})
  t.is(shown.body.certificateExpiresAt, ok.expiresAt)
  const audit = await api(p.apiUrl, p.caPem, 'GET', '/v1/audit?action=edge.renew', {token: owner})
  const entry = audit.body.items.find((e: {action: string}) => e.action === 'edge.renew')
  t.truthy(entry, audit.text)
  t.is(entry.target.id, edge.edgeId)
  t.is(entry.details.serial.toLowerCase(), cert.serialNumber.toLowerCase())
})
