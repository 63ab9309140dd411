import {EventEmitter} from 'node:events'
import {connect, type TLSSocket} from 'node:tls'

/** HTTP/2 frame types and codes a raw client needs (RFC 9113 §6, §7). */
export const FRAME = {DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8} as const
export const FLAG = {END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4} as const
export const SETTING = {MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4} as const
export const ERROR_CODE = {NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8, REFUSED_STREAM: 7, ENHANCE_YOUR_CALM: 0xb} as const

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')

export interface Frame {
  type: number
  flags: number
  streamId: number
  payload: Buffer
}

/**
 * A hand-driven HTTP/2 client over TLS (platform CA pinned, ALPN h2) that sends exactly the
 * frames a test writes, as abusive clients do: streams past the advertised limit, HEADERS and
 * RST_STREAM back to back, never a WINDOW_UPDATE unless asked. It decodes frame headers only
 * (no HPACK decoding): tests look at frame types, stream ids, settings and error codes.
 */
export class RawH2 extends EventEmitter<{frame: [Frame]}> {
  readonly socket: TLSSocket
  readonly frames: Frame[] = []
  /** resolves when the socket closed (the edge or the test ended it) */
  readonly closed: Promise<void>
  /** the edge's first SETTINGS frame, as id → value */
  readonly serverSettings: Promise<Map<number, number>>
  private buffered: Buffer = Buffer.alloc(0)

  constructor(port: number, caPem: string, servername: string) {
    super()
    // Tests wait on many frames at once.
    this.setMaxListeners(0)
    this.socket = connect({host: '127.0.0.1', port, servername, ca: caPem, ALPNProtocols: ['h2']})
    this.socket.setMaxListeners(0)
    this.socket.on('error', () => {})
    this.socket.on('data', (chunk: Buffer) => this.read(chunk))
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()))
    this.serverSettings = this.next((f) => f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK), 'the edge\'s SETTINGS').then((f) => {
      const out = new Map<number, number>()
      for (let i = 0; i + 6 <= f.payload.length; i += 6) out.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2))
      return out
    })
  }

  /** Resolves once the TLS handshake is done and h2 was agreed. */
  async ready(): Promise<void> {
    if (!this.socket.alpnProtocol) await new Promise<void>((resolve, reject) => {
      this.socket.once('secureConnect', () => resolve())
      this.socket.once('close', () => reject(new Error('the edge closed the connection during the handshake')))
    })
    if (this.socket.alpnProtocol !== 'h2') throw new Error(`ALPN gave ${String(this.socket.alpnProtocol)}, not h2`)
  }

  /** The connection preface and an empty SETTINGS frame (all defaults: 64 KiB windows). */
  preface(): Buffer {
    return Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))])
  }

  send(...frames: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(frames))
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3)
      if (this.buffered.length < 9 + length) break
      const f: Frame = {type: this.buffered[3]!, flags: this.buffered[4]!, streamId: this.buffered.readUInt32BE(5) & 0x7fffffff, payload: this.buffered.subarray(9, 9 + length)}
      this.buffered = this.buffered.subarray(9 + length)
      this.frames.push(f)
      this.emit('frame', f)
    }
  }

  /** The first frame (received so far or later) that matches, or a rejection at the deadline or on close. */
  next(match: (f: Frame) => boolean, what: string, ms = 10_000): Promise<Frame> {
    const seen = this.frames.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const done = (err?: Error, f?: Frame) => {
        clearTimeout(timer)
        this.off('frame', onFrame)
        this.socket.off('close', onClose)
        if (err) reject(err)
        else resolve(f!)
      }
      const onFrame = (f: Frame) => {
        if (match(f)) done(undefined, f)
      }
      const onClose = () => done(new Error(`the connection closed before ${what}`))
      const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
      this.on('frame', onFrame)
      this.socket.once('close', onClose)
    })
  }

  /** RST_STREAM error codes the edge sent, by stream id. */
  resets(): Map<number, number> {
    return new Map(this.frames.filter((f) => f.type === FRAME.RST_STREAM).map((f) => [f.streamId, f.payload.readUInt32BE(0)]))
  }

  /** The error code of the edge's GOAWAY, if it sent one. */
  goawayCode(): number | undefined {
    const g = this.frames.find((f) => f.type === FRAME.GOAWAY)
    return g ? g.payload.readUInt32BE(4) : undefined
  }

  destroy(): void {
    this.socket.destroy()
  }
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9)
  head.writeUIntBE(payload.length, 0, 3)
  head[3] = type
  head[4] = flags
  head.writeUInt32BE(streamId, 5)
  return Buffer.concat([head, payload])
}

export function settingsAck(): Buffer {
  return frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0))
}

/** A request HEADERS frame; the block uses HPACK literals without indexing (no table, no Huffman). */
export function headersFrame(streamId: number, headers: Array<[string, string]>, endStream: boolean): Buffer {
  const block = Buffer.concat(headers.map(([name, value]) => Buffer.concat([Buffer.from([0]), hpackString(name), hpackString(value)])))
  return frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), streamId, block)
}

/** The usual request headers for `method path` on `authority`. */
export function requestHeaders(method: string, path: string, authority: string): Array<[string, string]> {
  return [[':method', method], [':scheme', 'https'], [':path', path], [':authority', authority]]
}

export function dataFrame(streamId: number, data: Buffer, endStream = false): Buffer {
  return frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, streamId, data)
}

export function rstStream(streamId: number, code: number = ERROR_CODE.CANCEL): Buffer {
  const p = Buffer.alloc(4)
  p.writeUInt32BE(code)
  return frame(FRAME.RST_STREAM, 0, streamId, p)
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1')
  return Buffer.concat([hpackInteger(bytes.length, 7, 0), bytes])
}

function hpackInteger(value: number, prefixBits: number, high: number): Buffer {
  const max = (1 << prefixBits) - 1
  if (value < max) return Buffer.from([high | value])
  const out = [high | max]
  value -= max
  while (value >= 128) {
    out.push((value & 127) | 128)
    value = Math.floor(value / 128)
  }
  out.push(value)
  return Buffer.from(out)
}
