import http, {type IncomingHttpHeaders, type IncomingMessage} from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'
import {Readable} from 'node:stream'
import {type Dispatcher, Pool} from 'undici'
import {FLAG_END_STREAM, FLAG_UPGRADE, type HeadFields, ResetCode} from '../protocol/frames.js'
import {headValue, REQUEST_PAIRS_AT} from '../protocol/head.js'
import type {MuxStream} from '../protocol/mux.js'
import {pipeStreamTo, pipeToStream} from '../protocol/stream-pipe.js'
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
}

/**
 * Headers for the origin as a flat name/value list: Host from the authority, nothing
 * tunnel-internal. `dispatch`: without Expect, which undici refuses (the edge already answered
 * 100 Continue to the end user, and the body follows regardless).
 */
function originHeaders(head: HeadFields, dispatch = false): string[] {
  const out = ['host', head[2]]
  for (let i = REQUEST_PAIRS_AT; i + 1 < head.length; i += 2) {
    const name = head[i]
    if (name.startsWith(TUNNEL_HEADER_PREFIX) || HOP_BY_HOP_HEADERS.has(name) || (dispatch && name === 'expect')) continue
    out.push(name, head[i + 1])
  }
  return out
}

/** A response head for the tunnel from the origin's raw headers: names lower-cased, hop-by-hop ones dropped. */
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

/** A head's pairs from undici's header object (names already lower case). */
function pushPairs(out: HeadFields, headers: IncomingHttpHeaders, skipHopByHop: boolean): HeadFields {
  const named = skipHopByHop && headers.connection ? new Set(String(headers.connection).toLowerCase().split(',').map((x) => x.trim())) : undefined
  for (const name in headers) {
    if (skipHopByHop && (HOP_BY_HOP_HEADERS.has(name) || named?.has(name) || name.startsWith(TUNNEL_HEADER_PREFIX))) continue
    const value = headers[name]
    if (value === undefined) continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  return out
}

/**
 * One request to the origin through undici's dispatch: the response streams into the tunnel
 * stream under its credit (the origin connection pauses while the stream waits), the request body
 * flows from the stream into a Readable undici reads, credit following what it took.
 */
class OriginExchange implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController
  private answered = false
  private finished = false
  private status = 0
  private readonly started = performance.now()
  private source?: Readable
  /** bytes taken from the stream but not yet read by undici */
  private owed = 0

  constructor(private readonly s: MuxStream, private readonly head: HeadFields, private readonly onRequest: (e: OriginRequestEvent) => void) {
    // The edge cancelled (end user left, timeout, body limit): stop the origin request too.
    s.onClose = (code) => {
      if (code === undefined || this.finished) return
      this.controller?.abort(new Error('cancelled by the edge'))
      this.source?.destroy()
    }
    s.onWritable = () => this.controller?.resume()
  }

  /** The request body for undici: null when the edge ended the stream with its head. */
  body(): Readable | null {
    const s = this.s
    if (s.remoteEnded) return null
    const source = new Readable({
      read: () => {
        const n = this.owed
        this.owed = 0
        if (n) s.consumed(n)
      },
    })
    this.source = source
    s.onData = (chunk) => {
      if (source.push(chunk)) s.consumed(chunk.length)
      else this.owed += chunk.length
    }
    s.onEnd = () => source.push(null)
    return source
  }

  private report(status: number, error?: string): void {
    this.onRequest({method: this.head[0], path: this.head[1], status, durationMs: Math.round(performance.now() - this.started), error})
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.s.closed) controller.abort(new Error('cancelled by the edge'))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (this.s.closed) return controller.abort(new Error('cancelled by the edge'))
    this.answered = true
    this.status = statusCode
    this.s.sendHead(pushPairs([String(statusCode)], headers, true))
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.s.write(chunk)) controller.pause()
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.finished = true
    const s = this.s
    const t = pushPairs([], trailers ?? {}, false)
    if (t.length) s.sendTrailers(t)
    else s.end()
    // the origin answered without reading the whole body: stop the upload, keep the response
    if (!s.remoteEnded) s.reset(ResetCode.NO_ERROR)
    this.report(this.status)
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.finished = true
    this.source?.destroy()
    const s = this.s
    if (s.closed) return
    if (!this.answered) {
      s.sendHead(['502', HEADER_TUNNEL_ERROR, 'origin-unreachable' satisfies TunnelError], FLAG_END_STREAM)
      this.report(502, (err as NodeJS.ErrnoException).code ?? err.message)
    } else {
      this.report(this.status, 'origin closed the response early')
      s.reset(ResetCode.INTERNAL_ERROR)
    }
  }
}

/**
 * Proxies tunnel streams to the local service over pooled keep-alive HTTP/1.1 connections,
 * streaming both ways under the stream's credit. WebSocket upgrades arrive flagged and are replayed
 * to the origin as an HTTP/1.1 upgrade, then spliced.
 */
export class OriginProxy implements StreamHandler {
  private readonly target: URL
  /** plain requests: undici's dispatch, few objects per request */
  private readonly pool: Pool
  /** upgrades (rare): node:http, which hands over the socket */
  private readonly client: typeof http | typeof https

  constructor(originUrl: string, private readonly onRequest?: (e: OriginRequestEvent) => void) {
    this.target = new URL(originUrl)
    const isHttps = this.target.protocol === 'https:'
    this.client = isHttps ? https : http
    // No cap on connections: streams in flight are already bounded by the tunnel (connections ×
    // streams), and a queue here would stall requests the edge already counts as sent.
    this.pool = new Pool(this.target.origin, {connections: null, pipelining: 1, keepAliveTimeout: 30_000})
  }

  serveStream(s: MuxStream, head: HeadFields, flags: number): void {
    if (flags & FLAG_UPGRADE) return this.serveUpgrade(s, head)
    const handler = new OriginExchange(s, head, (e) => this.onRequest?.(e))
    this.pool.dispatch({
      path: head[1], method: head[0] as Dispatcher.HttpMethod, headers: originHeaders(head, true), body: handler.body(),
      // the edge owns the timeouts (edge.requestTimeoutMs, the body rate)
      headersTimeout: 0, bodyTimeout: 0,
    }, handler)
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
    const report = (status: number, error?: string) => this.onRequest?.({method: head[0], path, status, durationMs: Math.round(performance.now() - started), error})
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
      report(502, (err as NodeJS.ErrnoException).code ?? err.message)
    })
    s.onClose = (code) => {
      if (code !== undefined) req.destroy()
    }
    req.end()
  }

  close(): void {
    void this.pool.destroy().catch(() => {})
  }
}
