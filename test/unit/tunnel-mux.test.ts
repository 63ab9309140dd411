import {createHash, randomBytes} from 'node:crypto'
import {once} from 'node:events'
import net, {type AddressInfo} from 'node:net'
import test, {type ExecutionContext} from 'ava'
import {decodeFields, encodeFields, FLAG_END_STREAM, type FrameHeader, FrameParser, FrameType, MAX_FRAME_PAYLOAD_BYTES, ResetCode, writeFrameHeader} from '../../src/protocol/frames.js'
import {MuxConnection, type MuxOptions, type MuxStream, TUNNEL_PROTOCOL_VERSION} from '../../src/protocol/mux.js'

// The multiplexer over real loopback sockets (TLS is the tunnel listener's business, tested there).

async function socketPair(t: ExecutionContext): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection')
  const a = net.connect((server.address() as AddressInfo).port, '127.0.0.1')
  const [b] = (await accepted) as [net.Socket]
  server.close()
  t.teardown(() => {
    a.destroy()
    b.destroy()
  })
  return [a, b]
}

/** An edge and a Warpgate mux on two ends of one socket, hellos exchanged. */
async function pair(t: ExecutionContext, warpgate: Partial<MuxOptions> = {}, edge: Partial<MuxOptions> = {}) {
  const [a, b] = await socketPair(t)
  let edgeReady!: () => void
  const ready = new Promise<void>((r) => (edgeReady = r))
  const e = new MuxConnection(a, {role: 'edge', onHello: () => edgeReady(), ...edge})
  const w = new MuxConnection(b, {role: 'warpgate', ...warpgate})
  w.sendHello({who: 'warpgate'})
  e.sendHello({who: 'edge'})
  await ready
  return {e, w, a, b}
}

/** Echo service: answers 200 with the request body, consuming as it goes. */
function echo(s: MuxStream, head: string[]) {
  const chunks: Buffer[] = []
  const reply = () => {
    s.sendHead(['200', 'x-path', head[1]])
    s.end(Buffer.concat(chunks))
  }
  if (s.remoteEnded) return reply()
  s.onData = (c) => {
    chunks.push(Buffer.from(c))
    s.consumed(c.length)
  }
  s.onEnd = reply
}

/** Reads one response fully: head, body, how the stream closed. */
function collect(s: MuxStream): Promise<{head: string[]; body: Buffer; code: number | undefined; trailers?: string[]}> {
  return new Promise((resolve) => {
    let head: string[] = []
    let trailers: string[] | undefined
    const parts: Buffer[] = []
    s.onHead = (f) => (head = f)
    s.onData = (c) => {
      parts.push(Buffer.from(c))
      s.consumed(c.length)
    }
    s.onTrailers = (f) => (trailers = f)
    s.onClose = (code) => resolve({head, body: Buffer.concat(parts), code, trailers})
  })
}

test('frame parser reads frames split at every byte boundary, DATA piecewise and heads joined once', (t) => {
  const head = encodeFields(['GET', '/a', 'host.test', 'accept', '*/*'])
  const data = randomBytes(300)
  const buf = Buffer.alloc(20 + head.length + data.length)
  writeFrameHeader(buf, 0, head.length, FrameType.HEAD, 0, 1)
  head.copy(buf, 10)
  writeFrameHeader(buf, 10 + head.length, data.length, FrameType.DATA, FLAG_END_STREAM, 1)
  data.copy(buf, 20 + head.length)
  for (let cut = 1; cut < buf.length; cut++) {
    const frames: Array<[FrameHeader, string[]]> = []
    const got: Buffer[] = []
    let last = false
    const p = new FrameParser({frame: (h, pl) => frames.push([h, decodeFields(pl)]), data: (_h, c, l) => (got.push(Buffer.from(c)), (last = l))})
    p.push(buf.subarray(0, cut))
    p.push(buf.subarray(cut))
    t.deepEqual(frames.map(([h, f]) => [h.type, h.stream, f]), [[FrameType.HEAD, 1, ['GET', '/a', 'host.test', 'accept', '*/*']]], `cut at ${cut}`)
    t.true(Buffer.concat(got).equals(data) && last, `cut at ${cut}`)
  }
})

