import {randomBytes} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import http2 from 'node:http2'
import type {Duplex} from 'node:stream'
import type {TLSSocket} from 'node:tls'
import type {Route} from '../../src/lib/api-types/index.js'
import {HEADER_EDGE_ERROR, HEADER_REQUEST_ID} from '../../src/protocol/headers.js'
import type {PlatformConfig} from '../config.js'
import {type CertificateResolver, certificateHooks} from './certificates.js'
import type {ConfigSource} from './config-source.js'
import {type EdgeObserver, ROUTE_AUTH, ROUTE_NONE} from './observer.js'
import {discardRequestLog, type EdgeProblem, type Gate, minimalPages, type PageRenderer, publicGate, type RequestLogSink, stripIdentityHeaders} from './pipeline.js'
import {buildRouteTable, matchRoute, normaliseHost, normalisePath, type RouteTable} from './router.js'
import {closeIfBodyUnread, type EndUserRequest, type EndUserResponse, isEndUserGone, STATUS_CLIENT_CLOSED} from './end-user.js'
import {type ForwardFailure, forwardRequest, forwardUpgrade} from './tunnel/forward.js'
import type {TunnelPool} from './tunnel/pool.js'
import {listenOn} from '../listen.js'

/** TLS 1.2 suites offered to end users: ECDHE key exchange with AEAD ciphers only (TLS 1.3's are all AEAD). */
export const END_USER_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

export interface EdgeServerOptions {
  host: string
  port: number
  tls: {key: string; cert: string}
  /** certificates by SNI before the default `tls` one (ACME), and TLS-ALPN-01 challenges */
  certificates?: CertificateResolver
  limits: PlatformConfig['edge']
  source: ConfigSource
  pool: TunnelPool
  /** login / policy / identity headers (issue 5); default: strip mezu-* and forward */
  gate?: Gate
  /** error pages; default: minimal HTML or JSON */
  pages?: PageRenderer
  /** request metadata for `mezu logs`; default: discarded */
  requestLog?: RequestLogSink
  /** metrics (request counts, durations, bytes per route and status class); absent: none kept */
  observer?: EdgeObserver
  /** the login host (auth.<domain>) and its handler (issue 5); absent: no login host */
  auth?: {host: string; handler: (req: EndUserRequest, res: EndUserResponse) => void}
}

const REQUEST_ID = HEADER_REQUEST_ID.toLowerCase()

const PROBLEMS: Record<ForwardFailure | 'unknown_host' | 'bad_request' | 'uri_too_long', {status: number; title: string; message: string}> = {
  'bad_request': {status: 400, title: 'Bad request', message: 'The request target or Host header is not valid.'},
  'uri_too_long': {status: 414, title: 'URI too long', message: 'The request URL is longer than this edge accepts.'},
  'unknown_host': {status: 404, title: 'Not found', message: 'No service is published at this address.'},
  'service_offline': {status: 503, title: 'Service offline', message: 'The service is offline: no Warpgate is connected for it.'},
  'warpgate_lost': {status: 502, title: 'Bad gateway', message: 'The connection to the service was lost while handling the request.'},
  'origin_unreachable': {status: 502, title: 'Bad gateway', message: 'The service is not answering.'},
  'origin_invalid': {status: 502, title: 'Bad gateway', message: 'The service sent a response that is not valid HTTP/1.1.'},
  timeout: {status: 504, title: 'Gateway timeout', message: 'The service did not answer in time.'},
  'payload_too_large': {status: 413, title: 'Payload too large', message: 'The request body is larger than this route accepts.'},
  'body_timeout': {status: 408, title: 'Request timeout', message: 'The request body arrived too slowly.'},
}

let isoMs = -1
let isoString = ''

/** new Date().toISOString(), formatted at most once per millisecond (every request-log entry needs it). */
function isoNow(): string {
  const now = Date.now()
  if (now !== isoMs) {
    isoMs = now
    isoString = new Date(now).toISOString()
  }
  return isoString
}

