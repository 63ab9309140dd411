import {createPublicKey, generateKeyPairSync, webcrypto, X509Certificate} from 'node:crypto'
import {once} from 'node:events'
import type {AddressInfo} from 'node:net'
import tls from 'node:tls'
import * as x509 from '@peculiar/x509'
import test from 'ava'
import type {ChangeEvent} from '../../platform/control/feed.js'
import {CertificateError, signWarpgateCsr, verifyEdgeCert, verifyWarpgateCert} from '../../platform/pki/csr.js'
import {recordEdgeSeen, recordEnrolment} from '../../platform/store/config/edges.js'
import {caPin, parseJoinToken} from '../../src/protocol/edge-join.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {seedUser} from '../helpers/seed-user.js'

x509.cryptoProvider.set(webcrypto as never)

const DAY = 24 * 60 * 60 * 1000
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

/** A fresh ECDSA P-256 key and a CSR for it, as an edge makes them; `ask` puts a SAN request in the CSR (which must be ignored). */
async function keyAndCsr(opts: {ask?: string; algorithm?: 'rsa'} = {}): Promise<{keyPem: string; csrPem: string}> {
  const algorithm = opts.algorithm === 'rsa'
    ? {name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256'}
    : {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'}
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=edge', keys: keys as never, signingAlgorithm: algorithm,
    extensions: opts.ask ? [new x509.SubjectAlternativeNameExtension([{type: 'dns', value: opts.ask}])] : [],
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64')
  return {keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`, csrPem: csr.toString('pem')}
}

function publicJwk(): Record<string, unknown> {
  return generateKeyPairSync('ed25519').publicKey.export({format: 'jwk'}) as Record<string, unknown>
}

async function owner(p: TestPlatform) {
  const token = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  return (method: string, path: string, body?: unknown, as = token) => api(p.apiUrl, p.caPem, method, path, {token: as, body})
}

const enrol = (p: TestPlatform, body: Record<string, unknown>) => api(p.apiUrl, p.caPem, 'POST', '/v1/edges/enrol', {body})

test('creates edges with a one-time join token that carries the CA pin, lists, gets by id or name, and revokes once', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const created = await call('POST', '/v1/edges', {name: 'fra-1'})
  t.is(created.status, 201, created.text)
  const {edge, joinToken, command} = created.body
  t.regex(edge.id, /^edg_[0-9a-z]{20}$/)
  t.like(edge, {name: 'fra-1', status: 'pending', version: null, address: null, edgeUrl: null, tunnelUrls: [], enrolledAt: null, revokedAt: null, configVersion: null, warpgateConnections: null})
  const parsed = parseJoinToken(joinToken)
  t.truthy(parsed, joinToken)
  t.is(parsed!.pin, caPin(p.caPem), 'the pin is the SHA-256 of this platform\'s CA')
  t.is(command, `mezu platform start --role edge --control-url ${p.apiUrl} --join-token ${joinToken}`)

  const row = await p.ctx.cdb.db.selectFrom('edges').selectAll().where('id', '=', edge.id).executeTakeFirstOrThrow()
  t.false(row.join_token_hash!.toString('latin1').includes(parsed!.secret.slice(10)), 'the secret is not stored')
  t.false(row.doc.toString('latin1').includes('fra-1'), 'the doc is sealed')
  t.true(Math.abs(row.token_expires_at - (Date.now() + DAY)) < 60_000, 'the token lives 24 hours')

  // default names count up; names are unique in any letter case
  t.is((await call('POST', '/v1/edges', {})).body.edge.name, 'edge-1')
  t.is((await call('POST', '/v1/edges')).status, 400, 'a body is required (JSON)')
  t.is((await call('POST', '/v1/edges', {})).body.edge.name, 'edge-2')
  const dup = await call('POST', '/v1/edges', {name: 'FRA-1'})
  t.is(dup.status, 409)
  t.is(dup.body.error.code, 'conflict')
  t.is(dup.body.error.field, 'name')
  t.regex(dup.body.error.message, /"FRA-1"/)
  const badName = await call('POST', '/v1/edges', {name: 'no spaces'})
  t.is(badName.status, 400)
  t.is(badName.body.error.field, 'name')
  const extra = await call('POST', '/v1/edges', {name: 'x', region: 'eu'})
  t.is(extra.status, 400)
  t.is(extra.body.error.field, 'region')

  const list = await call('GET', '/v1/edges')
  t.is(list.status, 200)
  t.deepEqual(list.body.items.map((e: any) => e.name), ['fra-1', 'edge-1', 'edge-2'])
  t.is(list.body.nextCursor, null)
  t.is((await call('GET', '/v1/edges?status=pending')).status, 400, 'unknown query fields are refused')
  t.deepEqual((await call('GET', `/v1/edges/${edge.id}`)).body, edge)
  t.is((await call('GET', '/v1/edges/Fra-1')).body.id, edge.id)
  const missing = await call('GET', '/v1/edges/edg_00000000000000000000')
  t.is(missing.status, 404)
  t.is((await call('GET', '/v1/edges/nope')).status, 404)

  const revoked = await call('POST', '/v1/edges/fra-1/revoke')
  t.is(revoked.status, 200, revoked.text)
  t.is(revoked.body.status, 'revoked')
  t.truthy(revoked.body.revokedAt)
  const again = await call('POST', `/v1/edges/${edge.id}/revoke`)
  t.is(again.status, 409)
  t.regex(again.body.error.message, /already revoked/)
  t.is((await call('POST', '/v1/edges/nope/revoke')).status, 404)
  t.is(await p.ctx.cdb.db.selectFrom('edges').select('join_token_hash').where('id', '=', edge.id).executeTakeFirstOrThrow().then((r) => r.join_token_hash), null, 'revoking drops the token')
})

test('of two creates racing for one name one wins and the other is a 409 naming it; racing default names all get one of their own', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const twins = await Promise.all([0, 1, 2].map(() => call('POST', '/v1/edges', {name: 'twin'})))
  t.deepEqual(twins.map((r) => r.status).sort(), [201, 409, 409])
  for (const r of twins.filter((x) => x.status === 409)) {
    t.is(r.body.error.field, 'name')
    t.regex(r.body.error.message, /"twin"/)
  }
  const defaults = await Promise.all([0, 1, 2, 3].map(() => call('POST', '/v1/edges', {})))
  t.deepEqual(defaults.map((r) => r.status), [201, 201, 201, 201], defaults.map((r) => r.text).join('\n'))
  t.deepEqual(defaults.map((r) => r.body.edge.name).sort(), ['edge-1', 'edge-2', 'edge-3', 'edge-4'])
  t.is((await call('GET', '/v1/audit?action=edge.create&limit=100')).body.items.length, 5, 'one entry per edge made')
})

test('only owners, admins and service accounts with the edges scope (not limited to a project) manage edges', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  await seedUser(p, 'member@example.test', {role: 'member', password: ADMIN_PASSWORD})
  await seedUser(p, 'admin@example.test', {role: 'admin', password: ADMIN_PASSWORD})
  const member = await loginToken(p.apiUrl, p.caPem, 'member@example.test', ADMIN_PASSWORD)
  const admin = await loginToken(p.apiUrl, p.caPem, 'admin@example.test', ADMIN_PASSWORD)
  t.is((await call('POST', '/v1/projects', {name: 'shop'})).status, 201)
  const key = async (name: string, scopes: string[], project?: string) => (await call('POST', '/v1/service-accounts', {name, scopes, project})).body.apiKey as string
  const routesOnly = await key('deployer', ['routes:write'])
  const reader = await key('watcher', ['edges:read'])
  const writer = await key('operator', ['edges:write'])
  // even * does not reach edges from an account limited to a project (naming edges:write for it is refused outright)
  const projectBound = await key('shop-ops', ['*'], 'shop')

  t.is((await call('POST', '/v1/edges', {name: 'by-admin'}, admin)).status, 201)
  for (const [who, token] of [['member', member], ['routes-only account', routesOnly], ['project-bound account', projectBound]] as const) {
    for (const [method, path] of [['GET', '/v1/edges'], ['GET', '/v1/edges/by-admin'], ['POST', '/v1/edges'], ['POST', '/v1/edges/by-admin/revoke']]) {
      const r = await call(method, path, method === 'POST' ? {} : undefined, token)
      t.is(r.status, 403, `${who}: ${method} ${path}`)
      t.is(r.body.error.code, 'forbidden')
    }
  }
  t.regex((await call('GET', '/v1/edges', undefined, member)).body.error.message, /member.*edges:read/)
  t.regex((await call('GET', '/v1/edges', undefined, projectBound)).body.error.message, /limited to one project/)
  t.is((await call('GET', '/v1/edges', undefined, reader)).status, 200)
  t.is((await call('POST', '/v1/edges', {}, reader)).status, 403, 'read is not write')
  t.is((await call('POST', '/v1/edges', {name: 'by-bot'}, writer)).status, 201)
  t.is((await call('GET', '/v1/edges/by-bot', undefined, writer)).status, 200, 'write implies read')
  t.is((await api(p.apiUrl, p.caPem, 'GET', '/v1/edges')).status, 401)
  t.is((await api(p.apiUrl, p.caPem, 'POST', '/v1/edges', {body: {}})).status, 401)
  t.deepEqual((await call('GET', '/v1/edges')).body.items.map((e: any) => e.name), ['by-admin', 'by-bot'], 'refused requests created nothing')
})

test('a join token and a P-256 CSR buy one certificate that chains to the CA, names the edge, the platform domain and the requested names, and serves and authenticates over TLS', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const {edge, joinToken} = (await call('POST', '/v1/edges', {name: 'ams-1'})).body
  const {keyPem, csrPem} = await keyAndCsr({ask: 'evil.example.com'})
  const jwk = publicJwk()
  const r = await enrol(p, {
    token: joinToken, csr: csrPem, dns: ['edge.ams.example.net', 'EDGE2.example.net.'], ips: ['203.0.113.7', '2001:db8::7'],
    edgeUrl: 'https://edge.ams.example.net', tunnelUrls: ['tls://203.0.113.7:7444', 'tls://[2001:db8::7]:7444'], signingJwk: jwk,
  })
  t.is(r.status, 201, r.text)
  t.like(r.body, {edgeId: edge.id, name: 'ams-1', caPem: p.caPem, domain: p.domain})
  const expiresAt = Date.parse(r.body.expiresAt)
  t.true(Math.abs(expiresAt - (Date.now() + 30 * DAY)) < 60_000, 'valid for 30 days')

  const chain = r.body.certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) as string[]
  t.is(chain.length, 2, 'leaf and CA')
  const leaf = new X509Certificate(chain[0])
  const ca = new X509Certificate(p.caPem)
  t.is(new X509Certificate(chain[1]).fingerprint256, ca.fingerprint256)
  t.true(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'signed by the platform CA')
  t.true(leaf.publicKey.equals(createPublicKey(keyPem)), 'for the edge\'s own key')
  t.is(Date.parse(leaf.validTo), Math.floor(expiresAt / 1000) * 1000)
  const sans = leaf.subjectAltName!.split(', ')
  for (const name of [
    `URI:urn:mezu:edge:${edge.id}`, `DNS:*.${p.domain}`, `DNS:auth.${p.domain}`, `DNS:${p.domain}`, 'DNS:localhost',
    'DNS:edge.ams.example.net', 'DNS:edge2.example.net', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'IP Address:203.0.113.7', 'IP Address:2001:DB8:0:0:0:0:0:7',
  ]) t.true(sans.includes(name), `${name} in ${leaf.subjectAltName}`)
  t.false(leaf.subjectAltName!.includes('evil.example.com'), 'names the CSR asks for are ignored')
  t.deepEqual(leaf.toLegacyObject().ext_key_usage?.sort(), [SERVER_AUTH, CLIENT_AUTH])
  t.false(leaf.ca)
  const verified = await verifyEdgeCert(p.ctx.ca, r.body.certificatePem)
  t.is(verified.edgeId, edge.id)
  t.is(verified.serial, leaf.serialNumber.toLowerCase())
  // an edge certificate is no Warpgate's, a Warpgate's no edge's, and neither counts once expired
  await t.throwsAsync(verifyWarpgateCert(p.ctx.ca, r.body.certificatePem), {instanceOf: CertificateError, message: /does not name a Warpgate/})
  const warpgateCert = await signWarpgateCsr(p.ctx.ca, (await keyAndCsr()).csrPem, 'wg_0123456789abcdefghjk', DAY)
  await t.throwsAsync(verifyEdgeCert(p.ctx.ca, warpgateCert.certPem), {instanceOf: CertificateError, message: /does not name an edge/})
  await t.throwsAsync(verifyEdgeCert(p.ctx.ca, r.body.certificatePem, new Date(Date.now() + 31 * DAY)), {instanceOf: CertificateError, message: /expired/})

  const got = (await call('GET', '/v1/edges/ams-1')).body
  t.like(got, {status: 'disconnected', edgeUrl: 'https://edge.ams.example.net', tunnelUrls: ['tls://203.0.113.7:7444', 'tls://[2001:db8::7]:7444'], certificateExpiresAt: r.body.expiresAt})
  t.truthy(got.enrolledAt)
  const record = await p.ctx.cdb.db.selectFrom('edges').selectAll().where('id', '=', edge.id).executeTakeFirstOrThrow()
  t.is(record.join_token_hash, null, 'the token is burnt')
  t.false(record.doc.toString('latin1').includes(String(jwk.x)), 'the signing key is sealed')

  // The one certificate is a server certificate for the requested name and a client certificate to the CA.
  let clientIdentity: string | undefined
  const server = tls.createServer({key: keyPem, cert: r.body.certificatePem, ca: [p.caPem], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3'}, (s) => {
    clientIdentity = s.getPeerCertificate().subjectaltname
    s.end('ok')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const socket = tls.connect({host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'edge.ams.example.net', ca: [p.caPem], key: keyPem, cert: r.body.certificatePem})
  await once(socket, 'secureConnect')
  t.true(socket.authorized, String(socket.authorizationError))
  socket.resume()
  await once(socket, 'end')
  t.regex(clientIdentity ?? '', new RegExp(`URI:urn:mezu:edge:${edge.id}`))
})

test('a join token enrols once: again is 401, and of two enrolments at the same time exactly one succeeds', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const first = (await call('POST', '/v1/edges', {name: 'once'})).body.joinToken
  t.is((await enrol(p, {token: first, csr: (await keyAndCsr()).csrPem})).status, 201)
  const second = await enrol(p, {token: first, csr: (await keyAndCsr()).csrPem})
  t.is(second.status, 401)
  t.is(second.body.error.code, 'unauthenticated')
  t.regex(second.body.error.message, /unknown, already used or revoked.*mezu edges create/)
  t.regex(String(second.headers['www-authenticate']), /invalid_token/)
  const bareSecret = await enrol(p, {token: parseJoinToken(first)!.secret, csr: (await keyAndCsr()).csrPem})
  t.is(bareSecret.status, 401, 'nor with the secret part alone')

  const raced = (await call('POST', '/v1/edges', {name: 'raced'})).body.joinToken
  const csrs = await Promise.all([keyAndCsr(), keyAndCsr(), keyAndCsr()])
  const results = await Promise.all(csrs.map((c) => enrol(p, {token: raced, csr: c.csrPem})))
  t.deepEqual(results.map((x) => x.status).sort(), [201, 401, 401], results.map((x) => x.text).join('\n'))
  const audit = (await call('GET', '/v1/audit?action=edge.enrol&limit=100')).body.items.filter((e: any) => e.target.name === 'raced')
  t.is(audit.length, 1, 'the losing enrolments left no audit entry')

  // the store's own guarantee, without the API in front
  const {edge, joinToken} = (await call('POST', '/v1/edges', {name: 'store-race'})).body
  const secret = parseJoinToken(joinToken)!.secret
  const enrolment = {certSerial: '01ab', certExpiresAt: Date.now() + DAY, edgeUrl: null, tunnelUrls: [], signingJwk: null}
  const outcomes = await Promise.all([0, 1, 2, 3].map(() => recordEnrolment(p.ctx.cdb, edge.id, secret, enrolment)))
  t.deepEqual(outcomes.filter(Boolean), [true])
})

test('the secret part alone also enrols; an expired, revoked or foreign token is refused, saying which', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const bare = (await call('POST', '/v1/edges', {name: 'bare'})).body.joinToken
  t.is((await enrol(p, {token: parseJoinToken(bare)!.secret, csr: (await keyAndCsr()).csrPem})).status, 201)

  const {edge, joinToken} = (await call('POST', '/v1/edges', {name: 'late'})).body
  await p.ctx.cdb.db.updateTable('edges').set({token_expires_at: Date.now() - 1}).where('id', '=', edge.id).execute()
  const expired = await enrol(p, {token: joinToken, csr: (await keyAndCsr()).csrPem})
  t.is(expired.status, 401)
  t.is(expired.body.error.code, 'token_expired')
  t.regex(expired.body.error.message, /expired.*mezu edges create/)
  t.is((await call('GET', '/v1/edges/late')).body.status, 'pending')

  const doomed = (await call('POST', '/v1/edges', {name: 'doomed'})).body.joinToken
  t.is((await call('POST', '/v1/edges/doomed/revoke')).status, 200)
  const revoked = await enrol(p, {token: doomed, csr: (await keyAndCsr()).csrPem})
  t.is(revoked.status, 401)
  t.is(revoked.body.error.code, 'unauthenticated')

  const fresh = (await call('POST', '/v1/edges', {name: 'foreign'})).body.joinToken
  const foreign = await enrol(p, {token: parseJoinToken(fresh)!.secret + '.' + 'A'.repeat(43), csr: (await keyAndCsr()).csrPem})
  t.is(foreign.status, 401)
  t.regex(foreign.body.error.message, /another platform/)
  const unknown = await enrol(p, {token: 'mezu_edge_' + 'B'.repeat(43), csr: (await keyAndCsr()).csrPem})
  t.is(unknown.status, 401)
  t.is((await call('GET', '/v1/edges/foreign')).body.status, 'pending', 'refusals left the token usable')
  t.is((await enrol(p, {token: fresh, csr: (await keyAndCsr()).csrPem})).status, 201)
})

test('refuses bad CSRs, names, URLs, signing keys and unknown fields with a 400 naming the field, and the token still works afterwards', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const {joinToken} = (await call('POST', '/v1/edges', {name: 'strict'})).body
  const {csrPem} = await keyAndCsr()
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
  der[der.length - 5] ^= 0xff
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`
  const privateJwk = generateKeyPairSync('ed25519').privateKey.export({format: 'jwk'})
  const cases: Array<[string, Record<string, unknown>, string, RegExp?]> = [
    ['garbage CSR', {csr: '-----BEGIN CERTIFICATE REQUEST-----\n' + 'A'.repeat(200) + '\n-----END CERTIFICATE REQUEST-----'}, 'csr', /not a PEM certificate signing request/],
    ['tampered CSR', {csr: tampered}, 'csr', /does not verify/],
    ['RSA CSR', {csr: (await keyAndCsr({algorithm: 'rsa'})).csrPem}, 'csr', /ECDSA P-256/],
    ['short CSR', {csr: 'x'}, 'csr'],
    ['foreign wildcard', {dns: ['ok.example.net', '*.example.net']}, 'dns.1', /only wildcard .* is \*\.mezu\.localhost/],
    ['bad label', {dns: ['under_score.example.net']}, 'dns.0', /label "under_score"/],
    ['IP as a DNS name', {dns: ['10.0.0.1']}, 'dns.0', /belongs in ips/],
    ['too many names', {dns: Array.from({length: 21}, (_, i) => `e${i}.example.net`)}, 'dns', /20/],
    ['not an IP', {ips: ['300.1.1.1']}, 'ips.0', /not an IPv4 or IPv6/],
    ['too many IPs', {ips: Array.from({length: 21}, (_, i) => `10.0.0.${i}`)}, 'ips'],
    ['http edge URL', {edgeUrl: 'http://edge.example.net'}, 'edgeUrl'],
    ['edge URL with a path', {edgeUrl: 'https://edge.example.net/x'}, 'edgeUrl', /without a path/],
    ['tunnel URL without a port', {tunnelUrls: ['tls://edge.example.net']}, 'tunnelUrls.0', /needs a port/],
    ['https tunnel URL', {tunnelUrls: ['https://edge.example.net:7444']}, 'tunnelUrls.0'],
    ['private JWK', {signingJwk: privateJwk}, 'signingJwk.d', /private key/],
    ['RSA JWK', {signingJwk: {...publicJwk(), kty: 'RSA'}}, 'signingJwk.kty'],
    ['JWK x not 32 bytes', {signingJwk: {kty: 'OKP', crv: 'Ed25519', x: 'short'}}, 'signingJwk.x'],
    ['JWK extra member', {signingJwk: {...publicJwk(), x5c: ['x']}}, 'signingJwk.x5c'],
    ['unknown field', {admin: true}, 'admin', /unknown field "admin"/],
    ['malformed token', {token: 'mezu_wg_' + 'A'.repeat(43)}, 'token'],
  ]
  for (const [what, patch, field, message] of cases) {
    const r = await enrol(p, {token: joinToken, csr: csrPem, ...patch})
    t.is(r.status, 400, `${what}: ${r.text}`)
    t.is(r.body.error.code, 'invalid_request', what)
    t.is(r.body.error.field, field, what)
    if (message) t.regex(r.body.error.message, message, what)
  }
  t.is((await enrol(p, {token: joinToken, csr: csrPem, dns: [`*.${p.domain}`], signingJwk: publicJwk()})).status, 201, 'the token survived every refusal')
})

test('GET /v1/ca answers without credentials with the CA whose pin the join tokens carry', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const r = await api(p.apiUrl, p.caPem, 'GET', '/v1/ca')
  t.is(r.status, 200)
  t.deepEqual(Object.keys(r.body), ['caPem'])
  t.is(r.body.caPem, p.caPem)
  const {joinToken} = (await call('POST', '/v1/edges', {})).body
  t.is(caPin(r.body.caPem), parseJoinToken(joinToken)!.pin)
  t.false(r.text.includes('PRIVATE KEY'))
})

test('creation, enrolment and revocation are audited and announced on the feed as edge events', async (t) => {
  const p = await startTestPlatform(t)
  const events: ChangeEvent[] = []
  t.teardown(p.ctx.feed.subscribe((e) => events.push(e)))
  const call = await owner(p)
  const {edge, joinToken} = (await call('POST', '/v1/edges', {name: 'seen'})).body
  t.is((await enrol(p, {token: joinToken, csr: (await keyAndCsr()).csrPem})).status, 201)
  t.is((await call('POST', '/v1/edges/seen/revoke')).status, 200)
  t.is((await call('POST', '/v1/edges/seen/revoke')).status, 409)
  t.deepEqual(events.filter((e) => e.kind === 'edge').map((e) => [e.id, e.action]), [[edge.id, 'created'], [edge.id, 'updated'], [edge.id, 'revoked']])
  const versions = events.map((e) => e.version)
  t.deepEqual(versions, [...versions].sort((a, b) => a - b))

  const audit = (await call('GET', '/v1/audit?action=edge.&limit=100')).body.items.reverse()
  t.deepEqual(audit.map((e: any) => e.action), ['edge.create', 'edge.enrol', 'edge.revoke'])
  for (const e of audit) t.like(e.target, {type: 'edge', id: edge.id, name: 'seen'})
  t.like(audit[0].actor, {kind: 'user', name: ADMIN_EMAIL})
  t.like(audit[1].actor, {kind: 'anonymous'})
  t.regex(audit[1].details.serial, /^01[0-9a-f]{30}$/)
  t.true(audit[1].details.dns.includes(`*.${p.domain}`))
})

test('status and live fields come from the live view when the edge is connected, and from its last report when not', async (t) => {
  const p = await startTestPlatform(t)
  const call = await owner(p)
  const {edge, joinToken} = (await call('POST', '/v1/edges', {name: 'live'})).body
  t.is((await enrol(p, {token: joinToken, csr: (await keyAndCsr()).csrPem, edgeUrl: 'https://live.example.net'})).status, 201)
  t.is((await call('GET', '/v1/edges/live')).body.status, 'disconnected')

  const since = Date.now() - 60_000
  p.ctx.edgesLive = {live: (id) => (id === edge.id ? {connectedSince: since, address: '198.51.100.9', version: '0.2.0', configVersion: 42, warpgateConnections: 3} : undefined)}
  const live = (await call('GET', '/v1/edges/live')).body
  t.like(live, {status: 'connected', address: '198.51.100.9', version: '0.2.0', configVersion: 42, warpgateConnections: 3, connectedSince: new Date(since).toISOString()})
  t.true(Date.parse(live.lastSeenAt) >= since)

  const at = Date.now() - 5_000
  await recordEdgeSeen(p.ctx.cdb, edge.id, {address: '198.51.100.9', version: '0.2.0', tunnelUrls: ['tls://198.51.100.9:7444'], at})
  p.ctx.edgesLive = {live: () => undefined}
  const gone = (await call('GET', '/v1/edges/live')).body
  t.like(gone, {
    status: 'disconnected', address: '198.51.100.9', version: '0.2.0', configVersion: null, warpgateConnections: null, connectedSince: null,
    lastSeenAt: new Date(at).toISOString(), edgeUrl: 'https://live.example.net', tunnelUrls: ['tls://198.51.100.9:7444'],
  })

  p.ctx.edgesLive = {live: () => ({connectedSince: since, address: '198.51.100.9', version: '0.2.0', configVersion: 42, warpgateConnections: 3})}
  t.is((await call('POST', '/v1/edges/live/revoke')).body.status, 'revoked', 'a revoked edge is never shown connected')
  t.like((await call('GET', '/v1/edges')).body.items[0], {status: 'revoked', configVersion: null})
})
