import type {Duplex} from 'node:stream'
import {
  decodeFields, encodeFields, FLAG_ACK, FLAG_END_STREAM, FLAG_INFO, FLAG_TRAILERS, FRAME_HEADER_BYTES, FrameError, type FrameHeader, FrameParser, FrameType,
  type HeadFields, MAX_FRAME_PAYLOAD_BYTES, MAX_HEAD_BYTES, ResetCode, writeFrameHeader,
} from './frames.js'

/** The tunnel protocol version each side names in its HELLO; a mismatch is refused naming both. */
export const TUNNEL_PROTOCOL_VERSION = 2
/** Bytes one stream may have in flight in each direction before the receiver returns credit. */
export const STREAM_WINDOW_BYTES = 1024 * 1024
/** Bytes all streams of one connection may have in flight in each direction together. */
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024
/** Streams one connection carries at once. */
export const MAX_STREAMS_PER_CONNECTION = 1000

/** Payloads up to this size are copied into the write slab; larger ones are written by reference. */
const COPY_BELOW_BYTES = 2048
const SLAB_BYTES = 64 * 1024
const MAX_STREAM_ID = 0x7fff_ffff

/** Which end of the tunnel: the edge opens streams, the Warpgate serves them. */
export type MuxRole = 'edge' | 'warpgate'

export interface MuxOptions {
  role: MuxRole
  streamWindow?: number
  connectionWindow?: number
  maxStreams?: number
  /** Warpgate side: a new stream with its request head */
  onStream?(stream: MuxStream, head: HeadFields, flags: number): void
  /** the peer's HELLO, after its protocol version was checked */
  onHello?(hello: Record<string, unknown>): void
  /** GOAWAY received (drain), or its acknowledgement */
  onGoaway?(code: number, text: string, ack: boolean): void
  onControl?(msg: Record<string, unknown>): void
  /** the last open stream finished (a drain waits for this) */
  onIdle?(): void
  /** the connection is gone; `error` says why when it was not a clean close */
  onClose?(error?: Error): void
}

/**
 * One stream of a tunnel connection: callbacks instead of an EventEmitter, since the edge and the
 * Warpgate make one per request. Receiving: call consumed(n) once the next hop accepted n bytes;
 * only then does the sender get credit back, so memory stays bounded by streams × window.
 */
export class MuxStream {
  /** edge: a response head (`FLAG_INFO` set for a 1xx) */
  onHead: ((fields: HeadFields, flags: number) => void) | null = null
  private dataHandler: ((chunk: Buffer) => void) | null = null
  /** data (and an end or trailers) that arrived before anyone listened, e.g. while a gate checks the head */
  private held: Buffer[] | null = null
  private heldEnd: HeadFields | true | null = null
  get onData(): ((chunk: Buffer) => void) | null {
    return this.dataHandler
  }

  /** Body bytes as they arrive; what came before the handler was set is delivered to it first, in order. */
  set onData(fn: ((chunk: Buffer) => void) | null) {
    this.dataHandler = fn
    if (!fn || !this.held) return
    const held = this.held
    this.held = null
    for (const c of held) {
      if (this.dataHandler !== fn || this.closed) return
      fn(c)
    }
    const end = this.heldEnd
    this.heldEnd = null
    // after the caller's synchronous set-up, which sets onEnd/onTrailers after onData
    if (end) queueMicrotask(() => (end === true ? this.remoteEnd() : this.receiveTrailers(end)))
  }

  /** Data from the connection: to the handler, or held until there is one. */
  receive(chunk: Buffer): void {
    if (this.dataHandler) this.dataHandler(chunk)
    else (this.held ??= []).push(chunk)
  }

  receiveTrailers(fields: HeadFields): void {
    if (this.held) {
      this.heldEnd = fields
      return
    }
    this.onTrailers?.(fields)
    this.remoteEnd()
  }

  /** the peer finished its side (after the last data or the trailers) */
  onEnd: (() => void) | null = null
  onTrailers: ((fields: HeadFields) => void) | null = null
  /** the stream is over: `code` undefined when both sides ended cleanly, else why it was cut */
  onClose: ((code: number | undefined) => void) | null = null
  /** a write() that returned false can go on */
  onWritable: (() => void) | null = null
  /** called once after a socket read that delivered something to this stream (batching hook) */
  onReadDone: (() => void) | null = null

