import type {IncomingMessage, ServerResponse} from 'node:http'
import http2 from 'node:http2'

export type EndUserRequest = IncomingMessage | http2.Http2ServerRequest
export type EndUserResponse = ServerResponse | http2.Http2ServerResponse

/** Logged for a request whose client went away before it was forwarded (nginx's 499). */
export const STATUS_CLIENT_CLOSED = 499

/** Whether the request comes without a body (HTTP/2: the client ended the stream with its headers). */
export function hasNoBody(req: EndUserRequest): boolean {
  if ('stream' in req && req.stream) return req.stream.endAfterHeaders
  const h = req.headers
  return h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0')
}

/** Whether the whole request body has arrived, read or not (none counts as arrived). */
export function hasWholeBody(req: EndUserRequest): boolean {
  // HTTP/2: the client's END_STREAM, which `complete` only shows once the body was read.
  if ('stream' in req && req.stream) return req.stream.endAfterHeaders || req.complete || req.stream.state.remoteClose === 1
  return req.complete || hasNoBody(req)
}

/**
 * Whether the end user is gone: an HTTP/2 stream the client reset (rapid reset) or an HTTP/1
 * connection that closed. Checked before work is done for a request, after every await.
 */
export function isEndUserGone(req: EndUserRequest, res: EndUserResponse): boolean {
  if ('stream' in res && res.stream) return res.stream.destroyed || res.stream.closed
  return res.destroyed || req.socket?.destroyed !== false
}

/**
 * Cuts the exchange mid-way, so the end user sees a broken response, never a short one that looks
 * whole: HTTP/2 resets the stream with INTERNAL_ERROR (a plain destroy would say NO_ERROR), HTTP/1
 * closes the connection even after its response finished.
 */
export function cutEndUser(req: EndUserRequest, res: EndUserResponse): void {
  if ('stream' in res && res.stream) {
    if (!res.stream.destroyed) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
  } else {
    req.socket?.destroy()
  }
}

/**
 * A response that goes out before the whole request body arrived ends the exchange, so a client
 * trickling the rest cannot hold the connection: HTTP/1 closes the connection after the response
 * (the returned Connection: close, to add before writeHead), HTTP/2 resets the stream once the
 * response is out (NO_ERROR: "stop sending, the response is complete").
 */
export function closeIfBodyUnread(req: EndUserRequest, res: EndUserResponse): {connection?: 'close'} {
  if (hasWholeBody(req)) return {}
  if (!('stream' in res && res.stream)) return {connection: 'close'}
  // The compat response only emits 'finish' once the stream closes; wait for the stream's own,
  // then for the session's next write, which sends the END_STREAM that must precede the RST.
  const stream = res.stream
  const reset = () => setImmediate(() => {
    if (!stream.destroyed && !stream.closed && !hasWholeBody(req)) stream.close(http2.constants.NGHTTP2_NO_ERROR)
  })
  if (stream.writableFinished) reset()
  else stream.once('finish', reset)
  return {}
}
