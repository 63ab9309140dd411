import {getWarpgate, listWarpgates, type WarpgateRecord} from '../store/config/warpgates.js'
import type {StoreCtx} from '../store/config/projects.js'
import type {ChangeFeed} from './feed.js'

/** What the edge needs to know about a Warpgate that may connect. */
export interface AdmittedWarpgate {
  id: string
  name: string
  projectId: string
  environmentId: string
  service: string
}

/**
 * The in-memory list of Warpgates the tunnel listener admits: registered and not revoked. Loaded
 * once, then kept current from the change feed, so the TLS handshake never waits on the database
 * and a revocation takes effect as soon as it commits.
 */
export class WarpgateAdmission {
  private readonly admitted = new Map<string, AdmittedWarpgate>()
  private readonly revoked = new Set<string>()
  private readonly revokeListeners = new Set<(id: string) => void>()
  private readonly unsubscribe: () => void

  constructor(private readonly cdb: StoreCtx, feed: ChangeFeed) {
    for (const w of listWarpgates(cdb)) this.apply(w)
    this.unsubscribe = feed.subscribe((e) => {
      // Deleting a project or environment cascades to its Warpgates without a warpgate event.
      if ((e.kind === 'project' || e.kind === 'environment') && e.action === 'deleted') return this.dropDeleted()
      if (e.kind !== 'warpgate' || !e.id) return
      const w = getWarpgate(this.cdb, e.id)
      if (w) this.apply(w)
      else {
        this.admitted.delete(e.id)
        this.revoked.add(e.id)
        this.emitRevoked(e.id)
      }
    })
  }

  private dropDeleted(): void {
    for (const id of [...this.admitted.keys()]) {
      if (getWarpgate(this.cdb, id)) continue
      this.admitted.delete(id)
      this.revoked.add(id)
      this.emitRevoked(id)
    }
  }

  private apply(w: WarpgateRecord): void {
    if (w.revokedAt !== null) {
      const isNewlyRevoked = !this.revoked.has(w.id)
      this.revoked.add(w.id)
      this.admitted.delete(w.id)
      if (isNewlyRevoked) this.emitRevoked(w.id)
    } else if (w.registeredAt !== null) {
      this.admitted.set(w.id, {id: w.id, name: w.name, projectId: w.projectId, environmentId: w.environmentId, service: w.service})
    }
  }

  private emitRevoked(id: string): void {
    for (const fn of this.revokeListeners) fn(id)
  }

  /** The Warpgate if it may connect now; undefined for unknown, unregistered or revoked ids. */
  admit(id: string): AdmittedWarpgate | undefined {
    return this.revoked.has(id) ? undefined : this.admitted.get(id)
  }

  isRevoked(id: string): boolean {
    return this.revoked.has(id)
  }

  onRevoked(fn: (id: string) => void): () => void {
    this.revokeListeners.add(fn)
    return () => this.revokeListeners.delete(fn)
  }

  close(): void {
    this.unsubscribe()
    this.revokeListeners.clear()
  }
}