/** The end-user TLS settings: TLS 1.2 minimum, our cipher order. */
function secureOptions(tls: {key: string; cert: string}) {
  return {key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' as const, ciphers: END_USER_CIPHERS, honorCipherOrder: true}
}

/**
 * The end-user listener. HTTPS with ALPN h2 and http/1.1 (browsers get HTTP/2), TLS 1.2 minimum.
 * Each request goes through the pipeline: route → gate → forward, every step working from the
 * in-memory snapshot; nothing here touches a database.
 */
export class EdgeServer {
  readonly server: http2.Http2SecureServer
  private routes: RouteTable
  private readonly gate: Gate
  private readonly pages: PageRenderer
  private readonly log: RequestLogSink
  private readonly observer?: EdgeObserver
  private readonly unsubscribe: () => void
  private readonly idPrefix = randomBytes(4).toString('hex')
  private counter = 0
  private readonly sockets = new Set<TLSSocket>()

  constructor(private readonly opts: EdgeServerOptions) {
    this.gate = opts.gate ?? publicGate
    this.pages = opts.pages ?? minimalPages
    this.log = opts.requestLog ?? discardRequestLog
    this.observer = opts.observer
    let routes = opts.source.get().routes
    this.routes = buildRouteTable(routes)
    // A new snapshot replaces the table whole; requests in flight keep the route they matched.
    // Most snapshots change identity only and share the routes list: the table is kept then.
    this.unsubscribe = opts.source.onChange((s) => {
      if (s.routes === routes) return
      routes = s.routes
      this.routes = buildRouteTable(routes)
    })
    this.server = http2.createSecureServer({
      ...secureOptions(opts.tls),
      ...(opts.certificates && certificateHooks(opts.certificates)),
      allowHTTP1: true,
      maxSessionMemory: 64,
      // a client that opens TCP and never finishes the TLS handshake is cut as soon as a slow header would be
      handshakeTimeout: opts.limits.headersTimeoutMs,
      // A stream whose client does not read holds up to a tunnel stream window at the edge
      // (back-pressure stops the origin there); the stream cap bounds that per connection.
      settings: {maxHeaderListSize: opts.limits.maxHeaderBytes, initialWindowSize: 1024 * 1024, maxConcurrentStreams: opts.limits.maxConcurrentStreams},
    })
    this.server.on('request', (req, res) => void this.handle(req, res))
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket, head))
    this.server.on('sessionError', () => {})
    this.server.on('session', (session) => this.limitResets(session))
    this.server.on('secureConnection', (socket: TLSSocket) => {
      // Responses are written as header + body writes; Nagle would hold the second one for an ACK.
      socket.setNoDelay(true)
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    // Idle: an HTTP/1 keep-alive socket or an HTTP/2 session with nothing in flight is closed.
    this.server.setTimeout(opts.limits.idleTimeoutMs)
    // Slow headers (slowloris): Node answers 408 and closes, but only notices on its connection
    // sweep, every connectionsCheckingInterval (30 s by default), so the sweep runs at the
    // resolution of the configured timeout. Node sets these fields for allowHTTP1 servers and
    // reads them when the server starts listening.
    // Node also gives an allowHTTP1 server a 300 s requestTimeout for receiving a whole request,
    // which would answer 408 to any upload slower than that (100 MiB at under 350 KB/s). A stalled
    // body is already cut by the idle timeout above; a progressing one must be allowed to finish.
    const http1 = this.server as unknown as {headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number}
    http1.requestTimeout = 0
    http1.headersTimeout = opts.limits.headersTimeoutMs
    http1.connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor(opts.limits.headersTimeoutMs / 4)))
  }

  /**
   * HTTP/2 rapid reset (CVE-2023-44487): a stream the client resets before it was answered costs
   * the edge work but the client nothing. Such resets spend the connection's budget; when it runs
   * out, GOAWAY (ENHANCE_YOUR_CALM) and the connection is closed.
   */
  private limitResets(session: http2.ServerHttp2Session): void {
    const {burst, perSecond} = this.opts.limits.streamResets
    let tokens = burst
    let at = performance.now()
    session.on('stream', (stream) => stream.once('close', () => {
      if (stream.headersSent || session.closed || session.destroyed) return
      const now = performance.now()
      tokens = Math.min(burst, tokens + ((now - at) / 1000) * perSecond)
      at = now
      if (--tokens >= 0) return
      // The error only reaches 'sessionError'; the code goes into the GOAWAY.
      session.destroy(new Error('too many streams reset by the client'), http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)
    }))
  }

  private nextRequestId(): string {
    return `${this.idPrefix}${(this.counter++).toString(36).padStart(6, '0')}`
  }

  private route(req: EndUserRequest | IncomingMessage): {route?: Route; host?: string; path?: string; search?: string; problem?: 'bad_request' | 'unknown_host' | 'uri_too_long'} {
    const rawHost = (req.headers[':authority'] as string | undefined) ?? req.headers.host
    if (Buffer.byteLength(req.url ?? '') > this.opts.limits.maxUrlBytes) return {problem: 'uri_too_long'}
    const host = normaliseHost(rawHost)
    // Routing sees the path the policy is checked on: one normalisation for both (path.ts).
    const target = normalisePath(req.url)
    if (!host || !target) return {problem: 'bad_request'}
    const route = matchRoute(this.routes, host, target.path)
    if (route === 'ambiguous') return {problem: 'bad_request'}
    if (!route) return {problem: 'unknown_host', host, path: target.path}
    return {route, host: rawHost!, path: target.path, search: target.search}
  }

  private async handle(req: EndUserRequest, res: EndUserResponse): Promise<void> {
    const started = performance.now()
    const requestId = this.nextRequestId()
    const clientIp = req.socket?.remoteAddress ?? ''
    const auth = this.opts.auth
    if (auth && normaliseHost((req.headers[':authority'] as string | undefined) ?? req.headers.host) === auth.host) {
      // the login host's pages carry the request id too, like every page the edge writes
      res.setHeader(REQUEST_ID, requestId)
      res.once('finish', () => {
        const ms = performance.now() - started
        this.observer?.request(ROUTE_AUTH, res.statusCode, ms / 1000, 0, 0)
        this.log.append({
          time: isoNow(), requestId, routeId: null, host: auth.host, method: req.method ?? '', path: (req.url ?? '').split('?')[0],
          status: res.statusCode, durationMs: Math.round(ms), bytesIn: 0, bytesOut: 0, clientIp,
          tlsVersion: (req.socket as TLSSocket | undefined)?.getProtocol?.() ?? null, protocol: req.httpVersionMajor === 2 ? 'h2' : 'http/1.1',
        })
      })
      return auth.handler(req, res)
    }
    const {route, host, path, search, problem} = this.route(req)
    const finish = (status: number, bytesIn: number, bytesOut: number) => {
      const ms = performance.now() - started
      this.observer?.request(route?.id ?? ROUTE_NONE, status, ms / 1000, bytesIn, bytesOut)
      this.log.append({
        time: isoNow(), requestId, routeId: route?.id ?? null, host: host ?? '', method: req.method ?? '', path: path ?? '',
        status, durationMs: Math.round(ms), bytesIn, bytesOut, clientIp,
        tlsVersion: (req.socket as TLSSocket | undefined)?.getProtocol?.() ?? null, protocol: req.httpVersionMajor === 2 ? 'h2' : 'http/1.1',
      })
    }
    try {
      if (!route) return finish(this.problem(req, res, problem!, requestId), 0, 0)
      // A stream reset as soon as it was opened gets no work done for it (rapid reset).
      if (isEndUserGone(req, res)) return finish(STATUS_CLIENT_CLOSED, 0, 0)
      const decision = await this.gate({method: req.method ?? 'GET', path: path!, host: host!, headers: req.headers, url: req.url ?? '/', rawHeaders: req.rawHeaders, httpVersion: req.httpVersion, body: req as AsyncIterable<Buffer>, requestId}, route, clientIp)
      if (decision.action === 'respond') {
        res.writeHead(decision.status, {...decision.headers, ...closeIfBodyUnread(req, res), [REQUEST_ID]: requestId} as never)
        res.end(decision.body)
        return finish(decision.status, 0, Buffer.byteLength(decision.body))
      }
      // A declared length over the route's limit is refused before anything reaches the origin;
      // a chunked or HTTP/2 body is counted while it streams (forwardRequest).
      const bodyLimitBytes = route.bodyLimitBytes ?? this.opts.limits.defaultBodyLimitBytes
      if (Number(req.headers['content-length'] ?? 0) > bodyLimitBytes) return finish(this.problem(req, res, 'payload_too_large', requestId), 0, 0)
      // Whatever the gate did, no inbound mezu-* header reaches the origin: only the gate's own.
      stripIdentityHeaders(req.headers)
      const result = await forwardRequest(this.opts.pool, req, res, {
        environmentId: route.environmentId, service: route.service, path: decision.target ?? path! + search!, host: host!, clientIp,
        setHeaders: decision.setHeaders, requestId,
        responseTimeoutMs: this.opts.limits.requestTimeoutMs, bodyLimitBytes, bodyRate: this.opts.limits,
      })
      if (result.failure && !res.headersSent) this.problem(req, res, result.failure, requestId)
      finish(result.status, result.bytesIn, result.bytesOut)
    } catch {
      // A throwing gate or a broken stream: the end user gets a 502, never a hang.
      try {
        if (!res.headersSent) this.problem(req, res, 'warpgate_lost', requestId)
        else res.destroy()
      } catch {
        res.destroy()
      }
      finish(502, 0, 0)
    }
  }

  private problem(req: EndUserRequest, res: EndUserResponse, code: keyof typeof PROBLEMS, requestId: string): number {
    const p = PROBLEMS[code]
    // The end user already left: nobody to answer.
    if (res.destroyed || res.writableEnded || ('stream' in res && res.stream?.destroyed)) return p.status
    const problem: EdgeProblem = {status: p.status, code, title: p.title, message: p.message, requestId}
    const page = this.pages(req, problem)
    // A body that is over the limit, too slow, or not read to its end for another reason ends
    // the exchange after the answer (closeIfBodyUnread); until then what arrives is discarded.
    const close = closeIfBodyUnread(req, res)
    req.resume()
    res.writeHead(page.status, {...page.headers, ...close, 'cache-control': 'no-store', [HEADER_EDGE_ERROR.toLowerCase()]: code, [REQUEST_ID]: requestId})
    res.end(page.body)
    return p.status
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {})
    const started = performance.now()
    const requestId = this.nextRequestId()
    const clientIp = req.socket.remoteAddress ?? ''
    const {route, host, path, search, problem} = this.route(req)
    // one entry per upgrade, when it is answered (101 or a refusal); the spliced bytes are not counted
    const finish = (status: number) => {
      const ms = performance.now() - started
      this.observer?.request(route?.id ?? ROUTE_NONE, status, ms / 1000, 0, 0)
      this.log.append({
        time: isoNow(), requestId, routeId: route?.id ?? null, host: host ?? '', method: req.method ?? '', path: path ?? '',
        status, durationMs: Math.round(ms), bytesIn: 0, bytesOut: 0, clientIp,
        tlsVersion: (req.socket as TLSSocket | undefined)?.getProtocol?.() ?? null, protocol: 'http/1.1',
      })
    }
    const refuse = (code: keyof typeof PROBLEMS) => {
      const p = PROBLEMS[code]
      finish(p.status)
      const page = this.pages(req, {status: p.status, code, title: p.title, message: p.message, requestId})
      const headers = {...page.headers, 'content-length': String(Buffer.byteLength(page.body)), connection: 'close', [HEADER_EDGE_ERROR.toLowerCase()]: code, [REQUEST_ID]: requestId}
      socket.end(`HTTP/1.1 ${p.status} ${p.title}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${page.body}`)
    }
    if (!route) return refuse(problem!)
    if (String(req.headers.upgrade).toLowerCase() !== 'websocket') return refuse('bad_request')
    const decision = await this.gate({method: req.method ?? 'GET', path: path!, host: host!, headers: req.headers, url: req.url ?? '/', rawHeaders: req.rawHeaders, httpVersion: req.httpVersion, requestId}, route, clientIp)
    if (decision.action === 'respond') {
      const body = Buffer.from(decision.body)
      const lines = [`HTTP/1.1 ${decision.status} Refused`, `content-length: ${body.length}`, 'connection: close', `${REQUEST_ID}: ${requestId}`]
      for (const [k, v] of Object.entries(decision.headers)) for (const one of [v].flat()) lines.push(`${k}: ${one}`)
      socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]))
      return finish(decision.status)
    }
    stripIdentityHeaders(req.headers)
    const result = await forwardUpgrade(this.opts.pool, req, socket, head, {
      environmentId: route.environmentId, service: route.service, path: decision.target ?? path! + search!, host: host!, clientIp,
      setHeaders: decision.setHeaders, requestId,
      responseTimeoutMs: this.opts.limits.requestTimeoutMs,
    })
    if (result.failure) refuse(result.failure)
    else finish(result.status)
  }

  /**
   * Serves a new certificate to connections from now on; open connections keep theirs. The TLS
   * settings are given again whole, since setSecureContext replaces all of them.
   */
  setCertificate(tls: {key: string; cert: string}): void {
    this.server.setSecureContext(secureOptions(tls))
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.opts.port, this.opts.host)
  }

  /** Stops accepting, ends open connections; safe to call twice. */
  async close(): Promise<void> {
    this.unsubscribe()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
  }
}
