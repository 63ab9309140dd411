import http, {type IncomingHttpHeaders} from 'node:http'
import http2 from 'node:http2'
import type {AddressInfo} from 'node:net'
import type {Duplex} from 'node:stream'
import {connect} from 'node:tls'
import test, {type ExecutionContext} from 'ava'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

const HOST = 'spoof.mezu.localhost'

/** What a hostile origin (or Warpgate) answers: the edge's own headers and cookies, beside its own. */
const SPOOFED: Array<[string, string | string[]]> = [
  ['Mezu-User-Email', 'evil@example.test'],
  ['MEZU-USER-ID', 'usr_evil'],
  ['Mezu-Jwt-Assertion', 'forged.jwt.value'],
  ['Mezu-Edge-Error', 'service_offline'],
  ['Mezu-Request-Id', 'forged-id'],
  ['Mezu-Anything-Else', 'x'],
  ['Mezu_User_Email', 'evil2@example.test'],
  ['Set-Cookie', [
    '__Host-mezu_session=planted; Path=/; Secure; HttpOnly; SameSite=Lax',
    'theme=dark; Path=/',
    '__Host-mezu_csrf=planted; Path=/; Secure; HttpOnly',
    ' __Host-mezu_session =spaced; Path=/; Secure',
    'app_session=abc; Path=/; HttpOnly',
  ]],
  ['X-App', 'kept'],
]
const KEPT_COOKIES = ['theme=dark; Path=/', 'app_session=abc; Path=/; HttpOnly']

/** An origin that answers every request, and every WebSocket upgrade, with SPOOFED. */
async function startHostileOrigin(t: ExecutionContext): Promise<string> {
  const server = http.createServer((req, res) => {
    for (const [name, value] of SPOOFED) res.setHeader(name, value)
    res.setHeader('content-type', 'text/plain')
    res.end('origin body\n')
  })
  const upgraded = new Set<Duplex>()
  server.on('upgrade', (_req, socket: Duplex) => {
    upgraded.add(socket)
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade']
    for (const [name, value] of SPOOFED) for (const one of [value].flat()) lines.push(`${name}: ${one}`)
    socket.write(lines.join('\r\n') + '\r\n\r\n')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    for (const s of upgraded) s.destroy()
    server.close(() => resolve())
  }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function startSpoofRoute(t: ExecutionContext): Promise<TestPlatform> {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  await addRoute(platform, {...scope, hostname: HOST, service: 'spoof'})
  await startWarpgate(t, platform, scope, 'spoof', await startHostileOrigin(t))
  return platform
}

function h2Get(platform: TestPlatform, path: string): Promise<{headers: http2.IncomingHttpHeaders; text: string}> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: HOST})
    session.on('error', reject)
    const req = session.request({':path': path, ':authority': HOST})
    let headers: http2.IncomingHttpHeaders = {}
    let text = ''
    req.on('response', (h) => (headers = h))
    req.setEncoding('utf8')
    req.on('data', (c: string) => (text += c))
    req.on('end', () => {
      session.close()
      resolve({headers, text})
    })
    req.on('error', reject)
    req.end()
  })
}

/** An HTTP/1.1 WebSocket upgrade over TLS; resolves with the response head's headers. */
function upgradeHead(platform: TestPlatform, path: string): Promise<{status: number; headers: Array<[string, string]>}> {
  return new Promise((resolve, reject) => {
    const sock = connect({host: '127.0.0.1', port: platform.ports.edge!, servername: HOST, ca: platform.caPem, ALPNProtocols: ['http/1.1']}, () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)
    })
    let got = ''
    sock.setEncoding('latin1')
    sock.on('data', (c: string) => {
      got += c
      const end = got.indexOf('\r\n\r\n')
      if (end === -1) return
      sock.destroy()
      const [status, ...lines] = got.slice(0, end).split('\r\n')
      resolve({status: Number(status!.split(' ')[1]), headers: lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])})
    })
    sock.on('error', reject)
    sock.on('close', () => reject(new Error(`closed before a response head: ${JSON.stringify(got)}`)))
  })
}

function assertStripped(t: ExecutionContext, headers: IncomingHttpHeaders | http2.IncomingHttpHeaders) {
  const mezu = Object.keys(headers).filter((n) => n.replaceAll('_', '-').toLowerCase().startsWith('mezu-'))
  t.deepEqual(mezu, ['mezu-request-id'], 'no Mezu-* header of the origin reaches the end user, only the edge\'s request id')
  t.regex(String(headers['mezu-request-id']), /^[0-9a-f]{8}[0-9a-z]{6}$/, 'the edge\'s id, not the origin\'s forged one')
  t.deepEqual(headers['set-cookie'], KEPT_COOKIES, 'the edge\'s cookies are dropped, the origin\'s own kept in order')
  t.is(headers['x-app'], 'kept')
}

test('over HTTP/1.1 the end user gets no Mezu-* header and no edge cookie from the origin, and the origin\'s other cookies', async (t) => {
  const platform = await startSpoofRoute(t)
  const res = await edgeRequest(platform, HOST, '/page')
  t.is(res.status, 200)
  t.is(res.text, 'origin body\n')
  assertStripped(t, res.headers)
})

test('over HTTP/2 the end user gets no Mezu-* header and no edge cookie from the origin, and the origin\'s other cookies', async (t) => {
  const platform = await startSpoofRoute(t)
  const res = await h2Get(platform, '/page')
  t.is(Number(res.headers[':status']), 200)
  t.is(res.text, 'origin body\n')
  assertStripped(t, res.headers)
})

test('a WebSocket upgrade\'s 101 carries no Mezu-* header and no edge cookie from the origin', async (t) => {
  const platform = await startSpoofRoute(t)
  const res = await upgradeHead(platform, '/ws')
  t.is(res.status, 101)
  t.deepEqual(res.headers.filter(([n]) => n.replaceAll('_', '-').startsWith('mezu-')).map(([n, v]) => [n, /^[0-9a-f]{8}[0-9a-z]{6}$/.test(v)]), [['mezu-request-id', true]])
  t.deepEqual(res.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v), KEPT_COOKIES)
})

test('the edge\'s own answers still carry its Mezu-Edge-Error and Mezu-Request-Id', async (t) => {
  const platform = await startSpoofRoute(t)
  const res = await edgeRequest(platform, 'nothing-here.mezu.localhost', '/', {headers: {accept: 'application/json'}})
  t.is(res.status, 404)
  t.is(res.headers['mezu-edge-error'], 'unknown_host')
  t.truthy(res.headers['mezu-request-id'])
})
