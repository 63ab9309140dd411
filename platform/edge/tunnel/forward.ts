import type {IncomingHttpHeaders, IncomingMessage, ServerResponse} from 'node:http'
import type {Duplex} from 'node:stream'
import {FLAG_END_STREAM, FLAG_INFO, FLAG_UPGRADE, type HeadFields, ResetCode} from '../../../src/protocol/frames.js'
import {RESPONSE_PAIRS_AT} from '../../../src/protocol/head.js'
import {EDGE_COOKIES, HEADER_REQUEST_ID, IDENTITY_HEADER_PREFIX} from '../../../src/protocol/headers.js'
import type {MuxStream} from '../../../src/protocol/mux.js'
import {pipeStreamTo, pipeToStream} from '../../../src/protocol/stream-pipe.js'
import {HEADER_TUNNEL_ERROR, HOP_BY_HOP_HEADERS, TUNNEL_HEADER_PREFIX} from '../../../src/protocol/tunnel.js'
import {type BodyRateLimits, BodyRateWatch} from '../body-rate.js'
import {closeIfBodyUnread, cutEndUser, type EndUserRequest, type EndUserResponse, hasNoBody, isEndUserGone, STATUS_CLIENT_CLOSED} from '../end-user.js'
import type {TunnelPool} from './pool.js'
import type {TunnelSession} from './session.js'

/** Why the edge could not deliver a response from the origin; the pipeline renders a page for it. */
export type ForwardFailure = 'service_offline' | 'warpgate_lost' | 'origin_unreachable' | 'origin_invalid' | 'timeout' | 'payload_too_large' | 'body_timeout'

/** The failure a Warpgate's own 502 stands for: its origin sent what is not HTTP, or could not be reached. */
function tunnelFailure(fields: HeadFields): ForwardFailure {
  return fields[RESPONSE_PAIRS_AT] === HEADER_TUNNEL_ERROR && fields[RESPONSE_PAIRS_AT + 1] === 'origin-failed' ? 'origin_invalid' : 'origin_unreachable'
}

export interface ForwardTarget {
  environmentId: string
  service: string
  /** path + query as forwarded (normalised by the router) */
  path: string
  /** the Host the end user asked for */
  host: string
  clientIp: string
  /** headers the gate adds (identity, assertion) */
  setHeaders: Record<string, string>
  /** the edge's id for this request, sent to the origin and echoed to the end user as Mezu-Request-Id */
  requestId: string
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

const REQUEST_ID = HEADER_REQUEST_ID.toLowerCase()

/**
 * The request head sent over the tunnel: method, path, authority, then the end user's headers
 * minus hop-by-hop ones (and those named in Connection), minus anything tunnel-internal, plus
 * X-Forwarded-* and the gate's headers.
 */
export function tunnelRequestHead(method: string, headers: IncomingHttpHeaders, t: ForwardTarget): HeadFields {
  // Most requests name nothing in Connection (HTTP/2 has none): no set to build then.
  const named = headers.connection ? new Set(String(headers.connection).toLowerCase().split(',').map((s) => s.trim()).filter(Boolean)) : undefined
  const out: HeadFields = [method, t.path, t.host]
  for (const name in headers) {
    const value = headers[name]
    if (value === undefined || name.charCodeAt(0) === 58 /* : */ || name === 'host') continue
    if (HOP_BY_HOP_HEADERS.has(name) || named?.has(name) || name.startsWith(TUNNEL_HEADER_PREFIX)) continue
    if (name.startsWith('x-forwarded-') || name === 'forwarded') continue
    if (typeof value === 'string') out.push(name, value)
    else for (const v of value) out.push(name, v)
  }
  out.push('x-forwarded-for', t.clientIp, 'x-forwarded-proto', 'https', 'x-forwarded-host', t.host)
  for (const name in t.setHeaders) out.push(name.toLowerCase(), t.setHeaders[name])
  out.push(REQUEST_ID, t.requestId)
  return out
}

const EDGE_PREFIX_FIRST = IDENTITY_HEADER_PREFIX.charCodeAt(0)

/**
 * The origin's response headers as sent to the end user: no hop-by-hop ones, nothing in the
 * edge's namespace (Mezu-*, tunnel-internal ones included, and Mezu_*, which some stacks read as
 * Mezu-*), and no Set-Cookie for the edge's own cookies. An origin or Warpgate must not be able to
 * pass for the edge (Mezu-Edge-Error, identity) or plant or clear the edge's session.
 */
export function endUserResponseHeaders(head: HeadFields): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (let i = RESPONSE_PAIRS_AT; i + 1 < head.length; i += 2) {
    const name = head[i]
    const value = head[i + 1]
    if (HOP_BY_HOP_HEADERS.has(name)) continue
    if (name.charCodeAt(0) === EDGE_PREFIX_FIRST && name.replaceAll('_', '-').startsWith(IDENTITY_HEADER_PREFIX)) continue
    if (name === 'set-cookie' && EDGE_COOKIES.has(setCookieName(value))) continue
    const prev = out[name]
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value
    else if (Array.isArray(prev)) prev.push(value)
    else out[name] = [prev, value]
  }
  return out
}

