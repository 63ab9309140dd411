import http2 from 'node:http2'
import {connect, type TLSSocket} from 'node:tls'
import test from 'ava'
import {buildConfig} from '../../platform/config.js'
import {fileScope, type IdentityEdge, startIdentityEdge} from '../helpers/identity-edge.js'

const defaults = buildConfig({dataDir: '/nonexistent'}).edge
/** How long a test waits for the edge to act: far over the limits below, far under the defaults. */
const DEADLINE = 10_000

// Small limits so the tests are quick: 1 s between two reads, 50 B/s once 1.5 s have passed.
let e: IdentityEdge
let host: string
const scope = fileScope()
test.after.always(() => scope.close())
test.before(async () => {
  e = await startIdentityEdge(scope.t, {edge: {...defaults, bodyTimeoutMs: 1000, minBodyBytesPerSecond: 50, bodyRateGraceMs: 1500}})
  const open = await e.addPolicy('open', {public: true})
  host = `app.${e.domain}`
  await e.addRoute(host, '/', open.id, {rateLimitPerMinute: 1_000_000})
})

/** A raw HTTP/1.1 connection over TLS (CA pinned); `closed` resolves with all the edge sent once it closes, or rejects at the deadline. */
function openRaw(edge: IdentityEdge, name: string): {sock: TLSSocket; closed: Promise<string>} {
  const sock = connect({host: '127.0.0.1', port: edge.port, servername: name, ca: edge.caPem, ALPNProtocols: ['http/1.1']})
  let text = ''
  sock.on('data', (c: Buffer) => (text += c.toString('latin1')))
  sock.on('error', () => {})
  const closed = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error(`the edge kept the connection open for more than ${DEADLINE} ms; it sent ${JSON.stringify(text.slice(0, 80))}`))
    }, DEADLINE)
    sock.on('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
  })
  return {sock, closed}
}

const head = (edge: IdentityEdge, name: string, path: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: ${name}:${edge.port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`

const aborted = (edge: IdentityEdge, path: string) => edge.untilOrigin((s) => s.url === path && s.closed !== undefined, `${path} closed`, DEADLINE)

test('HTTP/1.1: a body that stalls gets 408 after the body timeout, the connection is closed, and the origin request is aborted', async (t) => {
  const c = openRaw(e, host)
  c.sock.once('secureConnect', () => c.sock.write(head(e, host, '/stall-h1', 1000) + 'x'.repeat(10)))
  const text = await c.closed
  t.regex(text, /^HTTP\/1\.1 408 /)
  t.regex(text, /\r\nmezu-edge-error: body_timeout\r\n/i)
  t.regex(text, /\r\nconnection: close\r\n/i)
  const seen = await aborted(e, '/stall-h1')
  t.is(seen.closed, 'aborted')
  t.is(seen.bodyBytes, 10)
})

test('HTTP/1.1: a body trickled under the minimum rate is cut after the grace period although bytes keep arriving', async (t) => {
  const c = openRaw(e, host)
  let sent = 0
  // 10 B/s, one byte at a time: no gap comes near the 1 s body timeout.
  const trickle = setInterval(() => {
    if (c.sock.writable) c.sock.write('y', () => sent++)
  }, 100)
  t.teardown(() => clearInterval(trickle))
  c.sock.once('secureConnect', () => c.sock.write(head(e, host, '/trickle-h1', 100_000)))
  const text = await c.closed
  clearInterval(trickle)
  t.regex(text, /^HTTP\/1\.1 408 /)
  t.regex(text, /\r\nconnection: close\r\n/i)
  t.true(sent > 0, 'the client was still sending')
  t.is((await aborted(e, '/trickle-h1')).closed, 'aborted')
})

test('HTTP/2: a body that stalls gets 408 and a reset stream, the origin request is aborted, and the connection serves on', async (t) => {
  const session = http2.connect(`https://127.0.0.1:${e.port}`, {ca: e.caPem, servername: host})
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const req = session.request({':method': 'POST', ':path': '/stall-h2', ':authority': `${host}:${e.port}`, accept: 'application/json'})
  req.on('error', () => {})
  req.write(Buffer.alloc(10, 0x7a))
  // The client never ends its body: the stream can only close because the edge reset it.
  const answer = await new Promise<{status: number; text: string}>((resolve, reject) => {
    let status = 0
    let text = ''
    const timer = setTimeout(() => reject(new Error('the stalled stream was not answered')), DEADLINE)
    req.on('response', (h) => (status = Number(h[':status'])))
    req.setEncoding('utf8')
    req.on('data', (c: string) => (text += c))
    req.on('close', () => {
      clearTimeout(timer)
      resolve({status, text})
    })
  })
  t.is(answer.status, 408)
  t.is(JSON.parse(answer.text).error.code, 'body_timeout')
  t.is((await aborted(e, '/stall-h2')).closed, 'aborted')
  const next = await new Promise<number>((resolve, reject) => {
    const r = session.request({':path': '/after-stall', ':authority': `${host}:${e.port}`})
    r.on('response', (h) => resolve(Number(h[':status'])))
    r.on('error', reject)
    r.resume()
  })
  t.is(next, 200)
})

test('a body that keeps its pace is not cut', async (t) => {
  const session = http2.connect(`https://127.0.0.1:${e.port}`, {ca: e.caPem, servername: host})
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const req = session.request({':method': 'POST', ':path': '/steady', ':authority': `${host}:${e.port}`})
  let chunks = 0
  // 2 KiB/s for 2.5 s: past the grace period, always above the minimum rate.
  const steady = setInterval(() => {
    if (++chunks <= 25) req.write(Buffer.alloc(200, 0x73))
    else {
      clearInterval(steady)
      req.end()
    }
  }, 100)
  t.teardown(() => clearInterval(steady))
  const status = await new Promise<number>((resolve, reject) => {
    req.on('response', (h) => resolve(Number(h[':status'])))
    req.on('error', reject)
    req.resume()
  })
  t.is(status, 200)
  const seen = await e.untilOrigin((s) => s.url === '/steady' && s.closed !== undefined, '/steady closed', DEADLINE)
  t.is(seen.closed, 'complete')
  t.is(seen.bodyBytes, 25 * 200)
})

test('a 504 answered while the body is still arriving closes the connection', async (t) => {
  // Body limits off: only the response timeout answers here.
  const slow = await startIdentityEdge(t, {edge: {...defaults, requestTimeoutMs: 1000, bodyTimeoutMs: 0, minBodyBytesPerSecond: 0}})
  const open = await slow.addPolicy('open', {public: true})
  const name = `slow.${slow.domain}`
  await slow.addRoute(name, '/', open.id, {rateLimitPerMinute: 1_000_000})
  const c = openRaw(slow, name)
  // The echo origin answers only at the end of the body, which never comes.
  const feed = setInterval(() => {
    if (c.sock.writable) c.sock.write(Buffer.alloc(100, 0x66))
  }, 50)
  t.teardown(() => clearInterval(feed))
  c.sock.once('secureConnect', () => c.sock.write(head(slow, name, '/never-ends', 10_000_000)))
  const text = await c.closed
  clearInterval(feed)
  t.regex(text, /^HTTP\/1\.1 504 /)
  t.regex(text, /\r\nconnection: close\r\n/i)
  t.is((await aborted(slow, '/never-ends')).closed, 'aborted')
})
