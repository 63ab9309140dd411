import http, {type IncomingHttpHeaders, type OutgoingHttpHeaders} from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import {batchWriter} from '../protocol/batch.js'
import {HEADER_TUNNEL_ERROR, HOP_BY_HOP_HEADERS, TUNNEL_HEADER_PREFIX, type TunnelError} from '../protocol/tunnel.js'

/** Serves one tunnel stream (cloudflared's OriginProxy): the seam between transport and origin. */
export interface StreamHandler {
  serveStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void
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

const {NGHTTP2_INTERNAL_ERROR} = http2.constants

/** Headers for the origin: the tunnel's minus pseudo and tunnel-internal ones, Host from :authority. */
function originHeaders(headers: http2.IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.charCodeAt(0) === 58 || name.startsWith(TUNNEL_HEADER_PREFIX) || HOP_BY_HOP_HEADERS.has(name)) continue
    out[name] = value
  }
  out.host = headers[':authority']
  return out
}

/** The origin's response headers as HTTP/2 allows them: no connection-specific ones. */
function tunnelResponseHeaders(status: number, headers: IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {':status': status}
  const named = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()))
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP_HEADERS.has(name) || named.has(name)) continue
    out[name] = value
  }
  return out
}

/**
 * Proxies tunnel streams to the local service over keep-alive connections, streaming both ways
 * (pipe applies back-pressure between the HTTP/2 stream and the origin socket). WebSocket upgrades
 * arrive as extended CONNECT and are replayed to the origin as an HTTP/1.1 upgrade.
 */
export class OriginProxy implements StreamHandler {
  private readonly target: URL
  private readonly agent: http.Agent
  private readonly client: typeof http | typeof https

  constructor(originUrl: string, private readonly onRequest?: (e: OriginRequestEvent) => void) {
    this.target = new URL(originUrl)
    const isHttps = this.target.protocol === 'https:'
    this.client = isHttps ? https : http
    const agentOpts = {keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' as const}
    this.agent = isHttps ? new https.Agent(agentOpts) : new http.Agent(agentOpts)
  }

  serveStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    if (headers[':method'] === 'CONNECT' && headers[':protocol']) return this.serveUpgrade(stream, headers)
    const started = performance.now()
    const method = String(headers[':method'])
    const path = String(headers[':path'] ?? '/')
    const report = (status: number, error?: string) => this.onRequest?.({method, path, status, durationMs: Math.round(performance.now() - started), error})
    const req = this.client.request({
      protocol: this.target.protocol, hostname: this.target.hostname, port: this.target.port, agent: this.agent,
      method, path, headers: originHeaders(headers),
    })
    let finished = false
    req.on('response', (res) => {
      if (stream.destroyed) return res.destroy()
      stream.respond(tunnelResponseHeaders(res.statusCode ?? 502, res.headers))
      // A write loop rather than pipe (fewer listeners per request); chunks of one tick go out as one batch.
      const write = batchWriter(stream, res)
      res.on('data', (chunk: Buffer) => {
        if (!stream.destroyed) write(chunk)
      })
      res.on('end', () => {
        finished = true
        if (!stream.destroyed) stream.end()
        report(res.statusCode ?? 0)
      })
      res.on('error', () => stream.close(NGHTTP2_INTERNAL_ERROR))
      res.on('aborted', () => {
        report(res.statusCode ?? 0, 'origin closed the response early')
        stream.close(NGHTTP2_INTERNAL_ERROR)
      })
    })
    req.on('error', (err) => {
      if (stream.destroyed || stream.closed) return
      if (!stream.headersSent) {
        this.answerError(stream, 'origin-unreachable')
        report(502, (err as NodeJS.ErrnoException).code ?? err.message)
      } else {
        stream.close(NGHTTP2_INTERNAL_ERROR)
      }
    })
    // The edge cancelled (end user left, or timeout): stop the origin request too.
    stream.on('close', () => {
      if (!finished) req.destroy()
    })
    stream.on('error', () => req.destroy())
    // Most requests have no body: the edge ended the stream with its headers.
    if (stream.endAfterHeaders) req.end()
    else {
      const write = batchWriter(req, stream)
      stream.on('data', (chunk: Buffer) => {
        if (!req.destroyed) write(chunk)
      })
      // Node also ends a stream the edge reset: a cut body must not reach the origin as a whole one.
      stream.on('end', () => {
        if (stream.rstCode) req.destroy()
        else req.end()
      })
    }
  }

  private answerError(stream: http2.ServerHttp2Stream, error: TunnelError): void {
    stream.respond({':status': 502, [HEADER_TUNNEL_ERROR]: error}, {endStream: true})
  }

  private serveUpgrade(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const started = performance.now()
    const path = String(headers[':path'] ?? '/')
    const h = originHeaders(headers)
    h.connection = 'Upgrade'
    h.upgrade = String(headers[':protocol'])
    const req = this.client.request({
      protocol: this.target.protocol, hostname: this.target.hostname, port: this.target.port,
      method: 'GET', path, headers: h, agent: false,
    })
    const report = (status: number, error?: string) => this.onRequest?.({method: 'GET', path, status, durationMs: Math.round(performance.now() - started), error})
    req.on('upgrade', (res, socket, head) => {
      if (stream.destroyed) return socket.destroy()
      stream.respond(tunnelResponseHeaders(200, res.headers))
      if (head.length) stream.write(head)
      socket.pipe(stream)
      stream.pipe(socket)
      socket.on('error', () => stream.close(NGHTTP2_INTERNAL_ERROR))
      socket.on('close', () => stream.end())
      stream.on('close', () => socket.destroy())
      report(101)
    })
    req.on('response', (res) => {
      // The origin refused the upgrade: pass its answer on.
      if (stream.destroyed) return res.destroy()
      stream.respond(tunnelResponseHeaders(res.statusCode ?? 502, res.headers))
      res.pipe(stream)
      report(res.statusCode ?? 0)
    })
    req.on('error', (err) => {
      if (stream.destroyed || stream.closed) return
      if (!stream.headersSent) this.answerError(stream, 'origin-unreachable')
      else stream.close(NGHTTP2_INTERNAL_ERROR)
      report(502, (err as NodeJS.ErrnoException).code ?? err.message)
    })
    stream.on('error', () => req.destroy())
    req.end()
  }

  close(): void {
    this.agent.destroy()
  }
}
