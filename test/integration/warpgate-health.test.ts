import {once} from 'node:events'
import http from 'node:http'
import net from 'node:net'
import type {AddressInfo} from 'node:net'
import test from 'ava'
import {HealthChecker, probeOrigin, type ProbeResult} from '../../src/warpgate/health.js'
import {ManualClock} from '../helpers/clock.js'

/** An origin whose /healthz status the test sets. */
async function origin(t: any, status = {code: 200}) {
  const server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? status.code : 404).end())
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, status, server}
}

const nextCheck = (h: HealthChecker) => once(h, 'check').then(([r]) => r as ProbeResult)

test('reports healthy on the first probe, then only on transitions', async (t) => {
  const o = await origin(t)
  const clock = new ManualClock()
  const h = new HealthChecker({url: o.url, healthcheck: '/healthz', intervalMs: 1000, timeoutMs: 2000, clock})
  t.teardown(() => h.stop())
  const changes: ProbeResult[] = []
  h.on('change', (r) => changes.push(r))
  let check = nextCheck(h)
  h.start()
  t.true((await check).healthy)
  t.is(h.healthy, true)
  t.is(changes.length, 1)

  check = nextCheck(h)
  clock.advance(1000)
  t.true((await check).healthy)
  t.is(changes.length, 1, 'no event when nothing changed')

  o.status.code = 503
  check = nextCheck(h)
  clock.advance(1000)
  const down = await check
  t.false(down.healthy)
  t.regex(down.detail, /503/)
  t.is(changes.length, 2)

  check = nextCheck(h)
  clock.advance(1000)
  await check
  t.is(changes.length, 2, 'still unhealthy: no second event')

  o.status.code = 404
  check = nextCheck(h)
  clock.advance(1000)
  t.true((await check).healthy, 'a status below 500 counts as healthy')
  t.deepEqual(changes.map((c) => c.healthy), [true, false, true])
})

test('does not probe again before the interval has passed, and never after stop', async (t) => {
  const o = await origin(t)
  const clock = new ManualClock()
  const h = new HealthChecker({url: o.url, healthcheck: '/healthz', intervalMs: 5000, timeoutMs: 2000, clock})
  let checks = 0
  h.on('check', () => checks++)
  const first = nextCheck(h)
  h.start()
  await first
  clock.advance(4999)
  t.is(checks, 1)
  t.is(clock.pending, 1, 'one probe scheduled')
  h.stop()
  t.is(clock.pending, 0, 'stop cancels the scheduled probe')
  clock.advance(10_000)
  t.is(checks, 1)
})

test('without a healthcheck path a TCP connect decides, and a closed port is unhealthy', async (t) => {
  const o = await origin(t)
  t.true((await probeOrigin(o.url, undefined, 2000)).healthy)
  const port = (o.server.address() as AddressInfo).port
  await new Promise((r) => o.server.close(r))
  const r = await probeOrigin(`http://127.0.0.1:${port}`, undefined, 2000)
  t.false(r.healthy)
  t.regex(r.detail, /ECONNREFUSED/)
})

test('a service that accepts but never answers is unhealthy after the timeout', async (t) => {
  const sockets = new Set<net.Socket>()
  const silent = net.createServer((s) => sockets.add(s)).listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    silent.close()
  })
  const r = await probeOrigin(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, '/healthz', 150)
  t.false(r.healthy)
  t.regex(r.detail, /no answer within 150 ms/)
})

test('the checker goes unhealthy when the service stops answering and healthy when it is back', async (t) => {
  const o = await origin(t)
  const port = (o.server.address() as AddressInfo).port
  const clock = new ManualClock()
  const h = new HealthChecker({url: o.url, intervalMs: 1000, timeoutMs: 2000, clock})
  t.teardown(() => h.stop())
  let change = once(h, 'change')
  h.start()
  t.true(((await change)[0] as ProbeResult).healthy)
  await new Promise((r) => o.server.close(r))
  change = once(h, 'change')
  clock.advance(1000)
  t.false(((await change)[0] as ProbeResult).healthy)
  const again = http.createServer((_q, s) => s.end()).listen(port, '127.0.0.1')
  await once(again, 'listening')
  t.teardown(() => again.close())
  change = once(h, 'change')
  clock.advance(1000)
  t.true(((await change)[0] as ProbeResult).healthy)
})

test('refuses a zero interval or timeout', (t) => {
  t.throws(() => new HealthChecker({url: 'http://127.0.0.1:1', intervalMs: 0, timeoutMs: 1}), {instanceOf: RangeError})
  t.throws(() => new HealthChecker({url: 'http://127.0.0.1:1', intervalMs: 1, timeoutMs: 0}), {instanceOf: RangeError})
})

test('a probe that throws counts as unhealthy, and a probe still running at stop reports nothing', async (t) => {
  const clock = new ManualClock()
  let release: (r: ProbeResult) => void = () => {}
  const answers: Array<() => Promise<ProbeResult>> = [
    async () => {
      throw new Error('boom')
    },
    () => new Promise<ProbeResult>((r) => (release = r)),
  ]
  const h = new HealthChecker({url: 'http://127.0.0.1:1', intervalMs: 1000, timeoutMs: 1000, clock, probe: () => answers.shift()!()})
  const first = once(h, 'change')
  h.start()
  const [r] = (await first) as [ProbeResult]
  t.false(r.healthy)
  t.regex(r.detail, /probe failed: boom/)
  clock.advance(1000)
  h.stop()
  let reported = false
  h.on('check', () => (reported = true))
  release({healthy: true, detail: 'late'})
  await new Promise((r) => setImmediate(r))
  t.false(reported)
  t.is(h.healthy, false)
  t.is(clock.pending, 0)
})
