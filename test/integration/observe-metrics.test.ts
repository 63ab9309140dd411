import test from 'ava'
import {createPolicy, emptyRules} from '../../platform/store/config/policies.js'
import {findUserByEmail} from '../../platform/store/identity/users.js'
import {api, loginToken} from '../helpers/api.js'
import {edgeFetch, signIn} from '../helpers/identity-edge.js'
import {startOrigin} from '../helpers/origin.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {find, httpGet, scrape, total} from '../helpers/prometheus.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {seedUser} from '../helpers/seed-user.js'
import {startWarpgate, waitUntilServed} from '../helpers/tunnel.js'

const METRICS = {metricsAddr: '127.0.0.1:0'}

test('the edge\'s metrics move with traffic through a real tunnel, per route id and status class, and no label holds a user id, email or path', async (t) => {
  const platform = await startTestPlatform(t, METRICS)
  t.regex(platform.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  const url = platform.metricsUrl!
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const alice = await seedUser(platform, 'alice@example.test', {password: 'alice password 123'})
  const policy = await createPolicy(platform.ctx.cdb, scope.projectId, {name: 'alice-only', public: false, allow: {...emptyRules(), emails: [alice.email]}, deny: emptyRules()} as never)
  const open = await addRoute(platform, {...scope, hostname: `open.${platform.domain}`, service: 'svc'})
  const limited = await addRoute(platform, {...scope, hostname: `limited.${platform.domain}`, service: 'svc', rateLimitPerMinute: 1})
  const guarded = await addRoute(platform, {...scope, hostname: `guarded.${platform.domain}`, service: 'svc', policyId: policy.id})
  const {wg, warpgateId} = await startWarpgate(t, platform, scope, 'svc', origin.url, {connections: 1, statsIntervalMs: 100})
  // a service whose origin is down: the Warpgate counts each connect failure
  const deadRoute = await addRoute(platform, {...scope, hostname: `dead.${platform.domain}`, service: 'dead'})
  const dead = await startWarpgate(t, platform, scope, 'dead', 'http://127.0.0.1:1', {connections: 1, statsIntervalMs: 100})
  await waitUntilServed(platform, open.hostname)
  await waitUntilServed(platform, deadRoute.hostname)
  const before = await scrape(url)

  const edge = {port: platform.ports.edge!, caPem: platform.caPem, domain: platform.domain}
  for (let i = 0; i < 5; i++) t.is((await edgeFetch(edge, open.hostname, '/hello')).status, 200)
  const body = 'x'.repeat(1000)
  t.is((await edgeFetch(edge, open.hostname, '/sha256', {method: 'POST', body})).status, 200)
  for (let i = 0; i < 2; i++) t.is((await edgeFetch(edge, open.hostname, `/secret-path-${i}/alice@example.test?token=abc`)).status, 404)
  t.is((await edgeFetch(edge, `nowhere.${platform.domain}`, '/secret-path-x', {headers: {accept: 'application/json'}})).status, 404)
  t.is((await edgeFetch(edge, guarded.hostname, '/secret-path-g', {headers: {accept: 'application/json'}})).status, 401)
  const {session, final} = await signIn(edge, `https://${guarded.hostname}:${edge.port}/hello`, alice.email, 'alice password 123')
  t.is(final.status, 200)
  await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.is((await api(platform.apiUrl, platform.caPem, 'POST', '/v1/sessions', {body: {email: ADMIN_EMAIL, password: 'wrong password here'}})).status, 401)
  t.is((await edgeFetch(edge, deadRoute.hostname, '/hello', {headers: {accept: 'application/json'}})).status, 502)
  t.is((await edgeFetch(edge, limited.hostname, '/hello')).status, 200)
  t.is((await edgeFetch(edge, limited.hostname, '/hello', {headers: {accept: 'application/json'}})).status, 429)

  // the Warpgate reports its counters every 100 ms here: wait for the ones these requests made
  const deadline = Date.now() + 10_000
  let s = await scrape(url)
  while ((total(s, 'mezu_warpgate_requests_total', {warpgate: warpgateId}) < 10 || total(s, 'mezu_warpgate_origin_connect_failures_total', {warpgate: dead.warpgateId}) < 1) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    s = await scrape(url)
  }
  const delta = (name: string, labels: Record<string, string>) => total(s, name, labels) - total(before, name, labels)
  const ok = {route: open.id, class: '2xx'}
  t.is(delta('mezu_edge_requests_total', ok), 6)
  t.is(delta('mezu_edge_request_duration_seconds_count', ok), 6)
  t.is(total(s, 'mezu_edge_request_duration_seconds_bucket', {...ok, le: '+Inf'}), total(s, 'mezu_edge_requests_total', ok))
  t.true(delta('mezu_edge_request_bytes_total', ok) >= 1000)
  t.true(delta('mezu_edge_response_bytes_total', ok) > 5 * 'hello from origin\n'.length)
  t.is(delta('mezu_edge_requests_total', {route: open.id, class: '4xx'}), 2)
  t.is(delta('mezu_edge_requests_total', {route: 'none', class: '4xx'}), 1)
  t.true(delta('mezu_edge_requests_total', {route: 'auth', class: '2xx'}) >= 1, 'the login page')
  t.true(delta('mezu_edge_requests_total', {route: guarded.id, class: '2xx'}) >= 1)
  t.true(total(s, 'mezu_policy_denials_total', {route: guarded.id, reason: 'user-unauthenticated'}) >= 2)
  t.is(delta('mezu_rate_limit_refusals_total', {scope: 'route'}), 1)
  t.is(delta('mezu_edge_requests_total', {route: limited.id, class: '4xx'}), 1)
  t.true(total(s, 'mezu_logins_total', {outcome: 'success'}) >= 2)
  t.is(total(s, 'mezu_logins_total', {outcome: 'wrong-password'}), 1)
  t.true(total(s, 'mezu_api_requests_total', {method: 'POST', route: '/v1/sessions', status: '201'}) >= 1)
  t.is(total(s, 'mezu_api_requests_total', {method: 'POST', route: '/v1/sessions', status: '401'}), 1)
  t.is(total(s, 'mezu_tunnel_connections'), 2)
  t.is(total(s, 'mezu_tunnel_connections_accepted_total'), 2)
  t.is(total(s, 'mezu_warpgates_connected'), 2)
  t.is(total(s, 'mezu_warpgate_connections', {warpgate: warpgateId}), 1)
  t.is(total(s, 'mezu_warpgate_healthy', {warpgate: warpgateId}), 1)
  t.true(total(s, 'mezu_warpgate_requests_total', {warpgate: warpgateId}) >= 10, 'counted by the Warpgate and reported over the tunnel')
  t.is(total(s, 'mezu_warpgate_origin_connect_failures_total', {warpgate: warpgateId}), 0)
  t.true(total(s, 'mezu_warpgate_origin_connect_failures_total', {warpgate: dead.warpgateId}) >= 1, 'the dead origin, counted by its Warpgate')
  t.is(delta('mezu_edge_requests_total', {route: deadRoute.id, class: '5xx'}), 1)
  t.is(find(s, 'mezu_route_info', {route: open.id})[0]?.labels.host, open.hostname)
  t.is(total(s, 'mezu_config_version'), total(s, 'mezu_edge_config_version'))
  t.is(total(s, 'mezu_config_feed_lag_seconds'), 0)
  for (const family of ['process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'mezu_edge_request_duration_seconds']) t.true(s.types.has(family), family)
  t.is(s.types.get('mezu_edge_request_duration_seconds'), 'histogram')
  t.is(s.types.get('mezu_edge_requests_total'), 'counter')

  // bounded labels: nothing that names a person, a session or a request path
  const admin = (await findUserByEmail(platform.ctx.idb, ADMIN_EMAIL))!
  const secrets = [alice.id, alice.email, admin.id, ADMIN_EMAIL, '@', session, 'secret-path', '/hello', '/sha256', 'token=abc']
  for (const sample of s.samples) {
    for (const [label, value] of Object.entries(sample.labels)) {
      for (const secret of secrets) t.false(value.includes(secret), `${sample.name}{${label}="${value}"} holds ${secret}`)
      // only the API's route patterns are paths, and they are the patterns
      if (value.includes('/')) t.true(sample.name.startsWith('mezu_api_') && label === 'route' && (value.startsWith('/v1/') || ['/healthz', '/readyz'].includes(value)), `${sample.name}{${label}="${value}"}`)
    }
  }

  // a health flip reported by the Warpgate
  wg.setHealth(false, 'origin down')
  const flipDeadline = Date.now() + 10_000
  while (total(s, 'mezu_warpgate_healthy', {warpgate: warpgateId}) !== 0 && Date.now() < flipDeadline) {
    await new Promise((r) => setTimeout(r, 50))
    s = await scrape(url)
  }
  t.is(total(s, 'mezu_warpgate_healthy', {warpgate: warpgateId}), 0)
  t.is(total(s, 'mezu_warpgates_unhealthy'), 1)
  t.is(total(s, 'mezu_warpgate_health_changes_total', {warpgate: warpgateId}), 1)
})

test('each platform in a process has its own registry, and without --metrics-addr there is no metrics listener at all', async (t) => {
  const a = await startTestPlatform(t, METRICS)
  const b = await startTestPlatform(t, METRICS)
  const off = await startTestPlatform(t)
  t.is(off.metricsUrl, null)
  t.is(off.metrics, undefined)
  const edge = {port: a.ports.edge!, caPem: a.caPem, domain: a.domain}
  for (let i = 0; i < 3; i++) await edgeFetch(edge, `nowhere.${a.domain}`, '/', {headers: {accept: 'application/json'}})
  t.is(total(await scrape(a.metricsUrl!), 'mezu_edge_requests_total', {route: 'none'}), 3)
  t.is(total(await scrape(b.metricsUrl!), 'mezu_edge_requests_total', {route: 'none'}), 0)
  const health = await httpGet(a.metricsUrl!.replace('/metrics', '/healthz'))
  t.is(health.status, 200)
  t.deepEqual(JSON.parse(health.text), {ok: true})
  t.is((await httpGet(a.metricsUrl!.replace('/metrics', '/nothing'))).status, 404)
})
