/**
 * An incremental HTTP/1.1 response parser for the Warpgate's origin connections (RFC 9112). One per
 * connection, reused for every response on it: no per-request objects beyond the head's fields.
 * Strict where leniency would let one response bleed into the next: a malformed length, a bad chunk
 * line or bytes after a complete response end the connection.
 */

/** Largest status line + header block (and trailer block) accepted from the origin. */
export const MAX_ORIGIN_HEAD_BYTES = 64 * 1024
/** Longest chunk-size line (size + extensions) accepted. */
const MAX_CHUNK_LINE_BYTES = 4096

export interface ResponseHandler {
  /** A 1xx other than 101 (100 Continue, 103 Early Hints): more heads follow. */
  onInfo(status: number, pairs: string[]): void
  /** The final head: names lower case, in order, as name/value pairs. */
  onHead(status: number, pairs: string[]): void
  onBody(chunk: Buffer): void
  /** The response is complete; `reusable` when the connection may carry another request. */
  onComplete(trailers: string[] | null, reusable: boolean): void
  /** The response cannot be read: the connection must be closed. */
  onError(reason: string): void
}

/** The reason given when the origin closed the connection before any byte of its answer. */
export const CLOSED_BEFORE_RESPONDING = 'closed before responding'

const enum State { Idle, Head, Length, ChunkLine, ChunkData, ChunkEnd, Trailers, UntilClose, Done, Failed }

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const DIGITS = /^\d{1,15}$/
const HEX = /^[0-9a-fA-F]{1,13}$/
const CRLF_CRLF = Buffer.from('\r\n\r\n')

export class ResponseParser {
  private state = State.Idle
  private handler: ResponseHandler | null = null
  private headRequest = false
  private partial: Buffer | null = null
  private remaining = 0
  private keepAlive = true
  private lineBytes = 0
  private received = false

  constructor(private readonly maxHeadBytes = MAX_ORIGIN_HEAD_BYTES) {}

  /** Bytes are expected only between start() and the response's end. */
  get idle(): boolean {
    return this.state === State.Idle
  }

  /** The connection cannot carry another request: a response was malformed, delimited by close, or followed by stray bytes. */
  get failed(): boolean {
    return this.state === State.Failed
  }

  /** A request was sent: read its response. HEAD responses have no body whatever they say. */
  start(handler: ResponseHandler, method: string): void {
    this.handler = handler
    this.headRequest = method === 'HEAD'
    this.state = State.Head
    this.partial = null
    this.keepAlive = true
    this.received = false
  }

