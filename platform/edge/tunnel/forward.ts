import type {IncomingHttpHeaders, IncomingMessage, ServerResponse} from 'node:http'
import http2 from 'node:http2'
import type {Duplex} from 'node:stream'
import {batchWriter} from '../../../src/protocol/batch.js'
import {type BodyRateLimits, BodyRateWatch} from '../body-rate.js'
import {closeIfBodyUnread, cutEndUser, type EndUserRequest, type EndUserResponse, hasNoBody, isEndUserGone, STATUS_CLIENT_CLOSED} from '../end-user.js'
import {HEADER_TUNNEL_ERROR, HOP_BY_HOP_HEADERS, TUNNEL_HEADER_PREFIX} from '../../../src/protocol/tunnel.js'
import type {TunnelPool} from './pool.js'
import type {TunnelSession} from './session.js'

/** Why the edge could not deliver a response from the origin; the pipeline renders a page for it. */
export type ForwardFailure = 'service_offline' | 'warpgate_lost' | 'origin_unreachable' | 'timeout' | 'payload_too_large' | 'body_timeout'

export interface ForwardTarget {
  environmentId: string
  service: string
  /** path + query as forwarded (normalised by the router) */
  path: string
  /** the Host the end user asked for */
  host: string
  clientIp: string
  /** headers the gate adds (identity, assertion, request id) */
  setHeaders: Record<string, string>
  /** time allowed for the response headers; 0 = no limit */
  responseTimeoutMs: number
  /** most request-body bytes passed on to the origin; counted as they stream, 0 = no limit */
  bodyLimitBytes?: number
  /** how slowly the body may arrive; absent = no limit */
  bodyRate?: BodyRateLimits
}

/** The result for the request log; `failure` set when the edge answered for the origin. */
export interface ForwardResult {
  status: number
  failure?: ForwardFailure
  bytesIn: number
  bytesOut: number
}

const {NGHTTP2_CANCEL} = http2.constants

/**
 * The headers sent over the tunnel: the end user's minus hop-by-hop ones (and those named in
 * Connection), minus anything tunnel-internal, plus X-Forwarded-* and the gate's headers.
 */
export function tunnelRequestHeaders(method: string, headers: IncomingHttpHeaders, t: ForwardTarget): http2.OutgoingHttpHeaders {
  // Most requests name nothing in Connection (HTTP/2 has none): no set to build then.
  const named = headers.connection ? new Set(String(headers.connection).toLowerCase().split(',').map((s) => s.trim()).filter(Boolean)) : undefined
  const out: http2.OutgoingHttpHeaders = {':method': method, ':path': t.path, ':scheme': 'https', ':authority': t.host}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.charCodeAt(0) === 58 /* : */ || name === 'host') continue
    if (HOP_BY_HOP_HEADERS.has(name) || named?.has(name) || name.startsWith(TUNNEL_HEADER_PREFIX)) continue
    if (name.startsWith('x-forwarded-') || name === 'forwarded') continue
    out[name] = value
  }
  if (String(headers.te ?? '').toLowerCase().includes('trailers')) out.te = 'trailers'
  out['x-forwarded-for'] = t.clientIp
  out['x-forwarded-proto'] = 'https'
  out['x-forwarded-host'] = t.host
  for (const [name, value] of Object.entries(t.setHeaders)) out[name.toLowerCase()] = value
  return out
}

/** The origin's response headers as sent to the end user: no pseudo, hop-by-hop or tunnel-internal ones. */
export function endUserResponseHeaders(headers: http2.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.charCodeAt(0) === 58 || HOP_BY_HOP_HEADERS.has(name) || name.startsWith(TUNNEL_HEADER_PREFIX)) continue
    out[name] = value
  }
  return out
}

/** Opens a stream on the best connection; a connection that refuses on the spot is skipped once. */
function open(pool: TunnelPool, t: ForwardTarget, headers: http2.OutgoingHttpHeaders, endStream: boolean, signal?: AbortSignal): http2.ClientHttp2Stream | undefined {
  let tried: TunnelSession | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    const session = pool.pick(t.environmentId, t.service, tried)
    if (!session) return undefined
    try {
      return session.request(headers, {endStream, signal})
    } catch {
      tried = session // closed or went away between pick and request
    }
  }
  return undefined
}

