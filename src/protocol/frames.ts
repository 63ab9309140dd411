/**
 * The tunnel's frame layer: a 10-byte header (u32 payload length, u8 type, u8 flags, u32 stream id)
 * and a payload. Pure: no sockets here; mux.ts owns the connection.
 */

/** Bytes in a frame header. */
export const FRAME_HEADER_BYTES = 10

/** Frame types. */
export const FrameType = {
  /** stream 0, JSON: the first frame each side sends, naming the protocol version */
  HELLO: 0,
  /** a request head (edge → Warpgate), a response head or trailers (either way): latin1 fields joined by `\n` */
  HEAD: 1,
  /** body bytes of one stream */
  DATA: 2,
  /** u32 credit: more bytes the sender may send (stream 0: for the connection) */
  WINDOW: 3,
  /** u32 code: the stream ends abnormally */
  RST: 4,
  /** 8 opaque bytes; echoed with FLAG_ACK */
  PING: 5,
  /** stream 0, u32 code + UTF-8 text: no new streams (drain); with FLAG_ACK: acknowledged */
  GOAWAY: 6,
  /** stream 0, JSON: rare control messages (health) */
  CONTROL: 7,
} as const
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType]

/** The sender's side of the stream is finished (HEAD or DATA). */
export const FLAG_END_STREAM = 0x1
/** PING or GOAWAY answered. */
export const FLAG_ACK = 0x2
/** A HEAD that is an informational response (1xx): a final one follows. */
export const FLAG_INFO = 0x4
/** A request HEAD that asks for an upgrade (WebSocket); a 101 answer turns the stream into a byte pipe. */
export const FLAG_UPGRADE = 0x8
/** A HEAD after the stream's first one: trailers (always with FLAG_END_STREAM). */
export const FLAG_TRAILERS = 0x10

/** RST and GOAWAY codes. */
export const ResetCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  /** the stream was cancelled (end user left, timeout, body limit) */
  CANCEL: 8,
  /** the connection is draining: the stream was not started */
  REFUSED_STREAM: 7,
  /** GOAWAY: the peer speaks another protocol version */
  VERSION_MISMATCH: 100,
} as const

/** Largest payload accepted in one frame; DATA is split below it, heads must fit in it. */
export const MAX_FRAME_PAYLOAD_BYTES = 256 * 1024
/** Largest head (request or response fields) either side accepts. */
export const MAX_HEAD_BYTES = 128 * 1024

/** A frame's header, as parsed. */
export interface FrameHeader {
  length: number
  type: number
  flags: number
  stream: number
}

/** Writes a frame header at `at` in `buf`. */
export function writeFrameHeader(buf: Buffer, at: number, length: number, type: number, flags: number, stream: number): void {
  buf.writeUInt32BE(length, at)
  buf[at + 4] = type
  buf[at + 5] = flags
  buf.writeUInt32BE(stream, at + 6)
}

/** Head fields: names lower case; values as HTTP/1.1 carries them (latin1). */
export type HeadFields = string[]

/**
 * Encodes fields as latin1 joined by `\n`. HTTP forbids CR and LF in names and values (Node
 * refuses them before they get here), so the separator can never be forged by a header.
 */
export function encodeFields(fields: HeadFields): Buffer {
  return Buffer.from(fields.join('\n'), 'latin1')
}

/** The inverse of encodeFields: one split, no re-parsing. */
export function decodeFields(payload: Buffer): HeadFields {
  return payload.length === 0 ? [] : payload.toString('latin1').split('\n')
}

export class FrameError extends Error {
  override name = 'FrameError'
  constructor(message: string, readonly code: number = ResetCode.PROTOCOL_ERROR) {
    super(message)
  }
}

/** What the parser hands on: whole control frames, DATA payloads as they arrive. */
export interface FrameSink {
  /** a complete non-DATA frame; `payload` is valid only during the call */
  frame(h: FrameHeader, payload: Buffer): void
  /** part of a DATA frame's payload; `last` on the part that completes the frame */
  data(h: FrameHeader, chunk: Buffer, last: boolean): void
}

/**
 * Incremental frame parser. Frames are read in place with subarray; a head split across reads is
 * joined once when complete, and DATA payloads are passed on piecewise, never joined at all.
 * Throws FrameError on anything malformed: the connection is then closed.
 */
export class FrameParser {
  private readonly hdr = Buffer.alloc(FRAME_HEADER_BYTES)
  private hdrHave = 0
  private current?: FrameHeader
  /** DATA: payload bytes still to come; others: the parts gathered so far */
  private remaining = 0
  private parts: Buffer[] = []
  private have = 0

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    let at = 0
    const n = chunk.length
    while (at < n) {
      if (!this.current) {
        if (this.hdrHave === 0 && n - at >= FRAME_HEADER_BYTES) {
          this.begin(readHeader(chunk, at))
          at += FRAME_HEADER_BYTES
        } else {
          const take = Math.min(FRAME_HEADER_BYTES - this.hdrHave, n - at)
          chunk.copy(this.hdr, this.hdrHave, at, at + take)
          this.hdrHave += take
          at += take
          if (this.hdrHave < FRAME_HEADER_BYTES) return
          this.hdrHave = 0
          this.begin(readHeader(this.hdr, 0))
        }
        continue
      }
      const h = this.current
      const take = Math.min(this.remaining, n - at)
      if (h.type === FrameType.DATA) {
        this.remaining -= take
        const last = this.remaining === 0
        if (last) this.current = undefined
        this.sink.data(h, chunk.subarray(at, at + take), last)
      } else if (this.have === 0 && take === this.remaining) {
        this.current = undefined
        this.remaining = 0
        this.sink.frame(h, chunk.subarray(at, at + take))
      } else {
        this.parts.push(chunk.subarray(at, at + take))
        this.have += take
        this.remaining -= take
        if (this.remaining === 0) {
          const payload = Buffer.concat(this.parts, this.have)
          this.parts = []
          this.have = 0
          this.current = undefined
          this.sink.frame(h, payload)
        }
      }
      at += take
    }
  }

  private begin(h: FrameHeader): void {
    if (h.type > FrameType.CONTROL) throw new FrameError(`unknown frame type ${h.type}`)
    if (h.length > MAX_FRAME_PAYLOAD_BYTES) throw new FrameError(`frame of ${h.length} bytes is over the ${MAX_FRAME_PAYLOAD_BYTES}-byte limit`, ResetCode.FLOW_CONTROL_ERROR)
    if (h.length === 0) {
      if (h.type === FrameType.DATA) this.sink.data(h, EMPTY, true)
      else this.sink.frame(h, EMPTY)
      return
    }
    this.current = h
    this.remaining = h.length
  }
}

const EMPTY = Buffer.alloc(0)

function readHeader(buf: Buffer, at: number): FrameHeader {
  return {length: buf.readUInt32BE(at), type: buf[at + 4], flags: buf[at + 5], stream: buf.readUInt32BE(at + 6)}
}
