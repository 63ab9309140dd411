import {generateKeyPairSync, randomBytes} from 'node:crypto'
import test from 'ava'
import {createLocalJWKSet, jwtVerify} from 'jose'
import {AssertionSigner, assertionIssuer, jwks} from '../../platform/edge/assertion.js'
import type {EdgeSigningKey} from '../../platform/edge/identity-snapshot.js'
import {AssertionVerifier, jwksLocation} from '../../src/warpgate/assertion.js'

function newKey(): EdgeSigningKey {
  const {privateKey, publicKey} = generateKeyPairSync('ed25519')
  return {kid: `sk_${randomBytes(6).toString('hex')}`, privateJwk: privateKey.export({format: 'jwk'}) as never, publicJwk: publicKey.export({format: 'jwk'}) as never}
}
const publicOnly = (k: EdgeSigningKey): EdgeSigningKey => ({kid: k.kid, publicJwk: k.publicJwk})
const DOMAIN = 'mezu.localhost'
const ISS = assertionIssuer(DOMAIN)
const user = {kind: 'user' as const, sub: 'usr_1', email: 'alice@example.test', groups: ['engineering', 'engineering/platform']}

test('the assertion carries kid, iss, aud, sub, email, groups, iat and exp, and verifies against the JWKS with jose', async (t) => {
  const key = newKey()
  const token = await new AssertionSigner(300_000).sign(key, DOMAIN, 'hello.mezu.localhost', user)
  const {payload, protectedHeader} = await jwtVerify(token, createLocalJWKSet(jwks([publicOnly(key)]) as never), {issuer: ISS, audience: 'hello.mezu.localhost', algorithms: ['EdDSA']})
  t.is(protectedHeader.kid, key.kid)
  t.is(protectedHeader.alg, 'EdDSA')
  t.is(payload.sub, 'usr_1')
  t.is(payload.email, 'alice@example.test')
  t.deepEqual(payload.groups, ['engineering', 'engineering/platform'])
  t.is(payload.exp! - payload.iat!, 300)
})

test('the JWKS never contains private key material', (t) => {
  const doc = jwks([publicOnly(newKey())])
  t.is(doc.keys.length, 1)
  t.false('d' in doc.keys[0]!)
  t.is(doc.keys[0]!.alg, 'EdDSA')
})

test('the Warpgate verifier accepts a fresh assertion for its host (port ignored)', async (t) => {
  const key = newKey()
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(key)]) as never})
  const token = await new AssertionSigner(60_000).sign(key, DOMAIN, 'hello.mezu.localhost', user)
  const r = await v.check({'mezu-jwt-assertion': token}, 'hello.mezu.localhost:8443')
  t.true(r.ok)
  if (r.ok) t.is(r.claims.email, 'alice@example.test')
})

test('refuses a request without an assertion', async (t) => {
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(newKey())]) as never})
  const r = await v.check({}, 'hello.mezu.localhost')
  t.like(r, {ok: false, status: 401, code: 'assertion_missing'})
})

test('refuses an assertion signed with a key the platform does not publish', async (t) => {
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(newKey())]) as never})
  const forged = await new AssertionSigner(60_000).sign(newKey(), DOMAIN, 'hello.mezu.localhost', user)
  t.like(await v.check({'mezu-jwt-assertion': forged}, 'hello.mezu.localhost'), {ok: false, code: 'assertion_invalid'})
})

test('refuses an assertion signed by a different key under a published kid', async (t) => {
  const real = newKey()
  const impostor = {...newKey(), kid: real.kid}
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(real)]) as never})
  const forged = await new AssertionSigner(60_000).sign(impostor, DOMAIN, 'hello.mezu.localhost', user)
  t.like(await v.check({'mezu-jwt-assertion': forged}, 'hello.mezu.localhost'), {ok: false, code: 'assertion_invalid'})
})

test('refuses an assertion issued for another host', async (t) => {
  const key = newKey()
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(key)]) as never})
  const token = await new AssertionSigner(60_000).sign(key, DOMAIN, 'other.mezu.localhost', user)
  t.like(await v.check({'mezu-jwt-assertion': token}, 'hello.mezu.localhost'), {ok: false, code: 'assertion_wrong_audience'})
})

test('refuses an expired assertion', async (t) => {
  const key = newKey()
  let now = Date.now()
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(key)]) as never, now: () => now})
  const token = await new AssertionSigner(60_000, () => now).sign(key, DOMAIN, 'hello.mezu.localhost', user)
  now += 120_000
  t.like(await v.check({'mezu-jwt-assertion': token}, 'hello.mezu.localhost'), {ok: false, code: 'assertion_expired'})
})

test('refuses a tampered payload and a wrong issuer', async (t) => {
  const key = newKey()
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(key)]) as never})
  const token = await new AssertionSigner(60_000).sign(key, DOMAIN, 'hello.mezu.localhost', user)
  const [h, p, s] = token.split('.')
  const body = JSON.parse(Buffer.from(p!, 'base64url').toString())
  body.email = 'mallory@example.test'
  const tampered = [h, Buffer.from(JSON.stringify(body)).toString('base64url'), s].join('.')
  t.like(await v.check({'mezu-jwt-assertion': tampered}, 'hello.mezu.localhost'), {ok: false, code: 'assertion_invalid'})
  const otherIssuer = await new AssertionSigner(60_000).sign(key, 'other.example', 'hello.mezu.localhost', user)
  t.like(await v.check({'mezu-jwt-assertion': otherIssuer}, 'hello.mezu.localhost'), {ok: false, code: 'assertion_invalid'})
})

