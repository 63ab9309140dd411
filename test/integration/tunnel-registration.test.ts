import {webcrypto, X509Certificate} from 'node:crypto'
import test from 'ava'
import {recordRegistration} from '../../platform/store/config/warpgates.js'
import {renewalMessage} from '../../src/protocol/identity.js'
import {createKeyAndCsr, register, RegistrationError, renew} from '../../src/warpgate/registration.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv} from '../helpers/routes.js'

test('registration tokens work once, are stored only as a keyed hash, and a CSR buys a clientAuth certificate naming the Warpgate', async (t) => {
  const platform = await startTestPlatform(t)
  await addProjectEnv(platform, 'demo', 'prod')
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const created = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates', {token, body: {project: 'demo', environment: 'prod', name: 'api'}})
  t.is(created.status, 201)
  const regToken: string = created.body.token
  t.regex(regToken, /^mezu_wg_/)
  const row = await platform.ctx.cdb.db.selectFrom('warpgates').selectAll().where('id', '=', created.body.warpgate.id).executeTakeFirstOrThrow()
  t.false(row.token_hash!.toString('latin1').includes(regToken.slice(8)), 'the token is not stored')
  t.false(row.doc.toString('latin1').includes('api'), 'the doc is sealed')

  const creds = await register({apiUrl: platform.apiUrl, caPem: platform.caPem}, regToken)
  t.is(creds.info.warpgateId, created.body.warpgate.id)
  t.is(creds.info.service, 'api')
  t.is(creds.info.tunnelUrl, platform.tunnelUrl!)
  t.is(creds.caPem, platform.caPem)
  const cert = new (await import('node:crypto')).X509Certificate(creds.certPem)
  t.is(cert.subjectAltName, `URI:urn:mezu:warpgate:${creds.info.warpgateId}`)
  t.regex(cert.toLegacyObject().ext_key_usage?.join(',') ?? '', /1\.3\.6\.1\.5\.5\.7\.3\.2/)
  t.false((cert.toLegacyObject().ext_key_usage ?? []).includes('1.3.6.1.5.5.7.3.1'), 'not a server certificate')

  const second = await t.throwsAsync(register({apiUrl: platform.apiUrl, caPem: platform.caPem}, regToken), {instanceOf: RegistrationError})
  t.is(second?.code, 'unauthenticated')
  t.is(second?.status, 401)

  const bogus = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates/register', {body: {token: 'mezu_wg_' + 'A'.repeat(43), csr: (await createKeyAndCsr()).csrPem}})
  t.is(bogus.status, 401)
})