/** A Set-Cookie value's cookie name as browsers read it: before the first "=" of the part before ";", trimmed. */
function setCookieName(value: string): string {
  const pair = value.split(';', 1)[0]!
  const eq = pair.indexOf('=')
  return eq === -1 ? '' : pair.slice(0, eq).trim()
}

function pairs(fields: HeadFields): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]] = fields[i + 1]
  return out
}

/** Opens a stream on the best connection; a connection that refuses on the spot is skipped once. */
function open(pool: TunnelPool, t: ForwardTarget, head: HeadFields, flags: number): MuxStream | undefined {
  let tried: TunnelSession | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    const session = pool.pick(t.environmentId, t.service, tried)
    if (!session) return undefined
    try {
      return session.request(head, flags)
    } catch {
      tried = session // closed or went away between pick and request
    }
  }
  return undefined
}

/**
 * Streams one end-user request to a Warpgate and the response back, both ways under the stream's
 * credit (the tunnel only gets credit back for bytes the end user's side accepted). A response
 * head, body and end that arrive in one read leave as one writeHead + end. Resolves with a failure
 * only while the end user has had no response yet; after that a broken tunnel stream can only be
 * passed on by cutting the end user's response.
 */
export function forwardRequest(pool: TunnelPool, req: EndUserRequest, res: EndUserResponse, t: ForwardTarget): Promise<ForwardResult> {
  const method = req.method ?? 'GET'
  // a stream the client already reset (rapid reset) is never sent on
  if (isEndUserGone(req, res)) return Promise.resolve({status: STATUS_CLIENT_CLOSED, bytesIn: 0, bytesOut: 0})
  const noBody = hasNoBody(req)
  const s = open(pool, t, tunnelRequestHead(method, req.headers, t), noBody ? FLAG_END_STREAM : 0)
  if (!s) return Promise.resolve({status: 503, failure: 'service_offline', bytesIn: 0, bytesOut: 0})
  const out = res as ServerResponse

  return new Promise((resolve) => {
    let settled = false
    let bytesIn = 0
    let bytesOut = 0
    let status = 0
    let timer: NodeJS.Timeout | undefined
    let watch: BodyRateWatch | undefined
    const settle = (r: ForwardResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // the edge answers for the origin and ends the exchange: the body's pace no longer matters
      if (r.failure) watch?.stop()
      // the edge answers a failure with its own page: nothing more from the stream reaches the end user
      if (r.failure) s.onHead = s.onData = s.onEnd = s.onTrailers = s.onClose = s.onReadDone = null
      resolve(r)
    }
    if (t.responseTimeoutMs > 0) {
      timer = setTimeout(() => {
        settle({status: 504, failure: 'timeout', bytesIn, bytesOut: 0})
        s.reset(ResetCode.CANCEL)
      }, t.responseTimeoutMs)
    }

    if (!noBody) {
      const limit = t.bodyLimitBytes ?? 0
      // Counts while streaming and passes on at most `limit` bytes: the body is never held whole.
      let cut = false
      // A body that stops or trickles is cut, so it cannot hold the connection, the tunnel stream
      // and the origin request open; while the tunnel waits for credit the edge is the slow one.
      if (t.bodyRate) watch = new BodyRateWatch(t.bodyRate, () => cutBody(408, 'body_timeout'))
      const onBody = (chunk: Buffer) => {
        if (cut) return
        bytesIn += chunk.length
        watch?.read(chunk.length)
        if (limit > 0 && bytesIn > limit) cutBody(413, 'payload_too_large')
      }
      const cutBody = (status: number, failure: ForwardFailure) => {
        cut = true
        req.pause()
        // The origin already answered: the end user's exchange can only be cut.
        if (res.headersSent) cutEndUser(req, res)
        settle({status, failure, bytesIn, bytesOut})
        s.reset(ResetCode.CANCEL)
      }
      const paced = watch
      pipeToStream(paced ? {on: (e, fn) => req.on(e, fn), pause: () => (paced.pause(), req.pause()), resume: () => (paced.resume(), req.resume())} : req, s, onBody)
      req.once('end', () => {
        watch?.stop()
        if (cut) return
        const trailers = (req as IncomingMessage).rawTrailers
        if (trailers?.length) {
          const f: HeadFields = []
          for (let i = 0; i < trailers.length; i += 2) f.push(trailers[i].toLowerCase(), trailers[i + 1])
          s.sendTrailers(f)
        } else {
          s.end()
        }
      })
    }
    // The end user went away: cancel the tunnel stream so the origin stops too.
    res.on('close', () => {
      watch?.stop()
      s.reset(ResetCode.CANCEL)
    })

    let head: HeadFields | undefined
    /** body chunks that arrived with the head, written with it */
    let early: Buffer[] | undefined
    const writeHead = () => {
      const h = endUserResponseHeaders(head!)
      head = undefined
      h[REQUEST_ID] = t.requestId
      // The origin answered before the body was in (an early 401 or 413 of its own).
      if (!noBody) Object.assign(h, closeIfBodyUnread(req, res))
      out.writeHead(status, h as never)
    }
    const streaming = () => {
      // from here on the tunnel's data goes straight to the end user, credit following what it takes
      s.onReadDone = null
      pipeStreamTo(s, out, (chunk) => {
        bytesOut += chunk.length
        return true
      })
    }
    s.onHead = (fields, flags) => {
      clearTimeout(timer)
      if (flags & FLAG_INFO) {
        if (fields[0] === '103' && 'writeEarlyHints' in out) out.writeEarlyHints(endUserResponseHeaders(fields) as never)
        return
      }
      status = Number(fields[0])
      if (fields[RESPONSE_PAIRS_AT] === HEADER_TUNNEL_ERROR || settled) {
        settle({status: 502, failure: tunnelFailure(fields), bytesIn, bytesOut: 0})
        return s.reset(ResetCode.CANCEL)
      }
      head = fields
      early = []
      s.onData = (chunk) => early!.push(chunk)
      s.onReadDone = () => {
        if (!head) return
        // more is coming: send the head now (an event stream must not wait for its first event)
        writeHeadAndEarly()
        streaming()
      }
    }
    const writeHeadAndEarly = () => {
      writeHead()
      let taken = 0
      let full = false
      for (const c of early!) {
        taken += c.length
        if (!out.write(c)) full = true
      }
      bytesOut += taken
      // credit goes back once the end user's side took these bytes
      if (full) out.once('drain', () => s.consumed(taken))
      else s.consumed(taken)
      early = undefined
    }
    s.onTrailers = (fields) => {
      // head, body and trailers in one read: the body goes before the trailers
      if (head) writeHeadAndEarly()
      out.addTrailers(pairs(fields))
    }
    s.onEnd = () => {
      if (head) {
        // head, body and end in one read: one writeHead + end
        const body = early!.length === 1 ? early![0] : Buffer.concat(early!)
        bytesOut += body.length
        writeHead()
        out.end(body)
        early = undefined
      } else if (!out.writableEnded) {
        out.end()
      }
      settle({status, bytesIn, bytesOut})
    }
    s.onClose = (code) => {
      // clean; a NO_ERROR reset after a complete response only stopped our upload
      if (code === undefined || (code === ResetCode.NO_ERROR && s.remoteEnded)) return
      if (!settled && status === 0) return settle({status: 502, failure: 'warpgate_lost', bytesIn, bytesOut: 0})
      // The body was cut mid-way: the end user must see a broken response, not a short one.
      if (!out.writableEnded) cutEndUser(req, res)
      settle({status: status || 502, bytesIn, bytesOut})
    }
  })
}

