import {getWarpgate, listWarpgates, type WarpgateRecord} from '../store/config/warpgates.js'
import type {StoreCtx} from '../store/config/projects.js'
import type {ChangeEvent, ChangeFeed} from './feed.js'

import type {Admission, AdmittedWarpgate} from '../edge/tunnel/admission.js'

/**
 * The in-memory list of Warpgates the tunnel listener admits: registered and not revoked. Loaded
 * once, then kept current from the change feed, so the TLS handshake never waits on the database
 * and a revocation takes effect as soon as it commits.
 */
export class WarpgateAdmission implements Admission {
  private readonly admitted = new Map<string, AdmittedWarpgate>()
  private readonly revoked = new Set<string>()
  private readonly revokeListeners = new Set<(id: string) => void>()
  private unsubscribe: () => void = () => {}

  private constructor(private readonly cdb: StoreCtx) {}

  /**
   * Subscribes first and loads the list, then handles the events that arrived meanwhile (each is
   * read again from the store): a revocation committed during the load is never missed.
   */
  static async create(cdb: StoreCtx, feed: ChangeFeed): Promise<WarpgateAdmission> {
    const admission = new WarpgateAdmission(cdb)
    let early: ChangeEvent[] | undefined = []
    admission.unsubscribe = feed.subscribe(async (e) => {
      if (early) early.push(e)
      else await admission.onChange(e)
    })
    try {
      for (const w of await listWarpgates(cdb)) admission.apply(w)
      for (const e of early) await admission.onChange(e)
      early = undefined
    } catch (error) {
      admission.close()
      throw error
    }
    return admission
  }

  private async onChange(e: ChangeEvent): Promise<void> {
    // Deleting a project or environment cascades to its Warpgates without a warpgate event.
    if ((e.kind === 'project' || e.kind === 'environment') && e.action === 'deleted') return this.dropDeleted()
    if (e.kind !== 'warpgate' || !e.id) return
    const w = await getWarpgate(this.cdb, e.id)
    if (w) this.apply(w)
    else {
      this.admitted.delete(e.id)
      this.revoked.add(e.id)
      this.emitRevoked(e.id)
    }
  }

  private async dropDeleted(): Promise<void> {
    for (const id of [...this.admitted.keys()]) {
      if (await getWarpgate(this.cdb, id)) continue
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