test('one registration token raced by several registrations registers exactly one; the losers get nothing and leave no audit entry', async (t) => {
  const platform = await startTestPlatform(t)
  await addProjectEnv(platform, 'demo', 'prod')
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const created = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates', {token, body: {project: 'demo', environment: 'prod', name: 'raced'}})
  const csrs = await Promise.all([0, 1, 2, 3].map(() => createKeyAndCsr()))
  const results = await Promise.all(csrs.map((c) => api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates/register', {body: {token: created.body.token, csr: c.csrPem}})))
  t.deepEqual(results.map((r) => r.status).sort(), [201, 401, 401, 401], results.map((r) => r.text).join('\n'))
  const audit = (await api(platform.apiUrl, platform.caPem, 'GET', '/v1/audit?limit=200', {token})).body.items.filter((e: {action: string}) => e.action === 'warpgate.register')
  t.is(audit.length, 1)
  // the one audited certificate is the one the winner got
  const winner = results.find((r) => r.status === 201)!
  const serial = (x: string) => x.toLowerCase().replace(/^0+/, '')
  t.is(serial(new X509Certificate(winner.body.certificatePem).serialNumber), serial(audit[0].details.serial))

  // the store's own guarantee, without the API's timing in front: one burn per token
  const other = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates', {token, body: {project: 'demo', environment: 'prod', name: 'store-race'}})
  const cert = {serial: '01ab', expiresAt: Date.now() + 60_000}
  const outcomes = await Promise.all([0, 1, 2, 3].map(() => recordRegistration(platform.ctx.cdb, other.body.warpgate.id, other.body.token, cert)))
  t.deepEqual(outcomes.filter(Boolean), [true])
  t.false(await recordRegistration(platform.ctx.cdb, other.body.warpgate.id, 'mezu_wg_' + 'A'.repeat(43), cert), 'another token burns nothing')
})

test('refuses a malformed CSR and a CSR whose self-signature does not verify, and keeps the token usable', async (t) => {
  const platform = await startTestPlatform(t)
  await addProjectEnv(platform, 'demo', 'prod')
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const created = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates', {token, body: {project: 'demo', environment: 'prod'}})
  const garbage = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates/register', {body: {token: created.body.token, csr: '-----BEGIN CERTIFICATE REQUEST-----\n' + 'A'.repeat(200) + '\n-----END CERTIFICATE REQUEST-----'}})
  t.is(garbage.status, 400)
  t.is(garbage.body.error.field, 'csr')
  const {csrPem} = await createKeyAndCsr()
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
  der[der.length - 5] ^= 0xff // break the signature
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`
  const bad = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates/register', {body: {token: created.body.token, csr: tampered}})
  t.is(bad.status, 400)
  const extra = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates/register', {body: {token: created.body.token, csr: csrPem, admin: true}})
  t.is(extra.status, 400)
  t.is(extra.body.error.field, 'admin')
  const ok = await register({apiUrl: platform.apiUrl, caPem: platform.caPem}, created.body.token)
  t.truthy(ok.certPem)
})

test('renewal needs a signature by the current certificate\'s key and is refused once the Warpgate is revoked', async (t) => {
  const platform = await startTestPlatform(t)
  await addProjectEnv(platform, 'demo', 'prod')
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const created = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates', {token, body: {project: 'demo', environment: 'prod', name: 'r'}})
  const target = {apiUrl: platform.apiUrl, caPem: platform.caPem}
  const creds = await register(target, created.body.token)

  const renewed = await renew(target, creds)
  t.is(renewed.info.warpgateId, creds.info.warpgateId)

  // Signed with some other key: refused.
  const {csrPem} = await createKeyAndCsr()
  const other = await webcrypto.subtle.generateKey({name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign'])
  const signedAt = Date.now()
  const forged = Buffer.from(await webcrypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, other.privateKey, renewalMessage(csrPem, signedAt))).toString('base64')
  const r1 = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates/renew', {body: {certificate: renewed.certPem, csr: csrPem, signedAt, signature: forged}})
  t.is(r1.status, 401)
  t.is(r1.body.error.field, 'signature')

  // A stale timestamp: refused even with the right key.
  const stale = await t.throwsAsync(renew(target, renewed, Date.now() - 60 * 60_000), {instanceOf: RegistrationError})
  t.is(stale?.status, 401)

  const revoked = await api(platform.apiUrl, platform.caPem, 'POST', `/v1/warpgates/${creds.info.warpgateId}/revoke`, {token, body: {}})
  t.is(revoked.status, 200)
  const after = await t.throwsAsync(renew(target, renewed), {instanceOf: RegistrationError})
  t.is(after?.code, 'token_revoked')
})

test('filters Warpgates by project and environment, needs a project for an environment filter, and 404s an unknown one', async (t) => {
  const platform = await startTestPlatform(t)
  await addProjectEnv(platform, 'demo', 'prod')
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates', {token, body: {project: 'demo', environment: 'prod', name: 'one'}})
  const list = await api(platform.apiUrl, platform.caPem, 'GET', '/v1/warpgates?project=demo&environment=prod', {token})
  t.is(list.status, 200)
  t.deepEqual(list.body.items.map((w: any) => [w.name, w.status, w.environment]), [['one', 'pending', 'prod']])
  t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/v1/warpgates?environment=prod', {token})).status, 400)
  t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/v1/warpgates/wg_00000000000000000000', {token})).status, 404)
  t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/v1/warpgates')).status, 401)
  t.is((await api(platform.apiUrl, platform.caPem, 'POST', '/v1/warpgates', {token, body: {project: 'nope', environment: 'prod'}})).status, 404)
})
