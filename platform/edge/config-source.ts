import type {Policy, Route} from '../../src/lib/api-types/index.js'
import type {EdgeIdentitySnapshot} from './identity-snapshot.js'

/**
 * What the edge serves from: an immutable snapshot, swapped whole when the configuration
 * changes. The edge never reads the database; it only sees this.
 */
export interface EdgeSnapshot {
  /** the configuration version this snapshot reflects */
  version: number
  domain: string
  routes: readonly Route[]
  policies: ReadonlyMap<string, Policy>
  /** users, sessions, service keys and signing keys (platform/control/edge-identity.ts builds it) */
  identity: EdgeIdentitySnapshot
}

/** The seam between control plane and edge (Pomerium's config.Source). */
export interface ConfigSource {
  get(): EdgeSnapshot
  /** called after each swap; returns an unsubscribe function */
  onChange(listener: (snapshot: EdgeSnapshot) => void): () => void
}