  localEnded = false
  remoteEnded = false
  closed = false
  headReceived = false
  /** the close code: undefined while open or after a clean end */
  code: number | undefined
  sendCredit: number
  /** bytes the peer may still send before it must wait for credit */
  recvAllowance: number
  private recvUnacked = 0
  /** received and handed to onData, not yet consumed */
  recvBuffered = 0
  pendingOut: Buffer[] | null = null
  private pendingEnd = false
  private pendingTrailers: HeadFields | null = null
  private wantWritable = false
  touched = false

  constructor(readonly id: number, private readonly conn: MuxConnection) {
    this.sendCredit = conn.streamWindow
    this.recvAllowance = conn.streamWindow
  }

  /** Sends a head: the request (edge), the response (Warpgate; FLAG_INFO for 1xx). */
  sendHead(fields: HeadFields, flags = 0): void {
    if (this.closed || this.localEnded) return
    const payload = encodeFields(fields)
    if (payload.length > MAX_HEAD_BYTES) throw new FrameError(`head of ${payload.length} bytes is over the ${MAX_HEAD_BYTES}-byte limit`)
    this.conn.frame(FrameType.HEAD, flags, this.id, payload)
    if (flags & FLAG_END_STREAM) this.ended()
  }

  /** Queues body bytes; false when they wait for credit (then wait for onWritable). */
  write(chunk: Buffer): boolean {
    if (this.closed || this.localEnded) return false
    if (this.pendingOut === null) {
      const n = Math.min(chunk.length, this.sendCredit, this.conn.sendCredit)
      if (n === chunk.length) {
        this.conn.sendData(this, chunk, 0)
        return true
      }
      if (n > 0) {
        this.conn.sendData(this, chunk.subarray(0, n), 0)
        chunk = chunk.subarray(n)
      }
      this.pendingOut = [chunk]
      this.conn.block(this)
    } else {
      this.pendingOut.push(chunk)
    }
    this.wantWritable = true
    return false
  }

  /** Ends this side, with a last chunk if given: one frame when credit allows. */
  end(chunk?: Buffer): void {
    if (this.closed || this.localEnded) return
    if (chunk && chunk.length) {
      if (this.pendingOut === null && chunk.length <= this.sendCredit && chunk.length <= this.conn.sendCredit) {
        this.conn.sendData(this, chunk, FLAG_END_STREAM)
        return this.ended()
      }
      this.write(chunk)
    }
    if (this.pendingOut !== null) {
      this.pendingEnd = true
      return
    }
    this.conn.frame(FrameType.DATA, FLAG_END_STREAM, this.id)
    this.ended()
  }

  /** Trailers end this side. */
  sendTrailers(fields: HeadFields): void {
    if (this.closed || this.localEnded) return
    if (this.pendingOut !== null) {
      // behind a body still waiting for credit: they follow it
      this.pendingTrailers = fields
      this.pendingEnd = true
      return
    }
    this.conn.frame(FrameType.HEAD, FLAG_TRAILERS | FLAG_END_STREAM, this.id, encodeFields(fields))
    this.ended()
  }

  /** Cuts the stream both ways. Safe to call twice. */
  reset(code: number = ResetCode.CANCEL): void {
    if (this.closed) return
    const payload = Buffer.allocUnsafe(4)
    payload.writeUInt32BE(code)
    this.conn.frame(FrameType.RST, 0, this.id, payload)
    this.finish(code)
  }

  /** The next hop accepted n bytes of what onData delivered: give the sender credit back. */
  consumed(n: number): void {
    // after close, forget() already gave the connection back everything not consumed
    if (n <= 0 || this.closed) return
    this.recvBuffered -= n
    this.conn.consumed(n)
    if (this.closed || this.remoteEnded) return
    this.recvUnacked += n
    if (this.recvUnacked >= this.conn.streamWindow >> 2) {
      this.recvAllowance += this.recvUnacked
      this.conn.window(this.id, this.recvUnacked)
      this.recvUnacked = 0
    }
  }