/**
 * Streams one end-user request to a Warpgate and the response back, both ways with back-pressure
 * (pipe respects each side's flow control; the HTTP/2 windows bound what is in flight). Resolves
 * with a failure only while the end user has had no response yet; after that a broken tunnel
 * stream can only be passed on by cutting the end user's response.
 */
export function forwardRequest(pool: TunnelPool, req: EndUserRequest, res: EndUserResponse, t: ForwardTarget): Promise<ForwardResult> {
  const method = req.method ?? 'GET'
  if (isEndUserGone(req, res)) return Promise.resolve({status: STATUS_CLIENT_CLOSED, bytesIn: 0, bytesOut: 0})
  const noBody = hasNoBody(req)
  // close(CANCEL) on a stream whose body is still open sends END_STREAM before the RST, and the
  // origin would take a cut body for a whole one; aborting the signal resets it without the end.
  const abort = noBody ? undefined : new AbortController()
  const stream = open(pool, t, tunnelRequestHeaders(method, req.headers, t), noBody, abort?.signal)
  if (!stream) return Promise.resolve({status: 503, failure: 'service_offline', bytesIn: 0, bytesOut: 0})
  /** Resets the tunnel stream: the Warpgate aborts the origin request. */
  const cancel = () => {
    if (stream.destroyed || stream.closed) return
    if (abort) abort.abort()
    else stream.close(NGHTTP2_CANCEL)
  }

  return new Promise((resolve) => {
    let settled = false
    let bytesIn = 0
    let bytesOut = 0
    let timer: NodeJS.Timeout | undefined
    let watch: BodyRateWatch | undefined
    const settle = (r: ForwardResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // The edge answers for the origin and ends the exchange: the body's pace no longer matters.
      if (r.failure) watch?.stop()
      resolve(r)
    }
    if (t.responseTimeoutMs > 0) {
      timer = setTimeout(() => {
        cancel()
        settle({status: 504, failure: 'timeout', bytesIn, bytesOut: 0})
      }, t.responseTimeoutMs)
    }

    if (!noBody) {
      const limit = t.bodyLimitBytes ?? 0
      // Counts while streaming and passes on at most `limit` bytes: the body is never held whole.
      // A plain write loop (not a Transform and two pipes), chunks of one tick written as one batch.
      let cut = false
      // A body that stops or trickles is cut, so it cannot hold the connection, the tunnel stream
      // and the origin request open; while the tunnel is full the edge is the slow one.
      if (t.bodyRate) watch = new BodyRateWatch(t.bodyRate, () => cutBody(408, 'body_timeout'))
      const paced = watch
      const write = batchWriter(stream, paced ? {pause: () => (paced.pause(), req.pause()), resume: () => (paced.resume(), req.resume())} : req)
      const onBody = (chunk: Buffer) => {
        if (cut || stream.destroyed) return
        bytesIn += chunk.length
        watch?.read(chunk.length)
        if (limit > 0 && bytesIn > limit) return cutBody(413, 'payload_too_large')
        write(chunk)
      }
      const cutBody = (status: number, failure: ForwardFailure) => {
        cut = true
        watch?.stop()
        req.off('data', onBody)
        cancel()
        // The origin already answered: the end user's exchange can only be cut.
        if (res.headersSent) cutEndUser(req, res)
        settle({status, failure, bytesIn, bytesOut})
      }
      req.on('data', onBody)
      req.once('end', () => {
        watch?.stop()
        if (!cut && !stream.destroyed) stream.end()
      })
    }
    // The end user went away: cancel the tunnel stream so the origin stops too.
    res.on('close', () => {
      watch?.stop()
      cancel()
    })

    stream.on('response', (headers) => {
      clearTimeout(timer)
      const status = Number(headers[':status'])
      const tunnelError = headers[HEADER_TUNNEL_ERROR]
      if (tunnelError) {
        stream.resume()
        return settle({status: 502, failure: 'origin_unreachable', bytesIn, bytesOut: 0})
      }
      if (settled) return cancel()
      const out = endUserResponseHeaders(headers)
      // The origin answered before the body was in (an early 401 or 413 of its own).
      if (!noBody) Object.assign(out, closeIfBodyUnread(req, res))
      res.writeHead(status, out as never)
      // An event stream's headers go out now, not with the first event; everything else saves the
      // extra packet and sends headers with the first body bytes.
      if (String(headers['content-type']).startsWith('text/event-stream') && 'flushHeaders' in res && typeof res.flushHeaders === 'function') res.flushHeaders()
      // A write loop rather than pipe: the chunk that completes a declared length is written with
      // end(), so a small response leaves as one write (headers, body, end) instead of a write and
      // an empty one; a large one goes out a tunnel read at a time (batchWriter), not a TLS record
      // at a time. Back-pressure: the tunnel stream pauses until the end user's side drains.
      const cl = headers['content-length']
      const declared = method !== 'HEAD' && typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : -1
      const sink = res as ServerResponse
      const write = batchWriter(sink, stream)
      stream.on('data', (chunk: Buffer) => {
        if (sink.writableEnded) return
        bytesOut += chunk.length
        if (bytesOut === declared) sink.end(chunk)
        else write(chunk)
      })
      stream.on('end', () => {
        if (!sink.writableEnded) sink.end()
        settle({status, bytesIn, bytesOut})
      })
    })
    stream.on('close', () => {
      if (settled && res.headersSent) {
        if (!res.writableEnded && stream.rstCode !== undefined && stream.rstCode !== 0) res.destroy()
        return
      }
      if (!res.headersSent) return settle({status: 502, failure: 'warpgate_lost', bytesIn, bytesOut: 0})
      // The body was cut mid-way: the end user must see a broken response, not a short one.
      if (!res.writableEnded) res.destroy()
      settle({status: res.statusCode, bytesIn, bytesOut})
    })
    stream.on('error', () => {
      // 'close' follows and decides.
    })
  })
}