test('frame parser refuses unknown types and frames over the size limit', (t) => {
  const p = new FrameParser({frame: () => {}, data: () => {}})
  const h = Buffer.alloc(10)
  writeFrameHeader(h, 0, 0, 42, 0, 0)
  t.throws(() => p.push(h), {message: /unknown frame type 42/})
  const q = new FrameParser({frame: () => {}, data: () => {}})
  writeFrameHeader(h, 0, MAX_FRAME_PAYLOAD_BYTES + 1, FrameType.HEAD, 0, 1)
  t.throws(() => q.push(h), {message: /over the/})
})

test('a request and its response travel with heads, body, trailers and a clean close', async (t) => {
  const {e} = await pair(t, {
    onStream(s, head) {
      t.deepEqual(head, ['POST', '/upload', 'app.test', 'content-type', 'text/plain', 'x-multi', 'a', 'x-multi', 'b'])
      const parts: Buffer[] = []
      s.onData = (c) => (parts.push(Buffer.from(c)), s.consumed(c.length))
      s.onEnd = () => {
        s.sendHead(['201', 'x-len', String(Buffer.concat(parts).length)])
        s.write(Buffer.from('got '))
        s.write(Buffer.concat(parts))
        s.sendTrailers(['x-checksum', 'abc'])
      }
    },
  })
  const s = e.open(['POST', '/upload', 'app.test', 'content-type', 'text/plain', 'x-multi', 'a', 'x-multi', 'b'])
  const done = collect(s)
  s.write(Buffer.from('hello '))
  s.end(Buffer.from('world'))
  const r = await done
  t.deepEqual(r.head, ['201', 'x-len', '11'])
  t.is(r.body.toString(), 'got hello world')
  t.deepEqual(r.trailers, ['x-checksum', 'abc'])
  t.is(r.code, undefined)
  t.is(e.activeStreams, 0)
})

test('a receiver that does not consume stops the sender at one stream window; consuming lets the rest through', async (t) => {
  let server!: MuxStream
  const held: Buffer[] = []
  let received = 0
  let consume = false
  let oneWindow!: () => void
  let everything!: () => void
  const windowArrived = new Promise<void>((r) => (oneWindow = r))
  const allArrived = new Promise<void>((r) => (everything = r))
  const {e} = await pair(t, {
    onStream(s) {
      server = s
      s.onData = (c) => {
        received += c.length
        held.push(Buffer.from(c))
        if (consume) s.consumed(c.length)
        if (received === e.streamWindow) oneWindow()
        if (received === body.length) everything()
      }
    },
  })
  const body = randomBytes(3 * e.streamWindow)
  const s = e.open(['POST', '/', 'a.test'])
  let writable = 0
  s.onWritable = () => writable++
  t.false(s.write(body), 'the write waits for credit')
  await windowArrived
  // nothing more comes while nothing is consumed: a ping round trip proves the pipe is idle, not slow
  t.true(await e.ping(5000))
  t.is(received, e.streamWindow, 'exactly one window in flight')
  t.is(writable, 0)
  consume = true
  server.consumed(e.streamWindow)
  await allArrived
  t.true(Buffer.concat(held).equals(body))
  t.is(writable, 1, 'told once that it can write again')
})

test('body data that arrives before the service listens is held, in order, and its end follows it', async (t) => {
  let later!: () => void
  const {e} = await pair(t, {
    onStream(s) {
      // a gate checks the head asynchronously before anyone reads the body
      later = () => echo(s, ['POST', '/late'])
    },
  })
  const s = e.open(['POST', '/late', 'a.test'])
  const r = collect(s)
  s.write(Buffer.from('one '))
  s.end(Buffer.from('two'))
  t.true(await e.ping(5000), 'the body has crossed before the service listens')
  later()
  t.is((await r).body.toString(), 'one two')
})

test('streams the edge opened before the Warpgate\'s GOAWAY reached it are still served, and the edge opens none after it', async (t) => {
  let acked!: () => void
  const ack = new Promise<void>((r) => (acked = r))
  const {e, w} = await pair(t, {onStream: echo, onGoaway: (_c, _t, isAck) => isAck && acked()}, {onGoaway: () => e.goaway(ResetCode.NO_ERROR, '', true)})
  w.goaway(ResetCode.NO_ERROR, 'draining')
  // opened in the same turn: the two frames cross on the wire
  const crossing = e.open(['POST', '/crossing', 'a.test'])
  const r = collect(crossing)
  crossing.end(Buffer.from('still served'))
  const got = await r
  t.is(got.code, undefined, 'answered, not refused')
  t.is(got.body.toString(), 'still served')
  await ack
  t.false(e.canOpen, 'after the GOAWAY the edge takes no new streams here')
})

