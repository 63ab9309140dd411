import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {edgeFetch} from '../helpers/identity-edge.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {startWarpgate, waitUntilServed} from '../helpers/tunnel.js'

const ENTRY_FIELDS = ['bytesIn', 'bytesOut', 'clientIp', 'durationMs', 'host', 'method', 'path', 'protocol', 'requestId', 'routeId', 'status', 'time', 'tlsVersion']

test('the access log has a JSON line per request with the request id the origin, the error page and `mezu logs` got, and never a cookie, token or query', async (t) => {
  const file = join(tempDir(t), 'logs', 'access.jsonl')
  const platform = await startTestPlatform(t, {accessLog: file})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const route = await addRoute(platform, {...scope, hostname: `logged.${platform.domain}`, service: 'logged'})
  await startWarpgate(t, platform, scope, 'logged', origin.url, {connections: 1})
  await waitUntilServed(platform, route.hostname)
  const edge = {port: platform.ports.edge!, caPem: platform.caPem, domain: platform.domain}

  const served = await edgeFetch(edge, route.hostname, '/headers?token=QUERYSECRET', {headers: {cookie: 'app=COOKIESECRET; __Host-mezu_session=SESSIONSECRET', authorization: 'Bearer BEARERSECRET'}})
  t.is(served.status, 200)
  const servedId = served.headers['mezu-request-id'] as string
  t.regex(servedId, /^[0-9a-f]{8}[0-9a-z]{6,}$/)
  t.is(served.json['mezu-request-id'], servedId, 'the origin got the same id')
  const refused = await edgeFetch(edge, route.hostname, '/hello', {headers: {'mezu-service-token': 'mezu_sa_TOKENSECRET', accept: 'application/json'}})
  t.is(refused.status, 401)
  const refusedId = refused.headers['mezu-request-id'] as string
  t.truthy(refusedId, 'a page the gate writes carries the id')
  t.is(refused.json.error.requestId, refusedId, 'in its body too')
  const unknown = await edgeFetch(edge, `nowhere.${platform.domain}`, '/x', {headers: {accept: 'application/json'}})
  t.is(unknown.status, 404)
  const unknownId = unknown.headers['mezu-request-id'] as string
  t.truthy(unknownId)
  const login = await edgeFetch(edge, `auth.${platform.domain}`, '/login')
  const loginId = login.headers['mezu-request-id'] as string
  t.truthy(loginId, 'the login host\'s pages carry one too')

  // written asynchronously: wait for the four lines with a deadline
  const deadline = Date.now() + 10_000
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])
  while (!lines().some((l) => l.includes(loginId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const all = lines().map((l) => JSON.parse(l))
  for (const e of all) t.deepEqual(Object.keys(e).sort(), ENTRY_FIELDS)
  // waitUntilServed's probes come first
  const entries = all.slice(-4)
  t.deepEqual(entries.map((e) => e.requestId), [servedId, refusedId, unknownId, loginId])
  t.like(entries[0], {routeId: route.id, host: `${route.hostname}:${edge.port}`, method: 'GET', path: '/headers', status: 200})
  t.like(entries[1], {routeId: route.id, status: 401})
  t.like(entries[2], {routeId: null, status: 404})
  const text = readFileSync(file, 'utf8')
  for (const secret of ['QUERYSECRET', 'COOKIESECRET', 'SESSIONSECRET', 'BEARERSECRET', 'TOKENSECRET', 'mezu_sa_']) t.false(text.includes(secret), secret)

  // `mezu logs` (GET /v1/logs) shows the same ids
  const owner = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const logs = await api(platform.apiUrl, platform.caPem, 'GET', '/v1/logs?limit=10', {token: owner})
  t.is(logs.status, 200, logs.text)
  t.deepEqual((logs.body.items as Array<{requestId: string}>).map((e) => e.requestId).slice(-4), [servedId, refusedId, unknownId, loginId])

  // stop flushes and closes the file; nothing is lost
  await platform.stop()
  t.is(lines().length, all.length)
})