/**
 * Carries an HTTP/1.1 WebSocket upgrade over the tunnel as an extended CONNECT stream (RFC 8441)
 * and splices the two byte streams once the origin accepted. Resolves with the status the end
 * user got (101 on success) or a failure before anything was written.
 */
export function forwardUpgrade(pool: TunnelPool, req: IncomingMessage, socket: Duplex, head: Buffer, t: ForwardTarget): Promise<ForwardResult> {
  const headers = tunnelRequestHeaders('CONNECT', req.headers, t)
  for (const [name, value] of Object.entries(req.headers)) if (name.startsWith('sec-websocket-') && value !== undefined) headers[name] = value
  headers[':protocol'] = String(req.headers.upgrade ?? 'websocket').toLowerCase()
  const stream = open(pool, t, headers, false)
  if (!stream) return Promise.resolve({status: 503, failure: 'service_offline', bytesIn: 0, bytesOut: 0})
  return new Promise((resolve) => {
    let answered = false
    stream.on('response', (h) => {
      answered = true
      const status = Number(h[':status'])
      if (h[HEADER_TUNNEL_ERROR]) {
        stream.close(NGHTTP2_CANCEL)
        return resolve({status: 502, failure: 'origin_unreachable', bytesIn: 0, bytesOut: 0})
      }
      if (status !== 200) {
        // The origin refused the upgrade: pass its answer on as a plain response.
        const lines = [`HTTP/1.1 ${status} ${status === 101 ? 'Switching Protocols' : 'Upgrade Refused'}`, 'connection: close']
        for (const [k, v] of Object.entries(endUserResponseHeaders(h))) for (const one of [v].flat()) lines.push(`${k}: ${one}`)
        socket.write(lines.join('\r\n') + '\r\n\r\n')
        ;(stream as unknown as NodeJS.ReadableStream).pipe(socket as unknown as NodeJS.WritableStream)
        return resolve({status, bytesIn: 0, bytesOut: 0})
      }
      const lines = ['HTTP/1.1 101 Switching Protocols', 'upgrade: websocket', 'connection: Upgrade']
      for (const [k, v] of Object.entries(endUserResponseHeaders(h))) for (const one of [v].flat()) lines.push(`${k}: ${one}`)
      socket.write(lines.join('\r\n') + '\r\n\r\n')
      if (head.length) stream.write(head)
      socket.pipe(stream)
      stream.pipe(socket)
      resolve({status: 101, bytesIn: 0, bytesOut: 0})
    })
    const teardown = () => {
      if (!answered) return resolve({status: 502, failure: 'warpgate_lost', bytesIn: 0, bytesOut: 0})
      socket.destroy()
    }
    stream.on('close', teardown)
    stream.on('error', () => {})
    socket.on('close', () => {
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL)
    })
    socket.on('error', () => {})
  })
}
