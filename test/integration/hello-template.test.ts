import test from 'ava'
import {brokenGate, forgedAssertion, platformSigned} from '../helpers/assertion.js'
import {startTestPlatform} from '../helpers/platform.js'
import {ownerCli} from '../helpers/session.js'
import {edgeRequest, scaffoldHello, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// The hello template behind `mezu tunnel DIR` WITHOUT --require-assertion, on an edge whose identity
// step is broken (it passes on X-Test-Assertion / X-Test-Email): the origin's own check is all
// that stands between a forged identity and the greeting.
test('the hello template greets only the email of an assertion that verifies against the platform JWKS for its host', async (t) => {
  const platform = await startTestPlatform(t, {}, undefined, {gate: brokenGate})
  const owner = await ownerCli(t, platform)
  await owner.json(['projects', 'create', 'demo'])
  await owner.json(['envs', 'create', 'prod', '--project', 'demo'])
  const dir = await scaffoldHello(t)
  const host = `hello.${platform.domain}`
  await startTunnelCli(t, [dir, '--route', host, '--project', 'demo', '--env', 'prod'], owner.env)
  await waitUntilServed(platform, host)
  const get = async (headers: Record<string, string>) => {
    const r = await edgeRequest(platform, host, '/', {headers: {accept: 'application/json', ...headers}})
    return {status: r.status, json: JSON.parse(r.text)}
  }

  t.deepEqual(await get({'x-test-assertion': await platformSigned(platform, host, {email: 'ada@example.test'})}), {status: 200, json: {hello: 'ada@example.test', path: '/', verified: true}})
  t.deepEqual(await get({'x-test-email': 'ceo@example.test'}), {status: 200, json: {hello: 'stranger', path: '/', verified: false}}, 'a bare Mezu-User-Email names nobody')
  for (const [what, token] of [
    ['forged', await forgedAssertion(platform, host, 'ceo@example.test')],
    ['for another host', await platformSigned(platform, `other.${platform.domain}`, {email: 'ceo@example.test'})],
    ['expired', await platformSigned(platform, host, {email: 'ceo@example.test', now: () => Date.now() - 10 * 60_000})],
  ] as const) {
    const r = await get({'x-test-assertion': token, 'x-test-email': 'ceo@example.test'})
    t.is(r.status, 401, what)
    t.is(r.json.error.code, 'assertion_invalid', what)
    t.false(JSON.stringify(r.json).includes('ceo@example.test'), what)
  }
})
