import {connect, type TLSSocket} from 'node:tls'
import test from 'ava'
import {buildConfig} from '../../platform/config.js'
import {type IdentityEdge, startIdentityEdge} from '../helpers/identity-edge.js'

const defaults = buildConfig({dataDir: '/nonexistent'}).edge
/** How long a test waits for the edge to act: far over the limits below, far under the defaults. */
const DEADLINE = 10_000

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

test('a 504 answered while the body is still arriving closes the connection', async (t) => {
  const slow = await startIdentityEdge(t, {edge: {...defaults, requestTimeoutMs: 1000}})
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
