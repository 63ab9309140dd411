// The Warpgate's own HTTP/1.1 client against an origin that answers with crafted bytes: what it
// must pass through (1xx, HEAD, 204, trailers, close-delimited bodies, chunked uploads), what it must
// refuse by name (malformed heads), and that no bad answer poisons a later request.
import {once} from 'node:events'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import net, {type AddressInfo} from 'node:net'
import test, {type ExecutionContext} from 'ava'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

const HOST = 'raw.mezu.localhost'

interface RawOrigin {
  url: string
  /** TCP connections the Warpgate opened */
  connections: number
  /** request heads seen, in order */
  heads: string[]
  /** request bodies seen by path (Content-Length or chunked, decoded) */
  bodies: Map<string, string>
}

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`

/** Reads one request (head, then a Content-Length or chunked body) from the connection's buffer. */
function takeRequest(buf: Buffer): {head: string; body: string; rest: Buffer} | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const head = buf.toString('latin1', 0, end)
  let at = end + 4
  const length = /\r\ncontent-length: (\d+)/i.exec(head)
  if (length) {
    const n = Number(length[1])
    if (buf.length < at + n) return undefined
    return {head, body: buf.toString('latin1', at, at + n), rest: buf.subarray(at + n)}
  }
  if (/\r\ntransfer-encoding: chunked/i.test(head)) {
    let body = ''
    for (;;) {
      const nl = buf.indexOf('\r\n', at)
      if (nl < 0) return undefined
      const size = parseInt(buf.toString('latin1', at, nl), 16)
      if (size === 0) {
        const trailersEnd = buf.indexOf('\r\n\r\n', nl - 2)
        if (trailersEnd < 0) return undefined
        const trailers = buf.toString('latin1', nl + 2, trailersEnd)
        return {head: head + (trailers ? `\r\n[trailers]\r\n${trailers}` : ''), body, rest: buf.subarray(trailersEnd + 4)}
      }
      if (buf.length < nl + 2 + size + 2) return undefined
      body += buf.toString('latin1', nl + 2, nl + 2 + size)
      at = nl + 2 + size + 2
    }
  }
  return {head, body: '', rest: buf.subarray(at)}
}

/** An origin speaking HTTP/1.1 by hand, so it can answer exactly what each test needs. */
async function startRawOrigin(t: ExecutionContext): Promise<RawOrigin> {
  const origin: RawOrigin = {url: '', connections: 0, heads: [], bodies: new Map()}
  const server = net.createServer((socket) => {
    origin.connections++
    let served = 0
    let buf: Buffer = Buffer.alloc(0)
    socket.on('error', () => {})
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      for (let r = takeRequest(buf); r; r = takeRequest(buf)) {
        buf = r.rest
        served++
        origin.heads.push(r.head)
        const [method, path] = r.head.split(' ')
        origin.bodies.set(path, r.body)
        answer(socket, method, path, served)
        if (socket.destroyed) return
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  origin.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return origin
}

function answer(socket: net.Socket, method: string, path: string, served: number): void {
  switch (path) {
    case '/ok':
      return void socket.write(ok('ok'))
    case '/head':
      // a HEAD response announces the length of a body it never sends
      return void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Method: ' + method + '\r\n\r\n')
    case '/no-content':
      return void socket.write('HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n')
    case '/trailers':
      return void socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n4;x=1\r\nwith\r\n9\r\n trailers\r\n0\r\nX-Checksum: c0ffee\r\n\r\n')
    case '/early-hints':
      return void socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n' + ok('hinted'))
    case '/until-close':
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until ')
      setTimeout(() => socket.end('the origin closes'), 50)
      return
    case '/garbage':
      return void socket.write(ok('ok') + 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nforged')
    case '/big-head':
      return void socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 2\r\n\r\nok`)
    case '/conflict':
      return void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!')
    case '/cut':
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..')
      setTimeout(() => socket.destroy(), 20)
      return
    case '/drop-later':
      // the keep-alive race: a reused connection closed by the origin just as the request arrives
      if (served > 1) return void socket.destroy()
      return void socket.write(ok('first on this connection'))
    case '/echo':
      return void socket.write(ok('got it'))
    default:
      return void socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
  }
}

