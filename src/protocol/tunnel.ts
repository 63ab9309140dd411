/**
 * The edge↔Warpgate vocabulary carried inside the reverse HTTP/2 connection: the control stream
 * and the headers that only ever travel on the tunnel (the edge strips them from end users).
 */

/** Prefix of headers that only travel on the tunnel; the edge removes them from end-user requests. */
export const TUNNEL_HEADER_PREFIX = 'mezu-tunnel-'
/** Marks the one control stream the edge opens on each connection. */
export const HEADER_TUNNEL_STREAM = 'mezu-tunnel-stream'
export const TUNNEL_STREAM_CONTROL = 'control'
/** Set by the Warpgate on a response it produced itself because the origin failed. */
export const HEADER_TUNNEL_ERROR = 'mezu-tunnel-error'

/** Why the Warpgate answered a stream itself (value of HEADER_TUNNEL_ERROR). */
export type TunnelError = 'origin-unreachable' | 'origin-failed' | 'draining'

/** Messages the Warpgate writes on the control stream (one JSON object per line). */
export type WarpgateMessage =
  /** first message: who is at the other end */
  | {type: 'hello'; version: string; service: string; connection: number}
  /** the local service is (un)healthy; unhealthy → the edge sends no new requests here */
  | {type: 'health'; healthy: boolean; reason?: string}
  /** the Warpgate is going away: send no new streams on this connection */
  | {type: 'drain'}

/** Messages the edge writes back on the control stream. */
export type EdgeMessage =
  /** no new streams will be opened on this connection from now on */
  | {type: 'drain-ack'}

/** Encodes one control message as a line. */
export function encodeControl(msg: WarpgateMessage | EdgeMessage): string {
  return JSON.stringify(msg) + '\n'
}

/** Splits a control stream into messages; malformed lines are skipped (the peer is authenticated). */
export function controlLineReader(onMessage: (msg: Record<string, unknown>) => void): (chunk: Buffer | string) => void {
  let buffered = ''
  return (chunk) => {
    buffered += chunk.toString()
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (buffered.length > 64 * 1024) buffered = ''
      try {
        const msg = JSON.parse(line) as unknown
        if (msg && typeof msg === 'object') onMessage(msg as Record<string, unknown>)
      } catch {
        // ignore
      }
    }
  }
}

/** Request/response headers that are about one hop and never forwarded (RFC 9110 §7.6.1). */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
])
