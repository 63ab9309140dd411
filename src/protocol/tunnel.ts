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

/**
 * One edge node's tunnel listener as Warpgates see it: the edge's id (`edg_…`, or LOCAL_EDGE_ID for
 * the edge inside the control-plane process) and every address it advertises. Several addresses
 * (IPv4 and IPv6, two NICs) are still ONE edge: a Warpgate keeps its connections per edge.
 */
export interface TunnelEdge {
  edge: string
  urls: string[]
}

/** The id of the edge that runs inside the control-plane process (and of an older platform's only edge). */
export const LOCAL_EDGE_ID = 'local'
/** Edges one `edges` list may name; a Warpgate keeps --connections to each. */
export const MAX_TUNNEL_EDGES = 64
/** Addresses one edge may advertise. */
export const MAX_TUNNEL_EDGE_URLS = 8
const MAX_TUNNEL_URL_CHARS = 300

/**
 * CONTROL messages the edge sends: every edge's tunnel addresses, right after a connection is up
 * and whenever they change, so a Warpgate follows edges coming and going without a restart.
 */
export type EdgeControl = {type: 'edges'; edges: TunnelEdge[]}

/**
 * A list of edges as a Warpgate may use it, or why not: 1 to MAX_TUNNEL_EDGES edges with distinct
 * ids (`local` or `edg_…`), each with 1 to MAX_TUNNEL_EDGE_URLS `tls://host:port` addresses
 * (repeats within an edge are dropped). Never throws: the input comes off the wire.
 */
export function readTunnelEdges(value: unknown): {edges: TunnelEdge[]} | {error: string} {
  if (!Array.isArray(value)) return {error: 'edges is not a list'}
  if (value.length === 0) return {error: 'the list names no edge'}
  if (value.length > MAX_TUNNEL_EDGES) return {error: `the list names ${value.length} edges, more than ${MAX_TUNNEL_EDGES}`}
  const edges: TunnelEdge[] = []
  const ids = new Set<string>()
  for (const item of value as unknown[]) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return {error: 'an edge is not an object'}
    const {edge, urls} = item as Record<string, unknown>
    if (typeof edge !== 'string' || !(edge === LOCAL_EDGE_ID || /^edg_[0-9a-z]{20}$/.test(edge))) return {error: `edge id ${JSON.stringify(edge)?.slice(0, 40)} is neither "${LOCAL_EDGE_ID}" nor edg_…`}
    if (ids.has(edge)) return {error: `edge ${edge} is listed twice`}
    ids.add(edge)
    if (!Array.isArray(urls) || urls.length === 0) return {error: `edge ${edge} has no tunnel address`}
    if (urls.length > MAX_TUNNEL_EDGE_URLS) return {error: `edge ${edge} has ${urls.length} tunnel addresses, more than ${MAX_TUNNEL_EDGE_URLS}`}
    const bad = (urls as unknown[]).find((u) => !isTunnelUrl(u))
    if (bad !== undefined) return {error: `edge ${edge}: ${JSON.stringify(bad)?.slice(0, 80)} is not a tls://host:port address`}
    edges.push({edge, urls: [...new Set(urls as string[])]})
  }
  return {edges}
}

/** `tls://host:port` and nothing else: no credentials, path, query or fragment. */
function isTunnelUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_TUNNEL_URL_CHARS) return false
  let u: URL
  try {
    u = new URL(value)
  } catch {
    return false
  }
  return u.protocol === 'tls:' && u.hostname !== '' && Number(u.port) > 0 && !u.username && !u.password && u.pathname === '' && !value.includes('?') && !value.includes('#')
}

/** Two edge lists name the same edges with the same addresses, in the same order. */
export function sameTunnelEdges(a: readonly TunnelEdge[], b: readonly TunnelEdge[]): boolean {
  return a.length === b.length && a.every((e, i) => e.edge === b[i].edge && e.urls.length === b[i].urls.length && e.urls.every((u, j) => u === b[i].urls[j]))
}

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
