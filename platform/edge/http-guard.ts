import type {IncomingMessage} from 'node:http'

/**
 * Refuses requests that Node's HTTP/1 parser accepts but that an origin (or a proxy between)
 * could read differently: request smuggling and header-spoofing shapes. Works on rawHeaders,
 * because the parsed `headers` object has already merged or dropped duplicates.
 */
export interface GuardLimits {
  maxUrlBytes: number
  maxHeaderBytes: number
}

export type GuardVerdict = {ok: true} | {ok: false; status: 400 | 414 | 431; reason: string}

// RFC 9110 token characters, minus "_" and "." which some origins fold into "-".
const SAFE_HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-^`|~]+$/
const CHUNKED_ONLY = /^[ \t]*chunked[ \t]*$/i

type GuardedRequest = Pick<IncomingMessage, 'url' | 'rawHeaders' | 'httpVersion'>

export function guardRequest(req: GuardedRequest, limits: GuardLimits): GuardVerdict {
  const url = req.url ?? ''
  if (Buffer.byteLength(url) > limits.maxUrlBytes) return {ok: false, status: 414, reason: `the request URL is longer than ${limits.maxUrlBytes} bytes`}
  if (!url.startsWith('/')) return {ok: false, status: 400, reason: 'absolute-form and other non-path request targets are refused'}

  const raw = req.rawHeaders
  let headerBytes = 0
  let hosts = 0
  let contentLength = 0
  let transferEncoding = 0
  let codings = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const value = raw[i + 1] ?? ''
    headerBytes += name.length + value.length + 4
    if (name.startsWith(':')) continue // HTTP/2 pseudo-headers arrive in rawHeaders too
    if (!SAFE_HEADER_NAME.test(name)) return {ok: false, status: 400, reason: `header name "${printable(name)}" contains a character the edge does not forward ("_", "." or other)`}
    if (/[\r\n\0]/.test(value)) return {ok: false, status: 400, reason: `header ${name} contains a line break or NUL (obs-fold)`}
    const lower = name.toLowerCase()
    if (lower === 'host') hosts++
    else if (lower === 'content-length') contentLength++
    else if (lower === 'transfer-encoding') {
      transferEncoding++
      codings = value
    }
  }
  if (headerBytes > limits.maxHeaderBytes) return {ok: false, status: 431, reason: `the request headers are larger than ${limits.maxHeaderBytes} bytes`}
  if (hosts > 1) return {ok: false, status: 400, reason: 'more than one Host header'}
  if (transferEncoding > 0 && contentLength > 0) return {ok: false, status: 400, reason: 'both Content-Length and Transfer-Encoding'}
  if (transferEncoding > 0 && req.httpVersion === '1.0') return {ok: false, status: 400, reason: 'Transfer-Encoding in an HTTP/1.0 request'}
  if (transferEncoding > 1 || contentLength > 1) return {ok: false, status: 400, reason: 'repeated Content-Length or Transfer-Encoding'}
  // Node's parser reads "identity, chunked" as chunked and "identity" as no body at all, where an
  // origin or a proxy between may read either differently: only a lone "chunked" is accepted.
  if (transferEncoding === 1 && !CHUNKED_ONLY.test(codings)) return {ok: false, status: 400, reason: `Transfer-Encoding "${printable(codings)}" is refused: only "chunked", alone, is accepted`}
  return {ok: true}
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)
}