  /** Feeds bytes read from the connection. */
  execute(buf: Buffer): void {
    this.received = true
    let at = 0
    while (at < buf.length) {
      switch (this.state) {
        case State.Head:
        case State.Trailers: {
          const used = this.readBlock(buf, at)
          if (used < 0) return
          at = used
          break
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length - at)
          this.remaining -= n
          const chunk = at === 0 && n === buf.length ? buf : buf.subarray(at, at + n)
          at += n
          this.handler!.onBody(chunk)
          if (this.remaining === 0 && this.state === State.Length) this.complete(null)
          break
        }
        case State.ChunkLine: {
          const nl = buf.indexOf(10, at)
          if (nl < 0) {
            this.lineBytes += buf.length - at
            if (this.lineBytes > MAX_CHUNK_LINE_BYTES) return this.fail('chunk size line too long')
            this.partial = this.partial ? Buffer.concat([this.partial, buf.subarray(at)]) : Buffer.from(buf.subarray(at))
            return
          }
          let line = buf.toString('latin1', at, nl)
          if (this.partial) {
            line = this.partial.toString('latin1') + line
            this.partial = null
          }
          at = nl + 1
          this.lineBytes = 0
          if (!line.endsWith('\r')) return this.fail('chunk size line without CRLF')
          const semi = line.indexOf(';')
          const size = (semi < 0 ? line.slice(0, -1) : line.slice(0, semi)).trimEnd()
          if (!HEX.test(size)) return this.fail('bad chunk size')
          this.remaining = parseInt(size, 16)
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData
          break
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - at)
          this.remaining -= n
          const chunk = buf.subarray(at, at + n)
          at += n
          if (this.remaining === 0) {
            this.state = State.ChunkEnd
            this.remaining = 2
          }
          this.handler!.onBody(chunk)
          break
        }
        case State.ChunkEnd: {
          // the CRLF after a chunk's data, possibly split across reads
          const expected = this.remaining === 2 ? 13 : 10
          if (buf[at] !== expected) return this.fail('chunk data not followed by CRLF')
          at++
          if (--this.remaining === 0) this.state = State.ChunkLine
          break
        }
        case State.UntilClose: {
          const chunk = at === 0 ? buf : buf.subarray(at)
          at = buf.length
          this.handler!.onBody(chunk)
          break
        }
        case State.Idle:
        case State.Done:
          // nothing was asked, or the response is complete: anything more is not ours to read
          return this.fail('unexpected bytes after the response')
        case State.Failed:
          return
      }
    }
  }

  /** The origin closed the connection. */
  finish(): void {
    if (this.state === State.UntilClose) {
      this.keepAlive = false
      return this.complete(null)
    }
    if (this.state === State.Idle || this.state === State.Done || this.state === State.Failed) return
    this.fail(this.state === State.Head && !this.received ? CLOSED_BEFORE_RESPONDING : 'closed mid-response')
  }

  /** Whether nothing of the current response has arrived yet (a safe moment to retry elsewhere). */
  get nothingReceived(): boolean {
    return this.state === State.Head && !this.received
  }

  /** Reads a head or trailer block ending in an empty line; returns where it ended, or -1 to wait/stop. */
  private readBlock(buf: Buffer, at: number): number {
    const prior = this.partial
    const block = prior ? Buffer.concat([prior, buf.subarray(at)]) : buf.subarray(at)
    const before = prior ? prior.length : 0
    // an empty trailer section is just the CRLF after the last chunk
    if (this.state === State.Trailers && block.length >= 2 && block[0] === 13 && block[1] === 10) {
      this.partial = null
      this.complete([])
      return at + 2 - before
    }
    const end = block.indexOf(CRLF_CRLF, Math.max(0, before - 3))
    if (end < 0 || end > this.maxHeadBytes) {
      if (end >= 0 || block.length > this.maxHeadBytes) {
        this.fail(this.state === State.Head ? 'response head too large' : 'trailers too large')
        return -1
      }
      this.partial = prior ? block : Buffer.from(block)
      return -1
    }
    this.partial = null
    this.onBlock(block.toString('latin1', 0, end))
    return this.state === State.Failed ? -1 : at + end + 4 - before
  }

  private onBlock(text: string): void {
    if (this.state === State.Trailers) {
      const pairs = text === '' ? [] : this.fields(text.split('\r\n'), 0)
      if (pairs) this.complete(pairs)
      return
    }
    const lines = text.split('\r\n')
    const m = STATUS_LINE.exec(lines[0])
    if (!m) return this.fail('malformed status line')
    const status = Number(m[2])
    if (status < 100) return this.fail('malformed status line')
    const pairs = this.fields(lines, 1)
    if (!pairs) return
    const h = this.handler!
    if (status < 200) {
      // 101 needs an upgrade this request did not ask for
      if (status === 101) return this.fail('unexpected 101 Switching Protocols')
      h.onInfo(status, pairs)
      return
    }
    let contentLength = -1
    let chunked = false
    let transferEncoding = false
    let connection = ''
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i]
      if (name === 'content-length') {
        // repeated or listed values must all agree (RFC 9110 §8.6)
        for (const v of pairs[i + 1].split(',')) {
          const t = v.trim()
          if (!DIGITS.test(t)) return this.fail('invalid Content-Length')
          const n = Number(t)
          if (contentLength >= 0 && n !== contentLength) return this.fail('conflicting Content-Length values')
          contentLength = n
        }
      } else if (name === 'transfer-encoding') {
        transferEncoding = true
        const codings = pairs[i + 1].toLowerCase().split(',')
        chunked = codings[codings.length - 1].trim() === 'chunked'
      } else if (name === 'connection') {
        connection += ',' + pairs[i + 1].toLowerCase()
      }
    }
    if (m[1] === '0') this.keepAlive = /(^|,)\s*keep-alive\s*(,|$)/.test(connection)
    if (/(^|,)\s*close\s*(,|$)/.test(connection)) this.keepAlive = false
    h.onHead(status, pairs)
    if (this.state !== State.Head) return
    if (this.headRequest || status === 204 || status === 304) return this.complete(null)
    if (transferEncoding) {
      // a Content-Length beside Transfer-Encoding is a smuggling attempt or a bug: never reuse
      if (contentLength >= 0) this.keepAlive = false
      if (chunked) {
        this.state = State.ChunkLine
        this.lineBytes = 0
        return
      }
      this.keepAlive = false
      this.state = State.UntilClose
      return
    }
    if (contentLength === 0) return this.complete(null)
    if (contentLength > 0) {
      this.remaining = contentLength
      this.state = State.Length
      return
    }
    this.keepAlive = false
    this.state = State.UntilClose
  }

  /** Header lines from `from` as lower-case name/value pairs; null (after failing) when one is malformed. */
  private fields(lines: string[], from: number): string[] | null {
    const pairs: string[] = []
    for (let i = from; i < lines.length; i++) {
      const line = lines[i]
      const colon = line.indexOf(':')
      const name = colon > 0 ? line.slice(0, colon) : ''
      // obsolete line folding and names with spaces are refused (RFC 9112 §5.1, §5.2)
      if (!TOKEN.test(name)) {
        this.fail('malformed header line')
        return null
      }
      const value = line.slice(colon + 1).trim()
      if (value.includes('\n') || value.includes('\r') || value.includes('\0')) {
        this.fail('malformed header value')
        return null
      }
      pairs.push(name.toLowerCase(), value)
    }
    return pairs
  }

  private complete(trailers: string[] | null): void {
    const h = this.handler!
    this.state = this.keepAlive ? State.Done : State.Failed
    this.handler = null
    this.partial = null
    const reusable = this.keepAlive
    h.onComplete(trailers, reusable)
    // the owner calls reset() when it puts the connection back in the pool
  }

  /** Stops reading the current response, quietly: its owner gave up on it and is closing the connection. */
  abort(): void {
    this.state = State.Failed
    this.handler = null
    this.partial = null
  }

  /** Back to idle after a complete response (the connection returns to the pool). */
  reset(): void {
    if (this.state === State.Done) this.state = State.Idle
  }

  private fail(reason: string): void {
    if (this.state === State.Failed) return
    this.state = State.Failed
    this.partial = null
    const h = this.handler
    this.handler = null
    h?.onError(reason)
  }
}
