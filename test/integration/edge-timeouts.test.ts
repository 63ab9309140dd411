import http2 from 'node:http2'
import {connect, type TLSSocket} from 'node:tls'
import test from 'ava'
import {buildConfig} from '../../platform/config.js'
import {type IdentityEdge, startIdentityEdge} from '../helpers/identity-edge.js'

const defaults = buildConfig({dataDir: '/nonexistent'}).edge
const SHORT = 1000
/** How long a test waits for the edge to close: well under Node's default 30 s connection sweep. */
const DEADLINE = 10_000

/** A raw HTTP/1.1 connection over TLS; `closed` resolves with everything the edge sent, or rejects at the deadline. */
function openRaw(e: IdentityEdge, host: string, deadlineMs: number): {sock: TLSSocket; closed: Promise<string>; received: () => string} {
  const sock = connect({host: '127.0.0.1', port: e.port, servername: host, ca: e.caPem, ALPNProtocols: ['http/1.1']})
  let text = ''
  sock.on('data', (c: Buffer) => (text += c.toString('latin1')))
  sock.on('error', () => {})
  const closed = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error(`the edge kept the connection open for more than ${deadlineMs} ms`))
    }, deadlineMs)
    sock.on('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
  })
  return {sock, closed, received: () => text}
}

async function publicEdge(t: Parameters<typeof startIdentityEdge>[0], edge: Partial<typeof defaults>): Promise<{e: IdentityEdge; host: string}> {
  const e = await startIdentityEdge(t, {edge: {...defaults, ...edge}})
  const open = await e.addPolicy('open', {public: true})
  const host = `app.${e.domain}`
  await e.addRoute(host, '/', open.id)
  return {e, host}
}

test('a client that never finishes its request headers gets 408 and is closed after the header timeout', async (t) => {
  // idle timeout far away: only the header timeout can end this connection in time
  const {e, host} = await publicEdge(t, {headersTimeoutMs: SHORT, idleTimeoutMs: 120_000})
  const c = openRaw(e, host, DEADLINE)
  c.sock.once('secureConnect', () => c.sock.write(`GET /never-finished HTTP/1.1\r\nHost: ${host}:${e.port}\r\nX-A: 1\r\n`))
  const text = await c.closed
  t.true(text === '' || /^HTTP\/1\.1 408 /.test(text), `408 or a bare close, got ${JSON.stringify(text.slice(0, 40))}`)
  t.false(e.originSeen.some((s) => s.url === '/never-finished'), 'nothing reached the origin')
})

test('a client trickling header lines (slowloris) is closed after the header timeout although bytes keep arriving', async (t) => {
  const {e, host} = await publicEdge(t, {headersTimeoutMs: SHORT, idleTimeoutMs: 120_000})
  const c = openRaw(e, host, DEADLINE)
  let n = 0
  const trickle = setInterval(() => {
    if (!c.sock.destroyed && c.sock.writable) c.sock.write(`X-Slow-${n++}: ${'a'.repeat(8)}\r\n`)
  }, SHORT / 10)
  t.teardown(() => clearInterval(trickle))
  c.sock.once('secureConnect', () => c.sock.write(`GET /slowloris HTTP/1.1\r\nHost: ${host}:${e.port}\r\n`))
  const text = await c.closed
  clearInterval(trickle)
  t.true(text === '' || /^HTTP\/1\.1 408 /.test(text), `408 or a bare close, got ${JSON.stringify(text.slice(0, 40))}`)
  t.true(n > 0, 'the client was still sending header lines')
  t.false(e.originSeen.some((s) => s.url === '/slowloris'))
})

test('an idle HTTP/1.1 keep-alive connection is closed after the idle timeout', async (t) => {
  // header timeout far away: only the idle timeout can end this connection in time
  const {e, host} = await publicEdge(t, {headersTimeoutMs: 60_000, idleTimeoutMs: SHORT})
  const c = openRaw(e, host, DEADLINE)
  c.sock.once('secureConnect', () => c.sock.write(`GET /keep-alive HTTP/1.1\r\nHost: ${host}:${e.port}\r\nConnection: keep-alive\r\n\r\n`))
  const text = await c.closed
  t.regex(text, /^HTTP\/1\.1 200 /, 'the request was answered on the connection first')
  t.notRegex(text, /\r\nconnection: close\r\n/i, 'the answer kept the connection alive; the idle timeout ended it')
  t.is(e.originSeen.filter((s) => s.url === '/keep-alive').length, 1)
})

test('an idle HTTP/2 session is closed after the idle timeout', async (t) => {
  const {e, host} = await publicEdge(t, {headersTimeoutMs: 60_000, idleTimeoutMs: SHORT})
  const session = http2.connect(`https://127.0.0.1:${e.port}`, {ca: e.caPem, servername: host})
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const status = await new Promise<number>((resolve, reject) => {
    const req = session.request({':path': '/h2-idle', ':authority': `${host}:${e.port}`})
    req.on('response', (h) => resolve(Number(h[':status'])))
    req.on('error', reject)
    req.resume()
  })
  t.is(status, 200)
  await t.notThrowsAsync(new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the idle session is still open')), DEADLINE)
    session.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  }))
})
