import http, {type IncomingMessage} from 'node:http'
import https from 'node:https'
import type {Socket} from 'node:net'
import {FLAG_END_STREAM, FLAG_INFO, FLAG_UPGRADE, type HeadFields, ResetCode} from '../protocol/frames.js'
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
  /** which: `connect` (never reached, the edge got 502) or `response` (cut mid-way) */
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

function trailerPairs(raw: string[]): HeadFields {
  const out: HeadFields = []
  for (let i = 0; i < raw.length; i += 2) out.push(raw[i].toLowerCase(), raw[i + 1])
  return out
}

/**
 * Proxies tunnel streams to the local service over pooled keep-alive HTTP/1.1 connections,
 * streaming both ways under the stream's credit. WebSocket upgrades arrive flagged and are replayed
 * to the origin as an HTTP/1.1 upgrade, then spliced.
 */
export class OriginProxy implements StreamHandler {
  private readonly target: URL
  private readonly agent: http.Agent
  private readonly client: typeof http | typeof https

  constructor(originUrl: string, private readonly onRequest?: (e: OriginRequestEvent) => void) {
    this.target = new URL(originUrl)
    const isHttps = this.target.protocol === 'https:'
    this.client = isHttps ? https : http
    // No cap on sockets: streams in flight are already bounded by the tunnel (connections × streams),
    // and a queue here would stall requests the edge already counts as sent.
    const agentOpts = {keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 64, scheduling: 'lifo' as const}
    this.agent = isHttps ? new https.Agent(agentOpts) : new http.Agent(agentOpts)
  }

  serveStream(s: MuxStream, head: HeadFields, flags: number): void {
    if (flags & FLAG_UPGRADE) return this.serveUpgrade(s, head)
    const started = performance.now()
    const method = head[0]
    const path = head[1]
    const report = (status: number, error?: string, originFailure?: OriginRequestEvent['originFailure']) => this.onRequest?.({method, path, status, durationMs: Math.round(performance.now() - started), error, originFailure})
    const req = this.client.request({
      protocol: this.target.protocol, hostname: this.target.hostname, port: this.target.port, agent: this.agent,
      method, path, headers: originHeaders(head) as unknown as http.OutgoingHttpHeaders,
    })
    let finished = false
    let answered = false
    req.on('information', (info) => {
      if (!answered) s.sendHead(responseHead(info.statusCode, info.rawHeaders), FLAG_INFO)
    })
    req.on('response', (res: IncomingMessage) => {
      if (s.closed) return void res.destroy()
      answered = true
      const status = res.statusCode ?? 502
      s.sendHead(responseHead(status, res.rawHeaders))
      pipeToStream(res, s)
      res.on('end', () => {
        finished = true
        if (res.rawTrailers.length) s.sendTrailers(trailerPairs(res.rawTrailers))
        else s.end()
        // the origin answered without reading the whole body: stop the upload, keep the response
        if (!s.remoteEnded) s.reset(ResetCode.NO_ERROR)
        report(status)
      })
      res.on('aborted', () => {
        report(status, 'origin closed the response early', 'response')
        s.reset(ResetCode.INTERNAL_ERROR)
      })
      res.on('error', () => s.reset(ResetCode.INTERNAL_ERROR))
    })
    req.on('error', (err) => {
      if (s.closed) return
      if (!answered) {
        this.answerError(s, 'origin-unreachable')
        report(502, (err as NodeJS.ErrnoException).code ?? err.message, 'connect')
      } else {
        s.reset(ResetCode.INTERNAL_ERROR)
      }
    })
    // The edge cancelled (end user left, timeout, body limit): stop the origin request too.
    s.onClose = (code) => {
      if (code !== undefined && !finished) req.destroy()
    }
    // Most requests have no body: the edge ended the stream with its head.
    if (s.remoteEnded) req.end()
    else {
      pipeStreamTo(s, req)
      s.onEnd = () => req.end()
    }
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
    this.agent.destroy()
  }
}
