import type {TunnelEdge} from '../../protocol/tunnel.js'

/** A Warpgate registration with its live state as the edge sees it. */
export interface Warpgate {
  id: string
  name: string
  service: string
  projectId: string
  environmentId: string
  /** environment name, for people */
  environment: string
  status: 'pending' | 'connected' | 'disconnected' | 'revoked'
  /** live tunnel connections right now */
  connections: number
  /** the Warpgate reports its local service healthy (null when not connected) */
  healthy: boolean | null
  remoteIps: string[]
  version: string | null
  connectedSince: string | null
  lastSeenAt: string | null
  certificateExpiresAt: string | null
  /** public URLs of the routes that point at this Warpgate's service in its environment */
  urls: string[]
  createdAt: string
  revokedAt: string | null
}

/** POST /v1/warpgates answers the registration with its one-time token (shown once). */
export interface WarpgateCreated {
  warpgate: Warpgate
  /** `mezu_wg_…`: pass to `mezu tunnel --token` or MEZU_WARPGATE_TOKEN; works once */
  token: string
}

/** What a Warpgate gets back from register and renew. */
export interface WarpgateCertificate {
  warpgateId: string
  service: string
  projectId: string
  environmentId: string
  certificatePem: string
  caPem: string
  expiresAt: string
  /** tls://host:port of an edge's tunnel listener (TLS 1.3, mutual); the first of tunnelUrls */
  tunnelUrl: string
  /** every edge's tunnel addresses in one flat list, for Warpgates that predate tunnelEdges (older platforms send only tunnelUrl) */
  tunnelUrls?: string[]
  /** every edge node with its tunnel addresses; a Warpgate keeps its connections per edge (older platforms omit it: then tunnelUrls is one edge) */
  tunnelEdges?: TunnelEdge[]
  /** the edge's public base URL, e.g. https://mezu.localhost:8443 */
  edgeUrl: string
  /** public URLs of the routes to this service at the time of the answer */
  urls: string[]
}
