import http, {type IncomingMessage} from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'
import {FLAG_END_STREAM, FLAG_INFO, FLAG_UPGRADE, type HeadFields, ResetCode} from '../protocol/frames.js'
import {headValue, REQUEST_PAIRS_AT} from '../protocol/head.js'
import type {MuxStream} from '../protocol/mux.js'
import {pipeStreamTo, pipeToStream, type Sink} from '../protocol/stream-pipe.js'
import {CLOSED_BEFORE_RESPONDING, type ResponseHandler} from './http1-response.js'
import {type ConnectionUser, type OriginConnection, OriginPool} from './origin-pool.js'
import {HEADER_TUNNEL_ERROR, HOP_BY_HOP_HEADERS, TUNNEL_HEADER_PREFIX, type TunnelError} from '../protocol/tunnel.js'

/** Serves one tunnel stream (cloudflared's OriginProxy): the seam between transport and origin. */
export interface StreamHandler {
  /** `head` is the request head (method, path, authority, then name/value pairs); `flags` its frame flags */
  serveStream(stream: MuxStream, head: HeadFields, flags: number): void
}

/** One request as the origin saw it, for the per-request line of `mezu tunnel`. */
export interface OriginRequestEvent {
  method: string
  path: string
  status: number
  durationMs: number
  /** set when the origin could not be reached or failed mid-way */
  error?: string
  /** which: `connect` (never reached, the edge got 502) or `response` (reached, then cut mid-way or not valid HTTP) */
  originFailure?: 'connect' | 'response'
}

/** Headers for the origin as a flat name/value list: Host from the authority, nothing tunnel-internal. */
function originHeaders(head: HeadFields): string[] {
  const out = ['host', head[2]]
  for (let i = REQUEST_PAIRS_AT; i + 1 < head.length; i += 2) {
    const name = head[i]
    if (name.startsWith(TUNNEL_HEADER_PREFIX) || HOP_BY_HOP_HEADERS.has(name)) continue
    out.push(name, head[i + 1])
  }
  return out
}

/** A response head for the tunnel from the origin's headers: names lower-cased, hop-by-hop ones dropped. */
function responseHead(status: number, raw: string[]): HeadFields {
  const out: HeadFields = [String(status)]
  let named: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection') named = new Set(raw[i + 1].toLowerCase().split(',').map((s) => s.trim()))
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    // the origin cannot forge what the Warpgate alone says (mezu-tunnel-error)
    if (HOP_BY_HOP_HEADERS.has(name) || named?.has(name) || name.startsWith(TUNNEL_HEADER_PREFIX)) continue
    out.push(name, raw[i + 1])
  }
  return out
}

/** Methods whose requests carry a body by definition: without one they say Content-Length: 0, as Node's client does. */
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH'])
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const BAD_PATH = /[^\u0021-\u00ff]/
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

/**
 * The request line and headers for the origin, or undefined when a field could not be written
 * safely (the edge validated them; this guards the line format, not policy).
 */
function requestHead(head: HeadFields, framing: string): string | undefined {
  const method = head[0]
  const path = head[1]
  if (!TOKEN.test(method) || BAD_PATH.test(path) || BAD_VALUE.test(head[2])) return undefined
  let out = `${method} ${path} HTTP/1.1\r\nhost: ${head[2]}\r\n`
  for (let i = REQUEST_PAIRS_AT; i + 1 < head.length; i += 2) {
    const name = head[i]
    if (name.startsWith(TUNNEL_HEADER_PREFIX) || HOP_BY_HOP_HEADERS.has(name)) continue
    const value = head[i + 1]
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) return undefined
    out += `${name}: ${value}\r\n`
  }
  return out + framing + '\r\n'
}

/**
 * One request to the origin over a pooled connection (the lean HTTP/1.1 client of DESIGN "Tunnel
 * protocol"): the head leaves in one write, the response is parsed by the connection's parser, both
 * bodies stream under the stream's credit. A bodyless request that finds its reused connection
 * closed by the origin before any answer is retried once on a new one.
 */
class OriginExchange implements ResponseHandler, ConnectionUser {
  private conn: OriginConnection | null = null
  private readonly started = performance.now()
  private status = 0
  private answered = false
  private finished = false
  private retried = false
  /** the request body is written completely (or there is none): the connection may be reused */
  private bodySent: boolean
  private chunked = false
  private readonly headText: string | undefined
  /** no body came with the request: only such a request may be sent twice */
  private readonly bodyless: boolean