test('a window-exhausted slow stream does not stall other streams on the same connection', async (t) => {
  const {e} = await pair(t, {
    onStream(s, head) {
      if (head[1] === '/slow') {
        s.sendHead(['200'])
        s.write(randomBytes(4 * 1024 * 1024)) // more than the window: most of it waits for credit
        return
      }
      echo(s, head)
    },
  })
  const slow = e.open(['GET', '/slow', 'a.test'], FLAG_END_STREAM)
  let slowBytes = 0
  slow.onData = (c) => (slowBytes += c.length) // never consumed
  await new Promise<void>((resolve) => {
    const i = setInterval(() => slowBytes >= e.streamWindow && (clearInterval(i), resolve()), 2)
  })
  const fast = await Promise.all(Array.from({length: 50}, (_, i) => {
    const s = e.open(['POST', `/fast/${i}`, 'a.test'])
    const r = collect(s)
    s.end(Buffer.from(`body ${i}`))
    return r
  }))
  for (const [i, r] of fast.entries()) t.is(r.body.toString(), `body ${i}`)
  t.is(slowBytes, e.streamWindow, 'the slow stream stayed at its window')
  slow.reset()
})

test('1,000 concurrent streams on one connection each get their own answer', async (t) => {
  const {e} = await pair(t, {onStream: echo})
  const results = await Promise.all(Array.from({length: 1000}, (_, i) => {
    const s = e.open(['POST', `/s/${i}`, 'a.test'])
    const r = collect(s)
    s.end(Buffer.from(String(i).repeat(50)))
    return r
  }))
  for (const [i, r] of results.entries()) {
    t.is(r.head[2], `/s/${i}`)
    t.is(r.body.toString(), String(i).repeat(50))
  }
  t.is(e.activeStreams, 0)
  t.true(e.stats.writes < e.stats.frames / 10, `frames are batched into few writes (${e.stats.frames} frames, ${e.stats.writes} writes)`)
})

test('32 MiB each way through one stream arrive intact (checksums match)', async (t) => {
  const {e} = await pair(t, {
    onStream(s) {
      const hash = createHash('sha256')
      s.onData = (c) => (hash.update(c), s.consumed(c.length))
      s.onEnd = () => {
        s.sendHead(['200', 'x-sha', hash.digest('hex')])
        const out = randomBytes(32 * 1024 * 1024)
        s.write(out)
        s.sendTrailers(['x-sha', createHash('sha256').update(out).digest('hex')])
      }
    },
  })
  const up = randomBytes(32 * 1024 * 1024)
  const s = e.open(['PUT', '/big', 'a.test'])
  const r = collect(s)
  s.end(up)
  const got = await r
  t.is(got.head[2], createHash('sha256').update(up).digest('hex'))
  t.is(got.body.length, 32 * 1024 * 1024)
  t.is(got.trailers?.[1], createHash('sha256').update(got.body).digest('hex'))
})

test('a reset stream tells the other side with its code', async (t) => {
  let closedWith: number | undefined = -1
  const served = new Promise<void>((resolve) => {
    void pair(t, {
      onStream(s) {
        s.onClose = (code) => {
          closedWith = code
          resolve()
        }
      },
    }).then(({e}) => {
      const s = e.open(['POST', '/', 'a.test'])
      s.write(randomBytes(100_000))
      setImmediate(() => s.reset(ResetCode.CANCEL))
    })
  })
  await served
  t.is(closedWith, ResetCode.CANCEL)
})

test('streams cut with unconsumed bytes give their connection credit back, so later streams never stall', async (t) => {
  const {e} = await pair(t, {
    onStream(s) {
      let got = 0
      s.onData = (c) => {
        got += c.length // never consumed
        if (got === e.streamWindow) s.reset(ResetCode.CANCEL)
      }
    },
  })
  // 40 windows in all: far past the connection window, which only returned credit can refill
  for (let i = 0; i < 40; i++) {
    const s = e.open(['POST', '/', 'a.test'])
    const closed = new Promise<number | undefined>((resolve) => (s.onClose = resolve))
    s.write(randomBytes(e.streamWindow))
    t.is(await closed, ResetCode.CANCEL, `stream ${i}`)
  }
  t.true(40 * e.streamWindow > e.connectionWindow)
})