/**
 * Carries an HTTP/1.1 WebSocket upgrade over the tunnel as a stream flagged UPGRADE and splices
 * the two byte streams once the origin accepted. Resolves with the status the end user got (101
 * on success) or a failure before anything was written.
 */
export function forwardUpgrade(pool: TunnelPool, req: IncomingMessage, socket: Duplex, rest: Buffer, t: ForwardTarget): Promise<ForwardResult> {
  const head = tunnelRequestHead(req.method ?? 'GET', req.headers, t)
  head.push('upgrade', String(req.headers.upgrade ?? 'websocket').toLowerCase())
  const s = open(pool, t, head, FLAG_UPGRADE)
  if (!s) return Promise.resolve({status: 503, failure: 'service_offline', bytesIn: 0, bytesOut: 0})
  return new Promise((resolve) => {
    let answered = false
    s.onHead = (fields, flags) => {
      if (flags & FLAG_INFO) return
      answered = true
      const status = Number(fields[0])
      if (fields[RESPONSE_PAIRS_AT] === HEADER_TUNNEL_ERROR) {
        s.reset(ResetCode.CANCEL)
        return resolve({status: 502, failure: tunnelFailure(fields), bytesIn: 0, bytesOut: 0})
      }
      const lines = status === 101
        ? ['HTTP/1.1 101 Switching Protocols', 'upgrade: websocket', 'connection: Upgrade']
        // The origin refused the upgrade: pass its answer on as a plain response.
        : [`HTTP/1.1 ${status} Upgrade Refused`, 'connection: close']
      for (const [k, v] of Object.entries(endUserResponseHeaders(fields))) for (const one of [v].flat()) lines.push(`${k}: ${one}`)
      lines.push(`${REQUEST_ID}: ${t.requestId}`)
      socket.write(lines.join('\r\n') + '\r\n\r\n')
      pipeStreamTo(s, socket)
      s.onEnd = () => socket.end()
      if (status === 101) {
        if (rest.length) s.write(rest)
        pipeToStream(socket, s)
        socket.on('end', () => s.end())
      }
      resolve({status, bytesIn: 0, bytesOut: 0})
    }
    s.onClose = (code) => {
      if (!answered) return resolve({status: 502, failure: 'warpgate_lost', bytesIn: 0, bytesOut: 0})
      if (code !== undefined) socket.destroy()
      else socket.end()
    }
    socket.on('close', () => s.reset(ResetCode.CANCEL))
    socket.on('error', () => {})
  })
}
