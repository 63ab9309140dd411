import test from 'ava'
import {generateKeyPairSync} from 'node:crypto'
import {SignJWT} from 'jose'
import {AssertionVerifier, fetchJwks} from '../../src/warpgate/assertion.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'
import {edgeFetch, signIn, startStandIn} from '../helpers/edge-stand-in.js'

test('the Warpgate verifier fetches the JWKS from auth.<domain> with the pinned CA and accepts what the edge forwarded', async (t) => {
  const e = await startStandIn(t)
  e.addRoute(`hello.${e.domain}`, '/', null)
  const {final} = await signIn(e, `https://hello.${e.domain}:${e.port}/`, ADMIN_EMAIL, ADMIN_PASSWORD)
  const v = new AssertionVerifier({
    issuer: `https://auth.${e.domain}`,
    loadJwks: fetchJwks(`https://auth.${e.domain}:${e.port}/.well-known/jwks.json`, e.caPem, {connectTo: '127.0.0.1'}),
  })
  const ok = await v.check(final.json.headers, final.json.headers.host)
  t.true(ok.ok)
  if (ok.ok) t.is(ok.claims.email, ADMIN_EMAIL)
})

test('--require-assertion refuses a request that reached the Warpgate without an assertion, or with a forged one', async (t) => {
  const e = await startStandIn(t)
  const v = new AssertionVerifier({
    issuer: `https://auth.${e.domain}`,
    loadJwks: fetchJwks(`https://auth.${e.domain}:${e.port}/.well-known/jwks.json`, e.caPem, {connectTo: '127.0.0.1'}),
  })
  t.like(await v.check({host: `hello.${e.domain}`}, `hello.${e.domain}`), {ok: false, status: 401, code: 'assertion_missing'})
  const {privateKey} = generateKeyPairSync('ed25519')
  const jwks = (await edgeFetch(e, `auth.${e.domain}`, '/.well-known/jwks.json')).json
  const forged = await new SignJWT({email: 'mallory@example.test'}).setProtectedHeader({alg: 'EdDSA', kid: jwks.keys[0].kid})
    .setIssuer(`https://auth.${e.domain}`).setAudience(`hello.${e.domain}`).setSubject('usr_x').setIssuedAt().setExpirationTime('5m').sign(privateKey)
  t.like(await v.check({'mezu-jwt-assertion': forged}, `hello.${e.domain}`), {ok: false, code: 'assertion_invalid'})
})

test('the JWKS fetch refuses an edge whose certificate is not from the pinned CA', async (t) => {
  const e = await startStandIn(t)
  const other = await startStandIn(t)
  const load = fetchJwks(`https://auth.${e.domain}:${e.port}/.well-known/jwks.json`, other.caPem, {connectTo: '127.0.0.1'})
  await t.throwsAsync(load())
})
