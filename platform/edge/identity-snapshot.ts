/**
 * The identity part of the edge's snapshot: what the edge needs to recognise a caller without a
 * database read. Built by the control plane (platform/control/edge-identity.ts), swapped whole.
 */
export interface EdgeUser {
  id: string
  email: string
  status: 'active' | 'invited' | 'disabled'
  /** the directories the user is a member of and all their ancestors */
  directoryIds: readonly string[]
  /** paths of the directories the user is directly a member of, e.g. "engineering/platform" */
  directoryPaths: readonly string[]
}

/** A browser session, keyed in the snapshot by the keyed hash of its token. */
export interface EdgeSession {
  id: string
  userId: string
  createdAtMs: number
  lastUsedAtMs: number
  /** absolute expiry (maximum age) */
  expiresAtMs: number
}

/** A service-account API key, known by its keyed hash; revoked and expired keys are kept so the edge can say 401 for them. */
export interface EdgeServiceKey {
  keyId: string
  accountId: string
  accountName: string
  expiresAtMs: number | null
  revokedAtMs: number | null
}

/** A signing key as the edge holds it. */
export interface EdgeSigningKey {
  kid: string
  /** Ed25519 private key as a JWK (only the active key carries it) */
  privateJwk?: Record<string, unknown>
  publicJwk: Record<string, unknown>
}

export interface EdgeIdentitySnapshot {
  users: ReadonlyMap<string, EdgeUser>
  /** by hex keyed hash of the session token; only live browser sessions */
  sessions: ReadonlyMap<string, EdgeSession>
  /** by hex keyed hash of the API key */
  serviceKeys: ReadonlyMap<string, EdgeServiceKey>
  /** the key assertions are signed with */
  activeKey: EdgeSigningKey
  /** every key the JWKS publishes: the active one and retired ones whose tokens may still be live */
  publishedKeys: readonly EdgeSigningKey[]
}

/** One change-feed event as the edge sees it (the shape of platform/control/feed.ts ChangeEvent). */
export interface EdgeChangeEvent {
  version: number
  kind: string
  id: string | null
  action: 'created' | 'updated' | 'deleted' | 'revoked'
}

/** The change feed, subscribed to so cached identity is dropped the moment it changes. ChangeFeed satisfies it. */
export interface ChangeEvents {
  subscribe(listener: (event: EdgeChangeEvent) => void): () => void
}