test('after a key rotation, an unknown kid makes the verifier fetch the JWKS again, at most once per interval', async (t) => {
  const old = newKey()
  const next = newKey()
  let published = [publicOnly(old)]
  let fetches = 0
  let now = 1_000_000_000_000
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => (fetches++, jwks(published) as never), minRefetchMs: 30_000, now: () => now})
  const signer = new AssertionSigner(60_000, () => now)
  t.true((await v.check({'mezu-jwt-assertion': await signer.sign(old, DOMAIN, 'h.test', user)}, 'h.test')).ok)
  t.is(fetches, 1)
  published = [publicOnly(next), publicOnly(old)]
  const fresh = await signer.sign(next, DOMAIN, 'h.test', user)
  // within the interval a forged or new kid does not trigger a fetch
  now += 1000
  t.false((await v.check({'mezu-jwt-assertion': fresh}, 'h.test')).ok)
  t.is(fetches, 1)
  now += 30_000
  t.true((await v.check({'mezu-jwt-assertion': fresh}, 'h.test')).ok)
  t.is(fetches, 2)
  t.true((await v.check({'mezu-jwt-assertion': await signer.sign(old, DOMAIN, 'h.test', user)}, 'h.test')).ok, 'the retired key still verifies while published')
})

test('answers 503 (not 401) while no platform keys could be fetched: the caller is not at fault', async (t) => {
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => Promise.reject(new Error('auth host unreachable'))})
  const token = await new AssertionSigner(60_000).sign(newKey(), DOMAIN, 'hello.mezu.localhost', user)
  t.like(await v.check({'mezu-jwt-assertion': token}, 'hello.mezu.localhost'), {ok: false, status: 503, code: 'assertion_keys_unavailable'})
})

test('while the keys cannot be fetched, requests get 503 without a fetch each; after a growing pause it tries again', async (t) => {
  const key = newKey()
  let up = false
  let fetches = 0
  let now = 1_000_000_000_000
  const v = new AssertionVerifier({issuer: ISS, now: () => now, loadJwks: async () => (fetches++, up ? jwks([publicOnly(key)]) as never : Promise.reject(new Error('edge down')))})
  const token = await new AssertionSigner(60_000, () => now).sign(key, DOMAIN, 'h.test', user)
  const check = () => v.check({'mezu-jwt-assertion': token}, 'h.test')
  for (let i = 0; i < 5; i++) {
    const r = await check()
    t.like(r, {ok: false, status: 503})
    t.regex((r as {message: string}).message, /edge down/)
  }
  t.is(fetches, 1, 'one fetch for the burst')
  now += 500
  t.like(await check(), {status: 503})
  t.is(fetches, 2)
  now += 500
  t.like(await check(), {status: 503}, 'the second pause is twice as long')
  t.is(fetches, 2)
  up = true
  now += 500
  t.true((await check()).ok)
  t.is(fetches, 3)
})

test('an old key set keeps serving while its refresh runs or fails', async (t) => {
  const key = newKey()
  let fail = false
  let fetches = 0
  let now = 1_000_000_000_000
  const v = new AssertionVerifier({issuer: ISS, now: () => now, refreshMs: 60_000, loadJwks: async () => (fetches++, fail ? Promise.reject(new Error('edge down')) : jwks([publicOnly(key)]) as never)})
  const signer = new AssertionSigner(600_000, () => now)
  t.true((await v.check({'mezu-jwt-assertion': await signer.sign(key, DOMAIN, 'h.test', user)}, 'h.test')).ok)
  fail = true
  now += 61_000
  t.true((await v.check({'mezu-jwt-assertion': await signer.sign(key, DOMAIN, 'h.test', user)}, 'h.test')).ok, 'served from the old set')
  t.is(fetches, 2, 'and a refresh was started')
})

test('a genuine assertion for another host is refused with 403', async (t) => {
  const key = newKey()
  const v = new AssertionVerifier({issuer: ISS, loadJwks: async () => jwks([publicOnly(key)]) as never})
  const token = await new AssertionSigner(60_000).sign(key, DOMAIN, 'other.mezu.localhost', user)
  t.like(await v.check({'mezu-jwt-assertion': token}, 'hello.mezu.localhost'), {ok: false, status: 403, code: 'assertion_wrong_audience'})
})

test('jwksLocation names auth.<domain> with the edge port, and dials loopback only for *.localhost', (t) => {
  t.deepEqual(jwksLocation('https://mezu.localhost:8443'), {issuer: 'https://auth.mezu.localhost', jwksUrl: 'https://auth.mezu.localhost:8443/.well-known/jwks.json', connectTo: '127.0.0.1'})
  t.deepEqual(jwksLocation('https://example.com'), {issuer: 'https://auth.example.com', jwksUrl: 'https://auth.example.com/.well-known/jwks.json'})
})

test('within one second the same caller and host reuse one token; the next second or another caller gets a fresh one', async (t) => {
  const key = newKey()
  let now = 1_700_000_000_250
  const signer = new AssertionSigner(60_000, () => now)
  const [a, b] = await Promise.all([signer.sign(key, DOMAIN, 'h.test', user), signer.sign(key, DOMAIN, 'h.test', user)])
  t.is(a, b)
  t.not(await signer.sign(key, DOMAIN, 'h.test', {...user, sub: 'usr_2'}), a)
  t.not(await signer.sign(key, DOMAIN, 'other.test', user), a)
  now += 1000
  const later = await signer.sign(key, DOMAIN, 'h.test', user)
  t.not(later, a)
  const {payload} = await jwtVerify(later, createLocalJWKSet(jwks([publicOnly(key)]) as never), {issuer: ISS, audience: 'h.test', currentDate: new Date(now)})
  t.is(payload.iat, Math.floor(now / 1000))
})