async function setUp(t: ExecutionContext): Promise<{platform: TestPlatform; origin: RawOrigin}> {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startRawOrigin(t)
  await addRoute(platform, {...scope, hostname: HOST, service: 'raw'})
  await startWarpgate(t, platform, scope, 'raw', origin.url, {connections: 1})
  return {platform, origin}
}

test('HEAD, 204, 103, trailers and close-delimited bodies pass through, over reused origin connections', async (t) => {
  const {platform, origin} = await setUp(t)
  const agent = new https.Agent({keepAlive: true, maxSockets: 1})
  t.teardown(() => agent.destroy())
  const get = (path: string, method = 'GET') => edgeRequest(platform, HOST, path, {method, agent})

  const head = await get('/head', 'HEAD')
  t.is(head.status, 200)
  t.is(head.headers['x-method'], 'HEAD')
  t.is(head.body.length, 0)
  const noContent = await get('/no-content')
  t.is(noContent.status, 204)
  t.is(noContent.headers['x-empty'], 'yes')
  for (let i = 0; i < 10; i++) t.is((await get('/ok')).text, 'ok')
  t.is(origin.connections, 1, 'thirteen requests, one after another, on one kept-alive origin connection')

  const closing = await get('/until-close')
  t.is(closing.text, 'read until the origin closes')
  t.is((await get('/ok')).text, 'ok', 'a new connection after the close-delimited one')
  t.is(origin.connections, 2)

  // Trailers and 103 reach an HTTP/2 end user.
  const client = http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: HOST})
  t.teardown(() => client.close())
  const req = client.request({':path': '/trailers', ':authority': HOST})
  const [headers] = await once(req, 'response') as [http2.IncomingHttpHeaders]
  let text = ''
  req.setEncoding('utf8')
  req.on('data', (c: string) => (text += c))
  const trailersSeen = once(req, 'trailers')
  await once(req, 'end')
  const [trailers] = await trailersSeen as [http2.IncomingHttpHeaders]
  t.is(headers[':status'], 200 as never)
  t.is(text, 'with trailers')
  t.is(trailers['x-checksum'], 'c0ffee')

  const hinted = client.request({':path': '/early-hints', ':authority': HOST})
  const hints: http2.IncomingHttpHeaders[] = []
  hinted.on('headers', (h) => hints.push(h))
  const [final] = await once(hinted, 'response') as [http2.IncomingHttpHeaders]
  t.is(final[':status'], 200 as never)
  t.is(hints[0]?.[':status'], 103 as never)
  t.is(hints[0]?.link, '</style.css>; rel=preload')
  hinted.resume()
  await once(hinted, 'end')
})

test('uploads without a length go chunked with their trailers; Expect: 100-continue waits for the origin', async (t) => {
  const {platform, origin} = await setUp(t)
  // HTTP/2 end user, body of unknown length with trailers: the origin gets chunked encoding.
  const client = http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: HOST})
  t.teardown(() => client.close())
  const up = client.request({':path': '/echo', ':method': 'POST', ':authority': HOST}, {waitForTrailers: true})
  up.on('wantTrailers', () => up.sendTrailers({'x-sum': '42'}))
  up.write('part one, ')
  up.end('part two')
  const [h] = await once(up, 'response') as [http2.IncomingHttpHeaders]
  up.resume()
  await once(up, 'end')
  t.is(h[':status'], 200 as never)
  t.is(origin.bodies.get('/echo'), 'part one, part two')
  const seen = origin.heads.at(-1)!
  t.regex(seen, /\r\ntransfer-encoding: chunked/)
  t.regex(seen, /\[trailers\]\r\nx-sum: 42/)

  // HTTP/1.1 end user with Expect: 100-continue: the 100 comes from the origin, then the body goes.
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port: platform.ports.edge!, servername: HOST, ca: platform.caPem, method: 'POST', path: '/echo',
      headers: {host: HOST, expect: '100-continue', 'content-length': '7'}, agent: false,
    })
    req.on('continue', () => req.end('go body'))
    req.on('response', (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
  })
  t.is(status, 200)
  t.is(origin.bodies.get('/echo'), 'go body')
})

