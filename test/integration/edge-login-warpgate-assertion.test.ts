import test from 'ava'
import {AssertionVerifier, fetchJwks, jwksLocation} from '../../src/warpgate/assertion.js'
import {forgedAssertion} from '../helpers/assertion.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

/** A verifier as `mezu tunnel --require-assertion` builds it: keys from auth.<domain>, CA pinned. */
function verifierFor(platform: TestPlatform, caPem = platform.caPem): AssertionVerifier {
  const where = jwksLocation(platform.edgeUrl!)
  return new AssertionVerifier({issuer: where.issuer, loadJwks: fetchJwks(where.jwksUrl, caPem, {connectTo: where.connectTo})})
}

test('the Warpgate verifier fetches the JWKS from the real edge with the pinned CA and accepts what the edge forwarded, and nothing else', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `svc.${platform.domain}`
  await addRoute(platform, {...scope, hostname: host, service: 'svc'})
  await startWarpgate(t, platform, scope, 'svc', origin.url, {connections: 1})
  const echoed = JSON.parse((await edgeRequest(platform, host, '/headers')).text)
  const v = verifierFor(platform)
  const ok = await v.check(echoed, echoed.host)
  t.true(ok.ok, JSON.stringify(ok))
  if (ok.ok) t.like(ok.claims, {iss: `https://auth.${platform.domain}`, aud: host, sub: 'anonymous', kind: 'anonymous'})

  t.like(await v.check({host}, host), {ok: false, status: 401, code: 'assertion_missing'})
  t.like(await v.check({'mezu-jwt-assertion': await forgedAssertion(platform, host)}, host), {ok: false, status: 401, code: 'assertion_invalid'})
  t.like(await v.check(echoed, `other.${platform.domain}`), {ok: false, status: 403, code: 'assertion_wrong_audience'})
})

test('the JWKS fetch refuses an edge whose certificate is not from the pinned CA', async (t) => {
  const [platform, other] = await Promise.all([startTestPlatform(t), startTestPlatform(t)])
  const where = jwksLocation(platform.edgeUrl!)
  await t.throwsAsync(fetchJwks(where.jwksUrl, other.caPem, {connectTo: where.connectTo})(), {message: /certificate/})
  t.like(await verifierFor(platform, other.caPem).check({'mezu-jwt-assertion': await forgedAssertion(platform, 'x')}, 'x'), {ok: false, status: 503, code: 'assertion_keys_unavailable'})
  t.is((await fetchJwks(where.jwksUrl, platform.caPem, {connectTo: where.connectTo})()).keys.length, 1)
})