  /** More credit arrived: send what waited, then tell the writer. */
  flushPending(): void {
    const q = this.pendingOut
    if (q === null || this.closed) return
    while (q.length) {
      const n = Math.min(q[0].length, this.sendCredit, this.conn.sendCredit)
      if (n === 0) return
      if (n === q[0].length) {
        const chunk = q.shift()!
        this.conn.sendData(this, chunk, q.length === 0 && this.pendingEnd && !this.pendingTrailers ? FLAG_END_STREAM : 0)
      } else {
        this.conn.sendData(this, q[0].subarray(0, n), 0)
        q[0] = q[0].subarray(n)
      }
    }
    this.pendingOut = null
    this.conn.unblock(this)
    if (this.pendingEnd) {
      this.pendingEnd = false
      if (this.pendingTrailers) this.conn.frame(FrameType.HEAD, FLAG_TRAILERS | FLAG_END_STREAM, this.id, encodeFields(this.pendingTrailers))
      this.pendingTrailers = null
      this.ended()
      return
    }
    if (this.wantWritable) {
      this.wantWritable = false
      this.onWritable?.()
    }
  }

  private ended(): void {
    this.localEnded = true
    if (this.remoteEnded) this.finish(undefined)
  }

  /** The peer ended its side. */
  remoteEnd(): void {
    if (this.held) {
      this.heldEnd ??= true
      return
    }
    if (this.remoteEnded || this.closed) return
    this.remoteEnded = true
    this.onEnd?.()
    if (this.localEnded && !this.closed) this.finish(undefined)
  }

  /** Both sides done or cut: forget the stream; bytes never consumed go back to the connection. */
  finish(code: number | undefined): void {
    if (this.closed) return
    this.closed = true
    this.code = code
    if (this.pendingOut) {
      this.pendingOut = null
      this.conn.unblock(this)
    }
    this.conn.forget(this)
    const onClose = this.onClose
    this.held = this.heldEnd = null
    this.onHead = this.dataHandler = this.onEnd = this.onTrailers = this.onWritable = this.onClose = this.onReadDone = null
    onClose?.(code)
  }
}

/**
 * The multiplexer over one TLS connection (DESIGN "Tunnel protocol"): frames are queued and written
 * once per event-loop turn (setImmediate), small ones copied into a slab so a turn's frames leave as
 * a few buffers in one corked write; frames are parsed in place. Credit per stream and per
 * connection in both directions; a peer that sends past its credit loses the connection.
 */
export class MuxConnection {
  readonly streamWindow: number
  readonly connectionWindow: number
  readonly maxStreams: number
  /** bytes all streams may still send before the peer returns connection credit */
  sendCredit: number
  private recvAllowance: number
  private recvUnacked = 0
  private readonly streams = new Map<number, MuxStream>()
  private readonly blocked = new Set<MuxStream>()
  private nextId = 1
  private lastRemoteId = 0
  private readonly parser: FrameParser
  private out: Buffer[] = []
  private slab = Buffer.allocUnsafe(SLAB_BYTES)
  private slabPos = 0
  private segStart = 0
  private scheduled = false
  private touched: MuxStream[] = []
  private pings = new Map<string, (answered: boolean) => void>()
  private closeError?: Error
  isClosed = false
  /** a GOAWAY was received: open no new streams here (edge) */
  peerGoaway = false
  helloReceived = false
  /** frames queued and socket writes made: how well writes are batched (tested in tunnel-mux) */
  stats = {frames: 0, writes: 0}

  constructor(readonly socket: Duplex, private readonly opts: MuxOptions) {
    this.streamWindow = opts.streamWindow ?? STREAM_WINDOW_BYTES
    this.connectionWindow = opts.connectionWindow ?? CONNECTION_WINDOW_BYTES
    this.maxStreams = opts.maxStreams ?? MAX_STREAMS_PER_CONNECTION
    this.sendCredit = this.connectionWindow
    this.recvAllowance = this.connectionWindow
    this.parser = new FrameParser({frame: (h, p) => this.onFrame(h, p), data: (h, c, last) => this.onDataFrame(h, c, last)})
    socket.on('data', (chunk: Buffer) => this.read(chunk))
    socket.on('error', (e: Error) => (this.closeError ??= e))
    socket.on('close', () => this.closed())
  }

  /** Streams open now. */
  get activeStreams(): number {
    return this.streams.size
  }

  /** Can the edge open another stream here? */
  get canOpen(): boolean {
    return !this.isClosed && !this.peerGoaway && this.helloReceived && this.streams.size < this.maxStreams && this.nextId <= MAX_STREAM_ID
  }

