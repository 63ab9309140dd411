import {generateKeyPairSync} from 'node:crypto'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import https from 'node:https'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import test, {type ExecutionContext} from 'ava'
import {edgeCertNames} from '../../platform/control/edge-cert-names.js'
import {createCa, issueServerCert} from '../../platform/pki/ca.js'
import {signEdgeCsr} from '../../platform/pki/csr.js'
import {createKeyAndCsr} from '../../src/protocol/csr.js'
import {formatJoinToken} from '../../src/protocol/edge-join.js'
import {CONTROL_URI} from '../../src/protocol/identity.js'
import {mezu, spawnMezu, WARPGATE_BIN} from '../helpers/cli.js'
import {createTestCa, issueTestCert} from '../helpers/test-ca.js'

// One platform CA, as `mezu platform init` makes it, and an edge certificate from it as
// `POST /v1/edges/enrol` signs one: what an enrolled (or compromised) edge node holds.
const DOMAIN = 'example.test'
const EDGE_ID = 'edg_0123456789abcdefghjk'
const ca = await createCa()
const edgeKeys = await createKeyAndCsr('mezu-edge')
const edgeCert = await signEdgeCsr(ca, edgeKeys.csrPem, EDGE_ID, edgeCertNames(DOMAIN, {}), 60 * 60_000)
const apiCert = await issueServerCert(ca, {dns: ['localhost', DOMAIN], ips: ['127.0.0.1', '::1'], uris: [CONTROL_URI]})
const REFUSAL = /presents a platform certificate that is not the control plane's \(an edge or Warpgate certificate\?\)/

interface StandIn {
  url: string
  /** TCP connections accepted: the client did reach this server */
  connections: number
  /** every HTTP request or upgrade it received: what a client sent it */
  requests: string[]
}

