import {randomBytes} from 'node:crypto'
import http from 'node:http'
import http2 from 'node:http2'
import type {AddressInfo} from 'node:net'
import tls from 'node:tls'
import test, {type ExecutionContext} from 'ava'
import {encodeFields, FRAME_HEADER_BYTES, FrameType, writeFrameHeader} from '../../src/protocol/frames.js'
import {STREAM_WINDOW_BYTES, TUNNEL_PROTOCOL_VERSION} from '../../src/protocol/mux.js'
import {TUNNEL_ALPN} from '../../src/protocol/settings.js'
import {register} from '../../src/warpgate/registration.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, registrationToken, startWarpgate} from '../helpers/tunnel.js'

// The edge against a registered Warpgate that does not follow the protocol: it may only ever lose
// its own connection.

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(FRAME_HEADER_BYTES + payload.length)
  writeFrameHeader(b, 0, payload.length, type, flags, stream)
  payload.copy(b, FRAME_HEADER_BYTES)
  return b
}

const hello = (protocol: unknown = TUNNEL_PROTOCOL_VERSION) => frame(FrameType.HELLO, 0, 0, Buffer.from(JSON.stringify({protocol, version: 'rogue', service: 'rogue', connection: 0})))

/** A registered Warpgate's identity, dialled by hand: what it writes is up to the test. */
async function rogue(t: ExecutionContext, platform: TestPlatform, scope: {projectId: string; environmentId: string}, service: string) {
  const {token} = await registrationToken(platform, scope, service)
  const creds = await register({apiUrl: platform.apiUrl, caPem: platform.caPem}, token)
  return () => new Promise<{socket: tls.TLSSocket; received: () => Buffer; closed: Promise<void>}>((resolve, reject) => {
    const socket = tls.connect({host: '127.0.0.1', port: platform.ports.tunnel!, ca: [creds.caPem], cert: creds.certPem, key: creds.keyPem, ALPNProtocols: [TUNNEL_ALPN], minVersion: 'TLSv1.3'})
    t.teardown(() => socket.destroy())
    let got = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => (got = Buffer.concat([got, d])))
    socket.on('error', () => {})
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    socket.once('secureConnect', () => resolve({socket, received: () => got, closed}))
    socket.once('error', reject)
  })
}

test('random and truncated frames from a registered Warpgate close only its connection; the edge keeps serving', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'good.mezu.localhost', service: 'good'})
  await startWarpgate(t, platform, scope, 'good', origin.url)
  const dial = await rogue(t, platform, scope, 'rogue')
  for (let round = 0; round < 40; round++) {
    const c = await dial()
    // half the rounds say a proper HELLO first, so the garbage reaches the stream handling
    const garbage = randomBytes(1 + ((round * 97) % 3000))
    c.socket.write(round % 2 ? Buffer.concat([hello(), garbage]) : garbage)
    // a truncated frame leaves the edge waiting for the rest: hanging up must close it cleanly too
    if (round % 5 === 0) c.socket.end()
    await c.closed
  }
  const r = await edgeRequest(platform, 'good.mezu.localhost', '/hello')
  t.is(r.status, 200, 'the edge still serves the well-behaved Warpgate')
  t.is(r.text, 'hello from origin\n')
})

