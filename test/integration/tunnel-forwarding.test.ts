import {createHash} from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import {Readable} from 'node:stream'
import test from 'ava'
import WebSocket from 'ws'
import {patternChunk, startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'

test('forwards a GET through a Warpgate and sets X-Forwarded-* while dropping spoofed identity and hop-by-hop headers', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'hello.mezu.localhost', service: 'hello'})
  await startWarpgate(t, platform, scope, 'hello', origin.url)

  const hello = await edgeRequest(platform, 'hello.mezu.localhost', '/hello')
  t.is(hello.status, 200)
  t.is(hello.text, 'hello from origin\n')

  const echoed = await edgeRequest(platform, 'hello.mezu.localhost', '/headers?x=1', {
    headers: {'mezu-user-email': 'spoof@example.test', 'MEZU-USER-ID': 'usr_spoof', 'x-forwarded-for': '6.6.6.6', 'keep-alive': 'timeout=5', connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'x-keep-me': 'yes'},
  })
  t.is(echoed.status, 200)
  const seen = JSON.parse(echoed.text) as Record<string, string | undefined>
  t.is(seen['x-forwarded-for'], '127.0.0.1')
  t.is(seen['x-forwarded-proto'], 'https')
  t.is(seen['x-forwarded-host'], 'hello.mezu.localhost')
  t.is(seen['x-keep-me'], 'yes')
  t.is(seen['mezu-user-email'], undefined)
  t.not(seen['mezu-user-id'], 'usr_spoof')
  t.is(seen['x-drop-me'], undefined)
  t.is(seen['keep-alive'], undefined)
  t.truthy(seen['mezu-request-id'])
  t.is(echoed.headers['mezu-request-id'], seen['mezu-request-id'], 'the end user gets the id the origin got')

  // An origin that folds `_` into `-` would read Mezu_User_Id as identity: the edge refuses it.
  const before = origin.seen.length
  const underscored = await edgeRequest(platform, 'hello.mezu.localhost', '/headers', {headers: {'Mezu_User_Id': 'usr_spoof'}})
  t.is(underscored.status, 400)
  t.is(origin.seen.length, before, 'never reached the origin')
})

const MiB = 1024 * 1024

test('streams a 100 MiB download and a 100 MiB upload both ways with byte count and sha256 intact', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'big.mezu.localhost', service: 'big'})
  await startWarpgate(t, platform, scope, 'big', origin.url)
  const size = 100 * MiB

  const expected = createHash('sha256')
  for (let off = 0; off < size; off += 256 * 1024) expected.update(patternChunk(off, Math.min(256 * 1024, size - off)))
  const expectedHex = expected.digest('hex')

  // Download, hashed as it arrives (never buffered whole).
  const down = await new Promise<{status: number; bytes: number; sha256: string}>((resolve, reject) => {
    const req = https.request({host: '127.0.0.1', port: platform.ports.edge!, servername: 'big.mezu.localhost', path: `/bytes?n=${size}`, ca: platform.caPem, headers: {host: 'big.mezu.localhost'}, agent: false}, (res) => {
      const h = createHash('sha256')
      let bytes = 0
      res.on('data', (c: Buffer) => {
        bytes += c.length
        h.update(c)
      })
      res.on('end', () => resolve({status: res.statusCode!, bytes, sha256: h.digest('hex')}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
  t.is(down.status, 200)
  t.is(down.bytes, size)
  t.is(down.sha256, expectedHex)

  // Upload, streamed chunk by chunk with back-pressure, no content-length (chunked).
  const up = await new Promise<{status: number; body: string}>((resolve, reject) => {
    const req = https.request({host: '127.0.0.1', port: platform.ports.edge!, servername: 'big.mezu.localhost', method: 'POST', path: '/sha256', ca: platform.caPem, headers: {host: 'big.mezu.localhost'}, agent: false}, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({status: res.statusCode!, body}))
    })
    req.on('error', reject)
    const readable = Readable.from((function* () {
      for (let off = 0; off < size; off += 256 * 1024) yield patternChunk(off, Math.min(256 * 1024, size - off))
    })())
    readable.pipe(req)
  })
  t.is(up.status, 200)
  t.deepEqual(JSON.parse(up.body), {bytes: size, sha256: expectedHex})
})

test('delivers server-sent events as they are sent, without waiting for the response to end', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'sse.mezu.localhost', service: 'sse'})
  await startWarpgate(t, platform, scope, 'sse', origin.url)

  const events: string[] = []
  let notify = () => {}
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = https.request({host: '127.0.0.1', port: platform.ports.edge!, servername: 'sse.mezu.localhost', path: '/sse', ca: platform.caPem, headers: {host: 'sse.mezu.localhost', accept: 'text/event-stream'}, agent: false}, resolve)
    req.on('error', reject)
    req.end()
  })
  t.teardown(() => res.destroy())
  t.is(res.statusCode, 200)
  t.is(res.headers['content-type'], 'text/event-stream')
  res.setEncoding('utf8')
  let buffered = ''
  res.on('data', (c: string) => {
    buffered += c
    let i
    while ((i = buffered.indexOf('\n\n')) >= 0) {
      events.push(buffered.slice(0, i).replace(/^data: /, ''))
      buffered = buffered.slice(i + 2)
      notify()
    }
  })
  const nextEvent = (n: number) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`event ${n} did not arrive`)), 10_000)
    notify = () => {
      if (events.length >= n) {
        clearTimeout(timer)
        resolve()
      }
    }
    notify()
  })
  await nextEvent(1)
  t.deepEqual(events, ['first'])
  for (const [i, data] of ['second', 'third'].entries()) {
    // Each event is sent only after the previous one arrived: nothing may be held back.
    const direct = await fetchText(`${origin.url}/sse-next?data=${data}`)
    t.is(direct, '1')
    await nextEvent(i + 2)
  }
  t.deepEqual(events, ['first', 'second', 'third'])
})

test('carries a WebSocket end to end and echoes text and binary messages', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'ws.mezu.localhost', service: 'ws'})
  await startWarpgate(t, platform, scope, 'ws', origin.url)

  const ws = new WebSocket(`wss://127.0.0.1:${platform.ports.edge}/ws`, {ca: platform.caPem, servername: 'ws.mezu.localhost', headers: {host: 'ws.mezu.localhost'}} as WebSocket.ClientOptions)
  t.teardown(() => ws.terminate())
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const received: Array<{data: string; binary: boolean}> = []
  const got = new Promise<void>((resolve) => ws.on('message', (data, binary) => {
    received.push({data: binary ? Buffer.from(data as Buffer).toString('hex') : data.toString(), binary})
    if (received.length === 3) resolve()
  }))
  ws.send('hello')
  ws.send(Buffer.from([0, 1, 2, 255]))
  ws.send('x'.repeat(200_000))
  await got
  t.deepEqual(received[0], {data: 'hello', binary: false})
  t.deepEqual(received[1], {data: '000102ff', binary: true})
  t.is(received[2].data.length, 200_000)
})

test('refuses a WebSocket to an unknown host with 404 before reaching any Warpgate', async (t) => {
  const platform = await startTestPlatform(t)
  const ws = new WebSocket(`wss://127.0.0.1:${platform.ports.edge}/ws`, {ca: platform.caPem, servername: 'nope.mezu.localhost', headers: {host: 'nope.mezu.localhost'}} as WebSocket.ClientOptions)
  const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)))
  t.is(status, 404)
})

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve(body))
    }).on('error', reject)
  })
}