/** An HTTPS server on 127.0.0.1:0 standing in for the control API with CERT; it answers like one would. */
async function standIn(t: ExecutionContext, cert: {certPem: string; keyPem: string}): Promise<StandIn> {
  const seen: StandIn = {url: '', connections: 0, requests: []}
  const server = https.createServer({cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.3'}, (req, res) => {
    seen.requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`.trim())
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(req.url === '/v1/ca' ? {caPem: ca.certPem} : {items: [], nextCursor: null}))
  })
  server.on('connection', () => seen.connections++)
  server.on('upgrade', (req, socket) => {
    seen.requests.push(`UPGRADE ${req.url}`)
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  seen.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  return seen
}

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-impersonation-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}

function caFile(dir: string): string {
  const path = join(dir, 'ca.pem')
  writeFileSync(path, ca.certPem)
  return path
}

test('mezu refuses an edge certificate where the API should be and sends it neither token nor password', async (t) => {
  const api = await standIn(t, {certPem: edgeCert.certPem, keyPem: edgeKeys.keyPem})
  const dir = tempDir(t)
  const env = {MEZU_CONFIG_DIR: join(dir, 'config'), MEZU_API_URL: api.url, MEZU_CA_FILE: caFile(dir), MEZU_TOKEN: 'mezu_sa_secretsecretsecret'}
  for (const [args, stdin] of [[['projects', 'list', '--json']], [['logs', '--follow', '--json']], [['login', '--email', 'owner@example.test', '--password-stdin', '--json'], 'a-password-to-keep']] as const) {
    const r = await mezu([...args], {env, stdin})
    t.is(r.code, 1, `mezu ${args.join(' ')}: ${r.stderr}`)
    const {error} = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as {error: {code: string; message: string}}
    t.is(error.code, 'ca_untrusted', args.join(' '))
    t.regex(error.message, REFUSAL)
    t.true(error.message.includes(api.url), error.message)
  }
  t.true(api.connections >= 3)
  t.deepEqual(api.requests, [])
  t.false(existsSync(join(dir, 'config', 'credentials.json')), 'the refused login saved nothing')
})

test('mezu goes on to talk to the control API certificate from the same CA, and to an operator\'s API certificate from the CA it pins', async (t) => {
  const dir = tempDir(t)
  const operator = createTestCa(dir, 'Operator CA')
  const operatorCaFile = join(dir, 'operator-ca.pem')
  writeFileSync(operatorCaFile, operator.certPem)
  for (const [cert, pinned] of [[{certPem: apiCert.chainPem, keyPem: apiCert.keyPem}, caFile(dir)], [issueTestCert(operator, ['127.0.0.1'], '2c'), operatorCaFile]] as const) {
    const api = await standIn(t, cert)
    const r = await mezu(['projects', 'list', '--json'], {env: {MEZU_CONFIG_DIR: join(dir, 'config'), MEZU_API_URL: api.url, MEZU_CA_FILE: pinned, MEZU_TOKEN: 'mezu_sa_secretsecretsecret'}})
    t.is(r.code, 0, r.stderr)
    t.deepEqual(api.requests.map((q) => q.replace(/\?.*? /, ' ')), ['GET /v1/projects Bearer mezu_sa_secretsecretsecret'])
  }
})

test('mezu-warpgate refuses to register at an edge certificate and does not send its token', async (t) => {
  const api = await standIn(t, {certPem: edgeCert.certPem, keyPem: edgeKeys.keyPem})
  const dir = tempDir(t)
  const r = await mezu(['8080', '--json'], {bin: WARPGATE_BIN, env: {MEZU_WARPGATE_TOKEN: 'mezu_wg_secretsecretsecretsecret', MEZU_API_URL: api.url, MEZU_CA_FILE: caFile(dir)}})
  t.not(r.code, 0)
  const {error} = JSON.parse(r.stderr.trim().split('\n').at(-1)!) as {error: {code: string; message: string}}
  t.is(error.code, 'ca_untrusted')
  t.regex(error.message, REFUSAL)
  t.true(api.connections >= 1)
  t.deepEqual(api.requests, [])
})

test('an edge node does not send its join token to another edge\'s certificate (only the unverified CA fetch reaches it)', async (t) => {
  const api = await standIn(t, {certPem: edgeCert.certPem, keyPem: edgeKeys.keyPem})
  const dir = tempDir(t)
  const token = formatJoinToken('mezu_edge_secretsecretsecretsecret', ca.certPem)
  const r = await mezu(['platform', 'start', '--role', 'edge', '--data-dir', join(dir, 'edge'), '--control-url', api.url, '--join-token', token, '--edge-port', '0', '--tunnel-port', '0', '--log-level', 'silent', '--json'])
  t.is(r.code, 1, r.stderr)
  t.regex(r.stderr, REFUSAL)
  t.deepEqual(api.requests, ['GET /v1/ca'])
  t.false(existsSync(join(dir, 'edge', 'edge-node.json')))
})

test('an enrolled edge node does not open its control channel to another edge\'s certificate', async (t) => {
  const api = await standIn(t, {certPem: edgeCert.certPem, keyPem: edgeKeys.keyPem})
  const dir = tempDir(t)
  // this edge's own enrolment, as enrolEdge saves it: its own key and certificate from the same CA
  const own = await createKeyAndCsr('mezu-edge')
  const ownCert = await signEdgeCsr(ca, own.csrPem, 'edg_abcdefghjk0123456789', edgeCertNames(DOMAIN, {}), 60 * 60_000)
  const signing = generateKeyPairSync('ed25519')
  const kid = 'edk_000000000000000000000000'
  writeFileSync(join(dir, 'edge-node.json'), JSON.stringify({
    edgeId: 'edg_abcdefghjk0123456789', name: 'fra-1', controlUrl: api.url, domain: DOMAIN, caPem: ca.certPem, certPem: ownCert.certPem, keyPem: own.keyPem,
    expiresAt: ownCert.notAfter.toISOString(),
    signingKey: {kid, publicJwk: {...signing.publicKey.export({format: 'jwk'}), kid}, privateJwk: {...signing.privateKey.export({format: 'jwk'}), kid}},
  }), {mode: 0o600})
  const edge = spawnMezu(['platform', 'start', '--role', 'edge', '--data-dir', dir, '--control-url', api.url, '--edge-port', '0', '--tunnel-port', '0', '--log-level', 'warn', '--json'])
  t.teardown(() => edge.child.kill('SIGKILL'))
  const line = await edge.stderrJson<{msg: string}>((v) => typeof v?.msg === 'string' && REFUSAL.test(v.msg))
  t.true(line.msg.includes(api.url))
  edge.child.kill('SIGTERM')
  await edge.done
  t.true(api.connections >= 1)
  t.deepEqual(api.requests, [])
})