  /** Edge: opens a stream with its request head. */
  open(head: HeadFields, flags = 0): MuxStream {
    if (this.opts.role !== 'edge') throw new Error('only the edge opens streams')
    if (!this.canOpen) throw new Error('the tunnel connection takes no new streams')
    const s = new MuxStream(this.nextId, this)
    this.nextId += 1
    this.streams.set(s.id, s)
    s.sendHead(head, flags)
    return s
  }

  sendHello(hello: Record<string, unknown>): void {
    this.frame(FrameType.HELLO, 0, 0, Buffer.from(JSON.stringify({...hello, protocol: TUNNEL_PROTOCOL_VERSION})))
  }

  sendControl(msg: Record<string, unknown>): void {
    if (!this.isClosed) this.frame(FrameType.CONTROL, 0, 0, Buffer.from(JSON.stringify(msg)))
  }

  /** Drain (the peer opens no new streams once it has read this), or its acknowledgement with `ack`. */
  goaway(code: number = ResetCode.NO_ERROR, text = '', ack = false): void {
    if (this.isClosed) return
    const t = Buffer.from(text.slice(0, 1000))
    const payload = Buffer.allocUnsafe(4 + t.length)
    payload.writeUInt32BE(code)
    t.copy(payload, 4)
    this.frame(FrameType.GOAWAY, ack ? FLAG_ACK : 0, 0, payload)
  }

