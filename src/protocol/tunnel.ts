/**
 * The edge↔Warpgate vocabulary carried over the tunnel's frames (mux.ts): control messages and the
 * headers that only ever travel on the tunnel (the edge strips them from end users).
 */

/** Prefix of headers that only travel on the tunnel; the edge removes them from end-user requests. */
export const TUNNEL_HEADER_PREFIX = 'mezu-tunnel-'
/** Set by the Warpgate on a response it produced itself because the origin failed. */
export const HEADER_TUNNEL_ERROR = 'mezu-tunnel-error'

/** Why the Warpgate answered a stream itself (value of HEADER_TUNNEL_ERROR). */
export type TunnelError = 'origin-unreachable' | 'origin-failed' | 'draining'

/** What the Warpgate says in its HELLO frame. */
export interface WarpgateHello {
  version: string
  service: string
  connection: number
}

/** The Warpgate's own counters since it started, reported to the edge (which exposes them per Warpgate). */
export type WarpgateStats = {
  /** requests served to the origin (upgrades included) */
  requests: number
  /** requests that failed at the origin after it was reached (aborted responses) */
  originErrors: number
  /** requests for which the origin could not be reached */
  originConnectFailures: number
  /** reconnect attempts of its tunnel connections */
  reconnects: number
  /** streams in flight right now */
  streams: number
}

/**
 * CONTROL messages the Warpgate sends: the local service is (un)healthy (unhealthy → no new
 * requests here), and its counters every few seconds.
 */
export type WarpgateControl = {type: 'health'; healthy: boolean; reason?: string} | ({type: 'stats'} & WarpgateStats)

/** How often a Warpgate reports its counters on each tunnel connection. */
export const WARPGATE_STATS_INTERVAL_MS = 10_000

/** One edge node's tunnel addresses (`local`: the edge inside the control-plane process). */
export interface TunnelEdge {
  edge: string
  urls: string[]
}

/** Request/response headers that are about one hop and never forwarded (RFC 9110 §7.6.1). */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
])
