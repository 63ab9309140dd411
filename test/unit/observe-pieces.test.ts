import {EventEmitter} from 'node:events'
import test from 'ava'
import {formatHostPort, parseListenAddress} from '../../src/lib/listen-address.js'
import {FeedLag, listening, runChecks} from '../../platform/readiness.js'
import {parsePrometheus} from '../helpers/prometheus.js'
import {PlatformMetrics} from '../../platform/metrics/platform-metrics.js'
import {warpgateLogger} from '../../src/warpgate/log.js'

test('--metrics-addr takes HOST:PORT, [IPv6]:PORT and :PORT (loopback), port 0, and refuses anything else naming the flag', (t) => {
  t.deepEqual(parseListenAddress('127.0.0.1:9464', '--metrics-addr'), {host: '127.0.0.1', port: 9464})
  t.deepEqual(parseListenAddress('[::1]:0', '--metrics-addr'), {host: '::1', port: 0})
  t.deepEqual(parseListenAddress(':9464', '--metrics-addr'), {host: '127.0.0.1', port: 9464})
  t.deepEqual(parseListenAddress('0.0.0.0:9464', '--metrics-addr'), {host: '0.0.0.0', port: 9464})
  for (const bad of ['9464', 'localhost', '127.0.0.1:70000', '127.0.0.1:', '::1:9464', 'a b:1']) {
    t.regex(parseListenAddress(bad, '--metrics-addr') as string, /^--metrics-addr must be HOST:PORT/, bad)
  }
  t.is(formatHostPort('::1', 5), '[::1]:5')
})

test('readiness fails by naming each failing check, and a check that throws fails with its message', async (t) => {
  const r = await runChecks([
    ['edge', listening({listening: true}, 'edge')],
    ['tunnel', listening({listening: false}, 'tunnel')],
    ['store', () => {
      throw new Error('disk on fire')
    }],
  ])
  t.false(r.ready)
  t.deepEqual(r.failing, ['tunnel', 'store'])
  t.is(r.checks.store.message, 'disk on fire')
  t.regex(r.checks.tunnel.message!, /tunnel listener/)
})

test('the feed lag counts from the first look that saw the edge behind, and the check allows a grace', async (t) => {
  let now = 1000
  let store = 5
  let edge = 5
  const lag = new FeedLag(async () => store, () => edge, () => now)
  const check = lag.check(2000)
  await lag.sample()
  t.is(lag.seconds(), 0)
  store = 6
  t.true((await check()).ok, 'just behind: a change on its way')
  now += 1500
  t.is(lag.seconds(), 1.5)
  t.is(lag.storeVersionSeen, 6)
  t.true((await check()).ok)
  now += 1000
  const late = await check()
  t.false(late.ok)
  t.regex(late.message!, /version 5 while the store has 6/)
  edge = 6
  t.true((await check()).ok)
  t.is(lag.seconds(), 0)
})

test('the platform metrics format as valid Prometheus text, with status classes and a cumulative histogram', async (t) => {
  const m = new PlatformMetrics()
  m.request('route_a', 200, 0.003, 10, 20)
  m.request('route_a', 204, 0.2, 0, 0)
  m.request('route_a', 503, 0.001, 0, 5)
  m.request('none', 0, 0, 0, 0)
  m.denied('route_a', 'email-denied')
  m.denied('route_a', 'Something With Spaces')
  m.login('password', 'success')
  const s = parsePrometheus(await m.metrics())
  const v = (name: string, labels: Record<string, string>) => s.samples.find((x) => x.name === name && Object.entries(labels).every(([k, val]) => x.labels[k] === val))?.value
  t.is(v('mezu_edge_requests_total', {route: 'route_a', class: '2xx'}), 2)
  t.is(v('mezu_edge_requests_total', {route: 'route_a', class: '5xx'}), 1)
  t.is(v('mezu_edge_requests_total', {route: 'none', class: 'other'}), 1)
  t.is(v('mezu_edge_request_duration_seconds_bucket', {route: 'route_a', class: '2xx', le: '0.005'}), 1)
  t.is(v('mezu_edge_request_duration_seconds_bucket', {route: 'route_a', class: '2xx', le: '0.25'}), 2)
  t.is(v('mezu_edge_request_duration_seconds_bucket', {route: 'route_a', class: '2xx', le: '+Inf'}), 2)
  t.is(v('mezu_edge_request_bytes_total', {route: 'route_a', class: '2xx'}), 10)
  t.is(v('mezu_edge_response_bytes_total', {route: 'route_a', class: '5xx'}), 5)
  t.is(v('mezu_policy_denials_total', {route: 'route_a', reason: 'other'}), 1, 'a reason that is not a plain code is not a label value')
  t.is(v('mezu_logins_total', {method: 'password', outcome: 'success'}), 1)
})

test('a deleted route\'s series end at the next scrape; requests no route matched stay', async (t) => {
  const m = new PlatformMetrics()
  let routes = [{id: 'route_a', hostname: 'a.mezu.localhost'}, {id: 'route_b', hostname: 'b.mezu.localhost'}]
  const pool = Object.assign(new EventEmitter(), {sessions: () => []}) as never
  m.attach({pool, edgeConfigVersion: () => 1, storeConfigVersion: () => 1, sample: async () => {}, configLagSeconds: () => 0, routes: () => routes})
  for (const r of ['route_a', 'route_b', 'none']) m.request(r, 200, 0.01, 0, 0)
  const routesIn = async () => [...new Set(parsePrometheus(await m.metrics()).samples.filter((s) => s.name === 'mezu_edge_requests_total').map((s) => s.labels.route))].sort()
  t.deepEqual(await routesIn(), ['none', 'route_a', 'route_b'])
  routes = [routes[0]]
  t.deepEqual(await routesIn(), ['none', 'route_a'])
})

test('the Warpgate writes JSON lines in pino\'s format at and above its level, and nothing when silent', (t) => {
  const lines: string[] = []
  const log = warpgateLogger('info', (l) => lines.push(l))
  log.debug({event: 'request'}, 'hidden')
  log.info({event: 'connected', connection: 0, skipped: undefined}, 'tunnel connection up')
  log.warn('a notice with "quotes"\nand a newline')
  log.error({err: new Error('boom')}, 'failed')
  t.is(lines.length, 3)
  t.true(lines.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n')))
  const [info, warn, error] = lines.map((l) => JSON.parse(l))
  t.like(info, {level: 30, name: 'mezu-warpgate', pid: process.pid, event: 'connected', connection: 0, msg: 'tunnel connection up'})
  t.false('skipped' in info)
  t.is(typeof info.time, 'number')
  t.is(Object.keys(info).at(-1), 'msg')
  t.like(warn, {level: 40, msg: 'a notice with "quotes"\nand a newline'})
  t.deepEqual(error.err, {type: 'Error', message: 'boom'})
  const quiet: string[] = []
  warpgateLogger('silent', (l) => quiet.push(l)).error('x')
  t.is(quiet.length, 0)
})