  constructor(
    private readonly pool: OriginPool,
    private readonly s: MuxStream,
    private readonly head: HeadFields,
    private readonly onRequest?: (e: OriginRequestEvent) => void,
  ) {
    this.bodySent = this.bodyless = s.remoteEnded
    let framing = ''
    if (headValue(head, REQUEST_PAIRS_AT, 'content-length') === undefined) {
      if (!s.remoteEnded) {
        this.chunked = true
        framing = 'transfer-encoding: chunked\r\n'
      } else if (BODY_METHODS.has(head[0])) {
        framing = 'content-length: 0\r\n'
      }
    }
    this.headText = requestHead(head, framing)
    // The edge cancelled (end user left, timeout, body limit): stop the origin request too.
    s.onClose = (code) => {
      if (code !== undefined && !this.finished) this.abandon()
    }
  }

  send(conn: OriginConnection): void {
    if (this.headText === undefined) {
      conn.release(true)
      this.s.sendHead(['502', HEADER_TUNNEL_ERROR, 'origin-failed'], FLAG_END_STREAM)
      return this.report(502, 'request head cannot be written as HTTP/1.1', 'response')
    }
    this.conn = conn
    conn.user = this
    conn.requests++
    conn.parser.start(this, this.head[0])
    const socket = conn.socket
    socket.write(this.headText, 'latin1')
    if (this.bodySent) return
    const s = this.s
    if (this.chunked) {
      pipeStreamTo(s, corkedSink(socket, (chunk) => {
        socket.write(chunk.length.toString(16) + '\r\n', 'latin1')
        socket.write(chunk)
        return socket.write('\r\n', 'latin1')
      }))
      s.onTrailers = (fields) => {
        let t = '0\r\n'
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (TOKEN.test(fields[i]) && !BAD_VALUE.test(fields[i + 1])) t += `${fields[i]}: ${fields[i + 1]}\r\n`
        }
        socket.write(t + '\r\n', 'latin1')
        this.bodySent = true
      }
      s.onEnd = () => {
        if (!this.bodySent) socket.write('0\r\n\r\n', 'latin1')
        this.bodySent = true
      }
    } else {
      pipeStreamTo(s, corkedSink(socket, (chunk) => socket.write(chunk)))
      s.onEnd = () => (this.bodySent = true)
    }
  }

  connectionLost(conn: OriginConnection): boolean {
    // The origin closed a reused keep-alive connection just as the request went out: the request
    // never reached it, and with no body it can be sent again.
    if (this.retried || this.answered || conn.requests < 2 || !this.bodyless || !conn.parser.nothingReceived || this.s.closed) return false
    this.retried = true
    conn.user = null
    this.send(this.pool.acquire(true))
    return true
  }

  onInfo(status: number, pairs: string[]): void {
    if (!this.answered) this.s.sendHead(responseHead(status, pairs), FLAG_INFO)
  }

  onHead(status: number, pairs: string[]): void {
    const s = this.s
    if (s.closed) return this.abandon()
    this.answered = true
    this.status = status
    s.sendHead(responseHead(status, pairs))
    const socket = this.conn!.socket
    s.onWritable = () => socket.resume()
  }

  onBody(chunk: Buffer): void {
    if (!this.s.write(chunk)) this.conn?.socket.pause()
  }

  onComplete(trailers: string[] | null, reusable: boolean): void {
    const s = this.s
    this.finished = true
    if (trailers && trailers.length) s.sendTrailers(trailers)
    else s.end()
    // the origin answered without reading the whole body: stop the upload, keep the response
    if (!s.remoteEnded) s.reset(ResetCode.NO_ERROR)
    const conn = this.conn!
    this.conn = null
    conn.release(reusable && this.bodySent)
    this.report(this.status)
  }

  onError(reason: string): void {
    const conn = this.conn
    this.conn = null
    conn?.destroy()
    if (this.s.closed) return
    this.finished = true
    if (!this.answered) {
      // never connected or closed without a word: unreachable; an answer that is not HTTP: the origin failed
      const unreachable = (conn !== null && !conn.connected) || reason === CLOSED_BEFORE_RESPONDING
      this.s.sendHead(['502', HEADER_TUNNEL_ERROR, unreachable ? 'origin-unreachable' : 'origin-failed'], FLAG_END_STREAM)
      this.report(502, unreachable ? (conn?.error ?? reason) : reason, unreachable ? 'connect' : 'response')
    } else {
      this.s.reset(ResetCode.INTERNAL_ERROR)
      this.report(this.status, `origin ${reason}`, 'response')
    }
  }

  private abandon(): void {
    this.finished = true
    const conn = this.conn
    this.conn = null
    conn?.destroy()
  }

  private report(status: number, error?: string, originFailure?: OriginRequestEvent['originFailure']): void {
    this.onRequest?.({method: this.head[0], path: this.head[1], status, durationMs: Math.round(performance.now() - this.started), error, originFailure})
  }
}