  /** Resolves true when the peer answers within `timeoutMs`, false otherwise. */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(false)
    const data = Buffer.allocUnsafe(8)
    data.writeDoubleBE(Math.random())
    const key = data.toString('hex')
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pings.delete(key)
        resolve(false)
      }, timeoutMs)
      timer.unref()
      this.pings.set(key, (answered) => {
        clearTimeout(timer)
        resolve(answered)
      })
      this.frame(FrameType.PING, 0, 0, data)
    })
  }

  /** Writes what is queued, then closes the socket. */
  end(): void {
    if (this.isClosed) return
    this.flush()
    this.socket.end()
  }

  /** Closes now: every open stream is cut. Safe to call twice. */
  destroy(error?: Error): void {
    if (error) this.closeError ??= error
    this.socket.destroy()
    this.closed()
  }

  // ---- sending

  /** Queues one frame; small payloads are copied into the slab, big ones kept by reference. */
  frame(type: number, flags: number, stream: number, payload?: Buffer): void {
    if (this.isClosed) return
    const len = payload ? payload.length : 0
    const copy = len <= COPY_BELOW_BYTES
    const need = FRAME_HEADER_BYTES + (copy ? len : 0)
    if (SLAB_BYTES - this.slabPos < need) {
      this.cut()
      this.slab = Buffer.allocUnsafe(SLAB_BYTES)
      this.slabPos = this.segStart = 0
    }
    writeFrameHeader(this.slab, this.slabPos, len, type, flags, stream)
    this.slabPos += FRAME_HEADER_BYTES
    if (payload && len) {
      if (copy) {
        payload.copy(this.slab, this.slabPos)
        this.slabPos += len
      } else {
        this.cut()
        this.out.push(payload)
      }
    }
    this.stats.frames++
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** DATA for `s`, split at the frame limit; spends credit. */
  sendData(s: MuxStream, chunk: Buffer, flags: number): void {
    s.sendCredit -= chunk.length
    this.sendCredit -= chunk.length
    let at = 0
    while (chunk.length - at > MAX_FRAME_PAYLOAD_BYTES) {
      this.frame(FrameType.DATA, 0, s.id, chunk.subarray(at, at + MAX_FRAME_PAYLOAD_BYTES))
      at += MAX_FRAME_PAYLOAD_BYTES
    }
    this.frame(FrameType.DATA, flags, s.id, at === 0 ? chunk : chunk.subarray(at))
  }

  window(stream: number, increment: number): void {
    const p = Buffer.allocUnsafe(4)
    p.writeUInt32BE(increment)
    this.frame(FrameType.WINDOW, 0, stream, p)
  }

  /** Received bytes consumed by the app: return connection credit in quarters of the window. */
  consumed(n: number): void {
    this.recvUnacked += n
    if (this.recvUnacked >= this.connectionWindow >> 2) {
      this.recvAllowance += this.recvUnacked
      this.window(0, this.recvUnacked)
      this.recvUnacked = 0
    }
  }

  block(s: MuxStream): void {
    this.blocked.add(s)
  }

  unblock(s: MuxStream): void {
    this.blocked.delete(s)
  }

  forget(s: MuxStream): void {
    this.streams.delete(s.id)
    if (this.streams.size === 0) this.opts.onIdle?.()
    // bytes the app never consumed still count against the connection window: give them back
    if (s.recvBuffered > 0) {
      const n = s.recvBuffered
      s.recvBuffered = 0
      this.consumed(n)
    }
  }

  private cut(): void {
    if (this.slabPos > this.segStart) this.out.push(this.slab.subarray(this.segStart, this.slabPos))
    this.segStart = this.slabPos
  }

  private flush(): void {
    this.scheduled = false
    if (this.isClosed) return
    this.cut()
    const out = this.out
    if (out.length === 0) return
    this.out = []
    this.stats.writes++
    if (out.length === 1) {
      this.socket.write(out[0])
      return
    }
    this.socket.cork()
    for (const b of out) this.socket.write(b)
    this.socket.uncork()
  }

  // ---- receiving

  private read(chunk: Buffer): void {
    try {
      this.parser.push(chunk)
    } catch (error) {
      return this.fail(error as Error)
    }
    const touched = this.touched
    if (touched.length === 0) return
    this.touched = []
    for (const s of touched) {
      s.touched = false
      s.onReadDone?.()
    }
  }

  /** The peer broke the protocol: tell it why (best effort) and close. */
  private fail(error: Error): void {
    if (this.isClosed) return
    const code = error instanceof FrameError ? error.code : ResetCode.INTERNAL_ERROR
    this.goaway(code, error.message)
    this.flush()
    this.destroy(error)
  }

  private touch(s: MuxStream): void {
    if (s.touched || !s.onReadDone) return
    s.touched = true
    this.touched.push(s)
  }

  private onDataFrame(h: FrameHeader, chunk: Buffer, last: boolean): void {
    const n = chunk.length
    this.recvAllowance -= n
    if (this.recvAllowance < 0) throw new FrameError('the peer sent past the connection window', ResetCode.FLOW_CONTROL_ERROR)
    const s = this.streams.get(h.stream)
    if (!s || s.remoteEnded) {
      if (h.stream === 0 || h.stream > this.highestId()) throw new FrameError(`DATA on stream ${h.stream}, which was never opened`)
      // a stream closed here while its data was in flight: the connection credit comes back
      this.consumed(n)
      return
    }
    s.recvAllowance -= n
    if (s.recvAllowance < 0) throw new FrameError(`the peer sent past stream ${s.id}'s window`, ResetCode.FLOW_CONTROL_ERROR)
    s.recvBuffered += n
    if (n) s.receive(chunk)
    if (last && h.flags & FLAG_END_STREAM) s.remoteEnd()
    this.touch(s)
  }

  private highestId(): number {
    return this.opts.role === 'edge' ? this.nextId - 1 : this.lastRemoteId
  }

  private onFrame(h: FrameHeader, payload: Buffer): void {
    switch (h.type) {
      case FrameType.HEAD:
        return this.onHeadFrame(h, payload)
      case FrameType.WINDOW: {
        if (payload.length !== 4) throw new FrameError('WINDOW payload must be 4 bytes')
        const inc = payload.readUInt32BE(0)
        if (inc === 0 || inc > MAX_STREAM_ID) throw new FrameError(`WINDOW increment ${inc} is out of range`)
        if (h.stream === 0) {
          this.sendCredit += inc
          if (this.sendCredit > 2 * MAX_STREAM_ID) throw new FrameError('connection credit overflow', ResetCode.FLOW_CONTROL_ERROR)
          for (const s of [...this.blocked]) {
            s.flushPending()
            if (this.sendCredit <= 0) break
          }
          return
        }
        const s = this.streams.get(h.stream)
        if (!s) return
        s.sendCredit += inc
        if (s.sendCredit > 2 * MAX_STREAM_ID) throw new FrameError('stream credit overflow', ResetCode.FLOW_CONTROL_ERROR)
        s.flushPending()
        return
      }
      case FrameType.RST: {
        if (payload.length !== 4 || h.stream === 0) throw new FrameError('RST needs a stream and a 4-byte code')
        this.streams.get(h.stream)?.finish(payload.readUInt32BE(0))
        return
      }
      case FrameType.PING: {
        if (payload.length !== 8 || h.stream !== 0) throw new FrameError('PING needs 8 bytes on stream 0')
        if (h.flags & FLAG_ACK) {
          const key = payload.toString('hex')
          const done = this.pings.get(key)
          this.pings.delete(key)
          done?.(true)
        } else {
          this.frame(FrameType.PING, FLAG_ACK, 0, Buffer.from(payload))
        }
        return
      }
      case FrameType.GOAWAY: {
        if (payload.length < 4 || h.stream !== 0) throw new FrameError('GOAWAY needs a 4-byte code on stream 0')
        const ack = (h.flags & FLAG_ACK) !== 0
        if (!ack) this.peerGoaway = true
        this.opts.onGoaway?.(payload.readUInt32BE(0), payload.subarray(4).toString('utf8'), ack)
        return
      }
      case FrameType.HELLO: {
        if (h.stream !== 0 || this.helloReceived) throw new FrameError('HELLO comes once, on stream 0')
        const hello = parseJson(payload, 'HELLO')
        const version = hello.protocol
        if (version !== TUNNEL_PROTOCOL_VERSION) {
          const mine = this.opts.role === 'edge' ? 'the edge' : 'this Warpgate'
          const theirs = this.opts.role === 'edge' ? 'the Warpgate' : 'the edge'
          throw new FrameError(`tunnel protocol version mismatch: ${mine} speaks ${TUNNEL_PROTOCOL_VERSION}, ${theirs} ${JSON.stringify(version ?? null)}`, ResetCode.VERSION_MISMATCH)
        }
        this.helloReceived = true
        this.opts.onHello?.(hello)
        return
      }
      case FrameType.CONTROL:
        if (h.stream !== 0) throw new FrameError('CONTROL belongs on stream 0')
        this.opts.onControl?.(parseJson(payload, 'CONTROL'))
        return
      default:
        throw new FrameError(`unexpected frame type ${h.type}`)
    }
  }

  private onHeadFrame(h: FrameHeader, payload: Buffer): void {
    if (h.stream === 0) throw new FrameError('HEAD on stream 0')
    if (!this.helloReceived) throw new FrameError('HEAD before HELLO')
    if (payload.length > MAX_HEAD_BYTES) throw new FrameError(`head of ${payload.length} bytes is over the ${MAX_HEAD_BYTES}-byte limit`)
    let s = this.streams.get(h.stream)
    if (this.opts.role === 'warpgate' && !s) {
      if (h.stream <= this.lastRemoteId) return // a stream this side already closed
      this.lastRemoteId = h.stream
      s = new MuxStream(h.stream, this)
      // After its own GOAWAY the Warpgate still serves what arrives: the edge may have opened those
      // streams before the GOAWAY reached it, and its acknowledgement marks the last of them.
      if (this.streams.size >= this.maxStreams) {
        this.streams.set(s.id, s)
        return s.reset(ResetCode.REFUSED_STREAM)
      }
      this.streams.set(s.id, s)
      s.headReceived = true
      const fields = decodeFields(payload)
      if (h.flags & FLAG_END_STREAM) s.remoteEnded = true
      this.opts.onStream?.(s, fields, h.flags)
      return
    }
    if (!s) {
      if (h.stream > this.highestId()) throw new FrameError(`HEAD on stream ${h.stream}, which was never opened`)
      return
    }
    if (h.flags & FLAG_TRAILERS) {
      s.receiveTrailers(decodeFields(payload))
      return
    }
    if (this.opts.role === 'warpgate') throw new FrameError(`a second request head on stream ${h.stream}`)
    if (s.headReceived && !(h.flags & FLAG_INFO)) throw new FrameError(`a second response head on stream ${h.stream}`)
    if (!(h.flags & FLAG_INFO)) s.headReceived = true
    s.onHead?.(decodeFields(payload), h.flags)
    if (h.flags & FLAG_END_STREAM) s.remoteEnd()
    this.touch(s)
  }

  private closed(): void {
    if (this.isClosed) return
    this.isClosed = true
    this.out = []
    for (const done of this.pings.values()) done(false)
    this.pings.clear()
    for (const s of [...this.streams.values()]) s.finish(ResetCode.INTERNAL_ERROR)
    this.opts.onClose?.(this.closeError)
  }
}

function parseJson(payload: Buffer, what: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(payload.toString('utf8'))
  } catch {
    throw new FrameError(`${what} is not JSON`)
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new FrameError(`${what} is not a JSON object`)
  return v as Record<string, unknown>
}