test('a Warpgate that sends past its stream window loses the connection, and the end user got at most one window', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  await addRoute(platform, {...scope, hostname: 'flood.mezu.localhost', service: 'rogue'})
  const c = await (await rogue(t, platform, scope, 'rogue'))()
  c.socket.write(hello())
  // answer the first request head with a response and 4 windows of body, ignoring credit
  let answered = false
  c.socket.on('data', () => {
    const got = c.received()
    if (answered || got.length < 2 * FRAME_HEADER_BYTES) return
    // the edge's HELLO comes first, then the HEAD of stream 1
    for (let at = 0; at + FRAME_HEADER_BYTES <= got.length;) {
      const len = got.readUInt32BE(at)
      if (got[at + 4] === FrameType.HEAD && got.readUInt32BE(at + 6) === 1) {
        answered = true
        c.socket.write(frame(FrameType.HEAD, 0, 1, encodeFields(['200', 'content-type', 'application/octet-stream'])))
        for (let i = 0; i < 16; i++) c.socket.write(frame(FrameType.DATA, 0, 1, Buffer.alloc(256 * 1024, 0x78)))
        return
      }
      at += FRAME_HEADER_BYTES + len
    }
  })
  // a PING answered means the edge has read our HELLO before it (frames are handled in order)
  c.socket.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8, 1)))
  await new Promise<void>((resolve) => {
    const check = () => c.received().includes(Buffer.concat([Buffer.from([0, 0, 0, 8, FrameType.PING, 2, 0, 0, 0, 0]), Buffer.alloc(8, 1)])) && resolve()
    c.socket.on('data', check)
    check()
  })
  const got = await new Promise<{bytes: number; ended: boolean; rstCode?: number}>((resolve) => {
    const req = http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: 'flood.mezu.localhost'})
    req.on('error', () => {})
    const s = req.request({':path': '/', ':authority': 'flood.mezu.localhost'}, {endStream: true})
    let bytes = 0
    let ended = false
    s.on('data', (d: Buffer) => (bytes += d.length))
    s.on('end', () => (ended = true))
    s.on('error', () => {})
    s.on('close', () => {
      req.close()
      resolve({bytes, ended, rstCode: s.rstCode})
    })
  })
  await c.closed
  t.true(answered)
  t.true(got.bytes <= STREAM_WINDOW_BYTES, `the end user got ${got.bytes} bytes, at most one window`)
  t.false(got.ended, 'the cut response never looks complete')
  t.is(got.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR, 'the end user is told it broke')
  t.regex(c.received().toString('latin1'), /sent past stream 1's window/, 'the edge said why in its GOAWAY')
})

test('a Warpgate speaking another protocol version is refused with a GOAWAY naming both versions', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const c = await (await rogue(t, platform, scope, 'future'))()
  c.socket.write(hello(99))
  await c.closed
  t.regex(c.received().toString('latin1'), new RegExp(`tunnel protocol version mismatch: the edge speaks ${TUNNEL_PROTOCOL_VERSION}, the Warpgate 99`))
})

test('1,000 requests in flight at once share one tunnel connection', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  // answers nobody until all 1,000 are waiting: they can only finish if all travel at once
  const waiting: http.ServerResponse[] = []
  const server = http.createServer((req, res) => {
    waiting.push(res)
    if (waiting.length === 1000) for (const [i, w] of waiting.entries()) w.end(`answer ${i}`)
  }).listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  t.teardown(() => server.close())
  await addRoute(platform, {...scope, hostname: 'many.mezu.localhost', service: 'many', rateLimitPerMinute: 1_000_000})
  const {wg} = await startWarpgate(t, platform, scope, 'many', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, {connections: 1})
  t.is(wg.connectionCount, 1)
  // 8 HTTP/2 connections of 125 streams each (the edge allows 128 per end-user connection)
  const sessions = Array.from({length: 8}, () => http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: 'many.mezu.localhost'}))
  t.teardown(() => sessions.forEach((s) => s.close()))
  const results = await Promise.all(Array.from({length: 1000}, (_, i) => new Promise<{status: number; body: string}>((resolve, reject) => {
    const s = sessions[i % 8].request({':path': `/r/${i}`, ':authority': 'many.mezu.localhost'}, {endStream: true})
    let status = 0
    let body = ''
    s.on('response', (h) => (status = Number(h[':status'])))
    s.setEncoding('utf8')
    s.on('data', (d: string) => (body += d))
    s.on('end', () => resolve({status, body}))
    s.on('error', reject)
  })))
  t.is(results.filter((r) => r.status === 200 && r.body.startsWith('answer ')).length, 1000, JSON.stringify(results.find((r) => r.status !== 200)))
  t.is(waiting.length, 1000)
})