/**
 * Proxies tunnel streams to the local service over pooled keep-alive HTTP/1.1 connections,
 * streaming both ways under the stream's credit. WebSocket upgrades arrive flagged and are replayed
 * to the origin as an HTTP/1.1 upgrade, then spliced.
 */
export class OriginProxy implements StreamHandler {
  private readonly target: URL
  private readonly client: typeof http | typeof https
  // No cap on connections: streams in flight are already bounded by the tunnel (connections × streams),
  // and a queue here would stall requests the edge already counts as sent.
  private readonly pool: OriginPool

  constructor(originUrl: string, private readonly onRequest?: (e: OriginRequestEvent) => void) {
    this.target = new URL(originUrl)
    const secure = this.target.protocol === 'https:'
    this.client = secure ? https : http
    const host = this.target.hostname.replace(/^\[|\]$/g, '')
    this.pool = new OriginPool({secure, host, port: Number(this.target.port) || (secure ? 443 : 80)})
  }

  serveStream(s: MuxStream, head: HeadFields, flags: number): void {
    if (flags & FLAG_UPGRADE) return this.serveUpgrade(s, head)
    new OriginExchange(this.pool, s, head, this.onRequest).send(this.pool.acquire())
  }

  private answerError(s: MuxStream, error: TunnelError): void {
    s.sendHead(['502', HEADER_TUNNEL_ERROR, error], FLAG_END_STREAM)
  }

  private serveUpgrade(s: MuxStream, head: HeadFields): void {
    const started = performance.now()
    const path = head[1]
    const h = originHeaders(head)
    h.push('connection', 'Upgrade', 'upgrade', headValue(head, REQUEST_PAIRS_AT, 'upgrade') ?? 'websocket')
    const req = this.client.request({
      protocol: this.target.protocol, hostname: this.target.hostname, port: this.target.port,
      method: head[0], path, headers: h as unknown as http.OutgoingHttpHeaders, agent: false,
    })
    const report = (status: number, error?: string, originFailure?: OriginRequestEvent['originFailure']) => this.onRequest?.({method: head[0], path, status, durationMs: Math.round(performance.now() - started), error, originFailure})
    let answered = false
    req.on('upgrade', (res: IncomingMessage, socket: Socket, rest: Buffer) => {
      if (s.closed) return void socket.destroy()
      answered = true
      s.sendHead(responseHead(101, res.rawHeaders))
      if (rest.length) s.write(rest)
      pipeToStream(socket, s)
      pipeStreamTo(s, socket)
      s.onEnd = () => socket.end()
      s.onClose = () => socket.destroy()
      socket.on('end', () => s.end())
      socket.on('error', () => s.reset(ResetCode.INTERNAL_ERROR))
      socket.on('close', () => s.end())
      report(101)
    })
    req.on('response', (res: IncomingMessage) => {
      // The origin refused the upgrade: pass its answer on.
      if (s.closed) return void res.destroy()
      answered = true
      s.sendHead(responseHead(res.statusCode ?? 502, res.rawHeaders))
      pipeToStream(res, s)
      res.on('end', () => s.end())
      report(res.statusCode ?? 0)
    })
    req.on('error', (err) => {
      if (s.closed) return
      if (answered) return s.reset(ResetCode.INTERNAL_ERROR)
      this.answerError(s, 'origin-unreachable')
      report(502, (err as NodeJS.ErrnoException).code ?? err.message, 'connect')
    })
    s.onClose = (code) => {
      if (code !== undefined) req.destroy()
    }
    req.end()
  }

  close(): void {
    this.pool.close()
  }
}

/**
 * An upload's DATA frames arrive a TLS record (16 KiB) per callback, several per turn of the
 * event loop; written one by one they cost a system call each (~8 KiB per call measured). Corked
 * until the loop has delivered all it read (setImmediate runs right after the poll phase), they
 * leave as one writev.
 */
function corkedSink(socket: Socket, write: (chunk: Buffer) => boolean): Sink {
  return {
    write(chunk) {
      corkForTurn(socket)
      return write(chunk)
    },
    once: (event, listener) => socket.once(event, listener),
    get writableEnded() {
      return socket.writableEnded
    },
    get destroyed() {
      return socket.destroyed
    },
  }
}

function corkForTurn(socket: Socket): void {
  if (socket.writableCorked > 0) return
  socket.cork()
  setImmediate(uncork, socket)
}

function uncork(socket: Socket): void {
  socket.uncork()
}
