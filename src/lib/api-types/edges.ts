/** An edge node (`mezu platform start --role edge`) as the control plane knows it, with its live state. */
export interface Edge {
  id: string
  name: string
  /** pending: created, never enrolled; connected: its control connection is up now; disconnected: enrolled, not connected; revoked */
  status: 'pending' | 'connected' | 'disconnected' | 'revoked'
  /** the Mezusphere version the edge runs (from its last connection) */
  version: string | null
  /** the remote address of its control connection (now, or the last one) */
  address: string | null
  /** the public end-user URL and the tunnel addresses it advertises (from enrolment and its last connection) */
  edgeUrl: string | null
  tunnelUrls: string[]
  connectedSince: string | null
  lastSeenAt: string | null
  /** the configuration version the edge serves (live; null when not connected) */
  configVersion: number | null
  /** live Warpgate tunnel connections at that edge (null when not connected) */
  warpgateConnections: number | null
  certificateExpiresAt: string | null
  createdAt: string
  enrolledAt: string | null
  revokedAt: string | null
}

/** POST /v1/edges answers with the one-time join token (shown once). */
export interface EdgeCreated {
  edge: Edge
  /** `mezu_edge_<secret>.<ca pin>`: pass to `mezu platform start --role edge --join-token`; works once */
  joinToken: string
  /** the command to run on the edge's machine */
  command: string
}

/** POST /v1/edges/enrol: the join token and a CSR for the edge's own key (ECDSA P-256). */
export interface EdgeEnrolRequest {
  /** the whole join token (its pin must be this platform's CA), or only its secret part `mezu_edge_<secret>` */
  token: string
  csr: string
  /** names the edge's server certificate must carry besides the platform's domain names (its advertised hosts) */
  dns?: string[]
  ips?: string[]
  /** what it will advertise: end-user URL and tunnel addresses */
  edgeUrl?: string
  tunnelUrls?: string[]
  /** the edge's assertion-signing public key (Ed25519 JWK); published in the JWKS */
  signingJwk?: Record<string, unknown>
}

/** What an enrolled edge gets: one certificate for its key, valid for client auth to the control plane and server auth to end users and Warpgates. */
export interface EdgeEnrolment {
  edgeId: string
  name: string
  certificatePem: string
  caPem: string
  expiresAt: string
  domain: string
}

/** GET /v1/ca (public): the platform CA certificate, for a new edge to check against its join token's pin. */
export interface PlatformCa {
  caPem: string
}