test('a peer that sends past its window loses the connection with a flow-control GOAWAY', async (t) => {
  const [a, b] = await socketPair(t)
  let closeError: Error | undefined
  const closed = new Promise<void>((resolve) => {
    // the service never consumes, so no credit goes back
    const w = new MuxConnection(b, {role: 'warpgate', onStream: (s) => (s.onData = () => {}), onClose: (err) => ((closeError = err), resolve())})
    w.sendHello({})
  })
  // a hand-made edge that ignores credit: HELLO, HEAD, then 2 MiB of DATA on a 1 MiB window
  const frames: Buffer[] = []
  const add = (type: number, flags: number, stream: number, payload: Buffer) => {
    const h = Buffer.alloc(10)
    writeFrameHeader(h, 0, payload.length, type, flags, stream)
    frames.push(h, payload)
  }
  add(FrameType.HELLO, 0, 0, Buffer.from(JSON.stringify({protocol: TUNNEL_PROTOCOL_VERSION})))
  add(FrameType.HEAD, 0, 1, encodeFields(['POST', '/', 'a.test']))
  for (let i = 0; i < 8; i++) add(FrameType.DATA, 0, 1, Buffer.alloc(256 * 1024))
  const goaway = new Promise<string>((resolve) => {
    let seen = Buffer.alloc(0)
    a.on('data', (c: Buffer) => {
      seen = Buffer.concat([seen, c])
      const at = seen.indexOf('sent past')
      if (at >= 0) resolve(seen.subarray(at).toString())
    })
  })
  a.write(Buffer.concat(frames))
  await closed
  t.regex(closeError?.message ?? '', /sent past stream 1's window/)
  t.regex(await goaway, /sent past stream 1's window/)
})

test('random and truncated frames never throw out of the mux: they close that connection only', async (t) => {
  for (let round = 0; round < 60; round++) {
    const [a, b] = await socketPair(t)
    const closed = new Promise<void>((resolve) => {
      const w = new MuxConnection(b, {role: round % 2 ? 'warpgate' : 'edge', onStream: (s) => s.reset(), onClose: () => resolve()})
      w.sendHello({})
    })
    const hello = Buffer.alloc(10)
    const hp = Buffer.from(JSON.stringify({protocol: TUNNEL_PROTOCOL_VERSION}))
    writeFrameHeader(hello, 0, hp.length, FrameType.HELLO, 0, 0)
    // half the rounds pass a valid HELLO first, so the garbage reaches the stream logic
    a.write(round % 4 < 2 ? Buffer.concat([hello, hp, randomBytes(1 + (round * 37) % 400)]) : randomBytes(1 + round * 13))
    // truncated garbage leaves the parser waiting: the peer hanging up must still close cleanly
    setTimeout(() => a.end(), 20)
    await closed
  }
  t.pass('60 connections of garbage, each closed, none crashed the process')
})

test('a HELLO with another protocol version is refused with a GOAWAY naming both versions', async (t) => {
  const [a, b] = await socketPair(t)
  let refusal = ''
  const e = new MuxConnection(a, {role: 'edge', onClose: () => {}})
  const w = new MuxConnection(b, {role: 'warpgate', onGoaway: (_code, text) => (refusal = text), onClose: () => {}})
  // the Warpgate claims a future version by hand; the edge answers
  const p = Buffer.from(JSON.stringify({protocol: 99}))
  const h = Buffer.alloc(10)
  writeFrameHeader(h, 0, p.length, FrameType.HELLO, 0, 0)
  b.write(Buffer.concat([h, p]))
  e.sendHello({})
  await new Promise<void>((resolve) => b.once('close', () => resolve()))
  t.is(refusal, `tunnel protocol version mismatch: the edge speaks ${TUNNEL_PROTOCOL_VERSION}, the Warpgate 99`)
  t.true(e.isClosed)
  t.true(w.isClosed)
})
