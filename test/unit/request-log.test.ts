import test from 'ava'
import {RequestLog, type RequestLogEntry} from '../../platform/edge/request-log.js'

const entry = (i: number, over: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  time: new Date(1_700_000_000_000 + i).toISOString(), requestId: `req${i}`, routeId: 'route_a', host: 'a.mezu.localhost', method: 'GET', path: `/p${i}`,
  status: 200, durationMs: i, bytesIn: 0, bytesOut: 10, clientIp: '127.0.0.1', tlsVersion: 'TLSv1.3', protocol: 'h2', ...over,
})

test('keeps only the newest `capacity` entries, oldest first', (t) => {
  const log = new RequestLog(3)
  for (let i = 1; i <= 5; i++) log.append(entry(i))
  t.is(log.size, 3)
  t.deepEqual(log.recent(10).map((e) => e.path), ['/p3', '/p4', '/p5'])
  t.deepEqual(log.recent(2).map((e) => e.path), ['/p4', '/p5'])
})

test('recent filters before counting', (t) => {
  const log = new RequestLog(10)
  for (let i = 1; i <= 6; i++) log.append(entry(i, {routeId: i % 2 ? 'route_a' : 'route_b'}))
  t.deepEqual(log.recent(2, (e) => e.routeId === 'route_a').map((e) => e.path), ['/p3', '/p5'])
})

test('never stores the query string or fragment, nor any field it does not know', (t) => {
  const log = new RequestLog(2)
  log.append({...entry(1, {path: '/login?token=secret#frag'}), body: 'password=hunter2', headers: {cookie: 'x'}} as RequestLogEntry)
  const [e] = log.recent(1)
  t.is(e.path, '/login')
  t.false(JSON.stringify(e).includes('secret'))
  t.false(JSON.stringify(e).includes('hunter2'))
  t.deepEqual(Object.keys(e).sort(), ['bytesIn', 'bytesOut', 'clientIp', 'durationMs', 'host', 'method', 'path', 'protocol', 'requestId', 'routeId', 'status', 'time', 'tlsVersion'])
})

test('bounds the size of one entry', (t) => {
  const log = new RequestLog(1)
  log.append(entry(1, {path: '/' + 'x'.repeat(100_000), host: 'h'.repeat(1000)}))
  const [e] = log.recent(1)
  t.is(e.path.length, 1024)
  t.is(e.host.length, 253)
})

test('followers get each new entry until they unsubscribe, and a throwing follower harms nobody', (t) => {
  const log = new RequestLog(5)
  const seen: string[] = []
  log.subscribe(() => {
    throw new Error('broken follower')
  })
  const off = log.subscribe((e) => seen.push(e.path))
  t.notThrows(() => log.append(entry(1)))
  log.append(entry(2))
  off()
  log.append(entry(3))
  t.deepEqual(seen, ['/p1', '/p2'])
  t.is(log.followerCount, 1)
  t.is(log.size, 3)
})

test('refuses a capacity below 1', (t) => {
  t.throws(() => new RequestLog(0), {instanceOf: RangeError})
  t.throws(() => new RequestLog(1.5), {instanceOf: RangeError})
})