test('malformed answers are 502 origin_invalid, a cut body is cut for the end user, and none poisons the next request', async (t) => {
  const {platform, origin} = await setUp(t)
  const agent = new https.Agent({keepAlive: true, maxSockets: 1})
  t.teardown(() => agent.destroy())
  const get = (path: string) => edgeRequest(platform, HOST, path, {agent})

  const garbage = await get('/garbage')
  t.is(garbage.text, 'ok', 'the response itself was fine')
  t.is((await get('/ok')).text, 'ok', 'the bytes behind it never became a response')
  t.false(origin.heads.some((h) => h.startsWith('forged')))

  for (const path of ['/big-head', '/conflict']) {
    const bad = await get(path)
    t.is(bad.status, 502, path)
    t.is(bad.headers['mezu-edge-error'], 'origin_invalid', path)
    t.is((await get('/ok')).text, 'ok', `after ${path}`)
  }

  // The origin dies mid-body: the end user must not get a complete-looking response.
  const cut = await new Promise<{status: number; error?: string; bytes: number}>((resolve) => {
    const req = https.request({host: '127.0.0.1', port: platform.ports.edge!, servername: HOST, ca: platform.caPem, path: '/cut', headers: {host: HOST}, agent: false}, (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.on('error', (e) => resolve({status: res.statusCode ?? 0, error: e.message, bytes}))
      res.on('aborted', () => resolve({status: res.statusCode ?? 0, error: 'aborted', bytes}))
      res.on('end', () => resolve({status: res.statusCode ?? 0, bytes}))
    })
    req.on('error', (e) => resolve({status: 0, error: e.message, bytes: 0}))
    req.end()
  })
  t.is(cut.status, 200)
  t.truthy(cut.error, 'the end user sees the response cut short')
  t.true(cut.bytes < 100)
  t.is((await get('/ok')).text, 'ok')
})

test('a reused connection the origin closed is retried once for a bodyless request, never for an upload', async (t) => {
  const {platform, origin} = await setUp(t)
  const agent = new https.Agent({keepAlive: true, maxSockets: 1})
  t.teardown(() => agent.destroy())
  t.is((await edgeRequest(platform, HOST, '/drop-later', {agent})).text, 'first on this connection')
  const connections = origin.connections
  const again = await edgeRequest(platform, HOST, '/drop-later', {agent})
  t.is(again.status, 200, 'the GET that met the closed connection went out again on a new one')
  t.is(again.text, 'first on this connection')
  t.is(origin.connections, connections + 1)

  // An upload is not repeated: the origin may have acted on it.
  t.is((await edgeRequest(platform, HOST, '/ok', {agent})).text, 'ok')
  const before = origin.heads.length
  const posted = await edgeRequest(platform, HOST, '/drop-later', {agent, method: 'POST', body: 'once only'})
  t.is(posted.status, 502)
  t.is(posted.headers['mezu-edge-error'], 'origin_unreachable', 'closed without an answer')
  t.is(origin.heads.length, before + 1, 'sent once')
})

test('an origin that refuses connections is origin_unreachable', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const server = http.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await addRoute(platform, {...scope, hostname: HOST, service: 'raw'})
  await startWarpgate(t, platform, scope, 'raw', `http://127.0.0.1:${port}`, {connections: 1})
  const r = await edgeRequest(platform, HOST, '/ok')
  t.is(r.status, 502)
  t.is(r.headers['mezu-edge-error'], 'origin_unreachable')
})
