import {createHash} from 'node:crypto'
import test from 'ava'
import WebSocket from 'ws'
import {brokenGate, forgedAssertion, platformSigned} from '../helpers/assertion.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {ownerCli} from '../helpers/session.js'
import {edgeRequest, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

/** A real `mezu tunnel --require-assertion` in front of a test origin, routed at HOST on a real platform. */
async function tunnelFor(t: any, platform: TestPlatform, host: string, extra: string[] = ['--require-assertion']) {
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: host, service: 'svc'})
  const owner = await ownerCli(t, platform)
  const tunnel = await startTunnelCli(t, [String(origin.port), '--name', 'svc', '--project', 'demo', '--env', 'prod', ...extra], owner.env)
  await waitUntilServed(platform, host)
  return {origin, tunnel}
}

const HOST = 'svc.mezu.localhost'

test('with --require-assertion a request through the real edge reaches the service, body streamed, assertion intact', async (t) => {
  const platform = await startTestPlatform(t)
  const {origin, tunnel} = await tunnelFor(t, platform, HOST)
  const hello = await edgeRequest(platform, HOST, '/hello')
  t.is(hello.status, 200, hello.text)
  t.is(hello.text, 'hello from origin\n')
  const body = Buffer.alloc(3 * 1024 * 1024, 7)
  const posted = await edgeRequest(platform, HOST, '/sha256', {method: 'POST', body})
  t.deepEqual(JSON.parse(posted.text), {bytes: body.length, sha256: createHash('sha256').update(body).digest('hex')})
  // a public route: the edge signed an assertion naming nobody, and the Warpgate let it pass
  const seen = origin.seen.find((r) => r.url === '/hello')!
  t.truthy(seen.headers['mezu-jwt-assertion'])
  t.is(seen.headers['mezu-user-email'], undefined)
  // a WebSocket (extended CONNECT on the tunnel) is checked and carried too
  const ws = new WebSocket(`wss://127.0.0.1:${platform.ports.edge}/ws`, {ca: platform.caPem, servername: HOST, headers: {host: HOST}} as WebSocket.ClientOptions)
  t.teardown(() => ws.terminate())
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())))
  ws.send('through the gate')
  t.is(await echoed, 'through the gate')
  ws.close()
  await tunnel.waitForEvent((e) => e.type === 'request' && e.path === '/hello' && e.status === 200, 'the request line')
  t.is(await tunnel.stop(), 0)
})

test('--require-assertion refuses requests that reach the Warpgate without a valid assertion, and the origin never sees them', async (t) => {
  const platform = await startTestPlatform(t, {}, undefined, {gate: brokenGate})
  const {origin, tunnel} = await tunnelFor(t, platform, HOST)
  const refused = async (path: string, headers: Record<string, string>, status: number, code: string) => {
    const r = await edgeRequest(platform, HOST, path, {headers: {accept: 'application/json', ...headers}})
    t.is(r.status, status, `${path}: ${r.text}`)
    t.is(JSON.parse(r.text).error.code, code, path)
    t.regex(String(r.headers['content-type']), /^application\/json/)
    t.false(origin.seen.some((s) => s.url === path), `${path} must not reach the origin`)
  }
  await refused('/none', {'x-test-email': 'ceo@example.test'}, 401, 'assertion_missing')

  const forged = await forgedAssertion(platform, HOST)
  await refused('/forged', {'x-test-assertion': forged}, 401, 'assertion_invalid')
  await refused('/garbage', {'x-test-assertion': 'not.a.jwt'}, 401, 'assertion_invalid')
  await refused('/elsewhere', {'x-test-assertion': await platformSigned(platform, 'other.mezu.localhost')}, 403, 'assertion_wrong_audience')
  await refused('/stale', {'x-test-assertion': await platformSigned(platform, HOST, {now: () => Date.now() - 10 * 60_000})}, 401, 'assertion_expired')

  // the same Warpgate lets a genuine one through: it is the assertion that decides
  const ok = await edgeRequest(platform, HOST, '/headers', {headers: {'x-test-assertion': await platformSigned(platform, HOST)}})
  t.is(ok.status, 200, ok.text)
  t.is(JSON.parse(ok.text)['mezu-jwt-assertion'].split('.').length, 3)

  const line = await tunnel.waitForEvent((e) => e.type === 'request' && e.path === '/none', 'the refusal line')
  t.like(line, {status: 401, error: 'assertion_missing'})
})

test('without --require-assertion the Warpgate forwards what it is given (the flag is what refuses)', async (t) => {
  const platform = await startTestPlatform(t, {}, undefined, {gate: brokenGate})
  const {origin} = await tunnelFor(t, platform, HOST, [])
  const r = await edgeRequest(platform, HOST, '/hello')
  t.is(r.status, 200)
  t.true(origin.seen.some((s) => s.url === '/hello'))
})

test('--require-assertion that cannot fetch the platform keys says so at start and answers 503, never forwarding', async (t) => {
  // example.invalid never resolves (RFC 6761), so auth.example.invalid cannot be reached; the tunnel
  // itself dials 127.0.0.1 and works
  const platform = await startTestPlatform(t, {domain: 'example.invalid'})
  const host = 'svc.example.invalid'
  const {origin, tunnel} = await tunnelFor(t, platform, host)
  const warned = await tunnel.waitForEvent((e) => e.type === 'assertion-keys-unavailable', 'the warning')
  t.is(warned.jwksUrl, `https://auth.example.invalid:${platform.ports.edge}/.well-known/jwks.json`)
  const r = await edgeRequest(platform, host, '/hello', {headers: {accept: 'application/json'}})
  t.is(r.status, 503, r.text)
  t.is(JSON.parse(r.text).error.code, 'assertion_keys_unavailable')
  t.false(origin.seen.some((s) => s.url === '/hello'))
})
