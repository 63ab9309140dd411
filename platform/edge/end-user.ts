import type {IncomingMessage, ServerResponse} from 'node:http'
import type http2 from 'node:http2'

export type EndUserRequest = IncomingMessage | http2.Http2ServerRequest
export type EndUserResponse = ServerResponse | http2.Http2ServerResponse

/** Logged for a request whose client went away before it was forwarded (nginx's 499). */
export const STATUS_CLIENT_CLOSED = 499

/**
 * Whether the end user is gone: an HTTP/2 stream the client reset (rapid reset) or an HTTP/1
 * connection that closed. Checked before work is done for a request, after every await.
 */
export function isEndUserGone(req: EndUserRequest, res: EndUserResponse): boolean {
  if ('stream' in res && res.stream) return res.stream.destroyed || res.stream.closed
  return res.destroyed || req.socket?.destroyed !== false
}
