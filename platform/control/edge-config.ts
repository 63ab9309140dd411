import type {ConfigSource, EdgeSnapshot} from '../edge/config-source.js'
import {buildSnapshot, type EdgeState} from './edge-build.js'
import {applyDeltas, needsFullBuild, QUIET_KINDS} from './edge-delta.js'
import type {SnapshotCtx} from './edge-parts.js'
import type {ChangeEvent, ChangeFeed} from './feed.js'

export {routeUrl} from './edge-parts.js'

/** More events than this waiting at once are cheaper to apply by one full build than one by one. */
const MAX_BATCH = 256

/**
 * A full build now and then catches what no event announces: sessions that expired, last-use
 * times another edge wrote, a retired signing key leaving the JWKS. Each change used to rebuild
 * everything and so picked these up by the way; deltas do not.
 */
const FULL_EVERY_MS = 10 * 60_000

type Job = {kind: 'event'; event: ChangeEvent} | {kind: 'full'} | {kind: 'port'}

interface Waiting {
  job: Job
  resolve(): void
  reject(error: unknown): void
}

/**
 * The control plane's ConfigSource for an in-process edge. It builds the snapshot once in full
 * (a page at a time, letting the event loop forward traffic between pages) and then keeps it
 * current by applying each committed change's feed event as a delta: only what the event can
 * affect is read again, and the new snapshot shares every map the change left alone
 * (edge-delta.ts). A `resync`, an event no delta knows, a delta that failed, or a pile of events
 * waiting at once mean a full build instead. Work runs one batch at a time, in feed order; the
 * promise a feed listener gets resolves once the edge serves a snapshot that reflects the event.
 */
export class StoreConfigSource implements ConfigSource {
  private readonly listeners = new Set<(s: EdgeSnapshot) => void>()
  private unsubscribe: () => void = () => {}
  private seen = 0
  private state: EdgeState | undefined
  private waiting: Waiting[] = []
  private draining = false
  /** a delta failed, so the snapshot may lack a change: the next batch is a full build */
  private stale = false
  private timer: NodeJS.Timeout | undefined

  private constructor(private readonly ctx: SnapshotCtx, private readonly domain: string, private edgePort: number | null) {}

  static async create(ctx: SnapshotCtx, feed: ChangeFeed, domain: string, edgePort: number | null = null, opts: {fullEveryMs?: number} = {}): Promise<StoreConfigSource> {
    const source = new StoreConfigSource(ctx, domain, edgePort)
    // Subscribed before the first build: a change that commits while it reads is queued behind it, not missed.
    source.unsubscribe = feed.subscribe((e) => source.onEvent(e))
    try {
      await source.refresh()
    } catch (error) {
      source.unsubscribe()
      throw error
    }
    source.seen = Math.max(source.seen, source.get().version)
    const every = opts.fullEveryMs ?? FULL_EVERY_MS
    if (every > 0) {
      // a failed periodic build leaves `stale` set: the next event's batch tries again
      source.timer = setInterval(() => void source.refresh().catch(() => {}), every)
      source.timer.unref()
    }
    return source
  }

  private onEvent(e: ChangeEvent): Promise<void> | undefined {
    this.seen = Math.max(this.seen, e.version)
    if (QUIET_KINDS.has(e.kind)) return undefined
    return this.enqueue({kind: 'event', event: e})
  }

  /** The edge's port, once bound, so route URLs in the snapshot are right (no store read). */
  async setEdgePort(port: number): Promise<void> {
    this.edgePort = port
    await this.enqueue({kind: 'port'})
  }

  /**
   * The newest configuration version this source has been told about: its snapshot's, or a later
   * feed event's that changed nothing the edge serves (a Warpgate registration). The change feed
   * is current when this matches the store.
   */
  get feedVersion(): number {
    return Math.max(this.seen, this.state?.snapshot.version ?? 0)
  }

  /** Rebuilds the whole snapshot and swaps it in; resolves once the edge serves a snapshot at least as new as the stores were when called. */
  refresh(): Promise<void> {
    return this.enqueue({kind: 'full'})
  }

  get(): EdgeSnapshot {
    if (!this.state) throw new Error('the edge snapshot is not built yet')
    return this.state.snapshot
  }

  onChange(listener: (snapshot: EdgeSnapshot) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  close(): void {
    this.unsubscribe()
    this.listeners.clear()
    clearInterval(this.timer)
  }

  private enqueue(job: Job): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiting.push({job, resolve, reject}))
    if (!this.draining) void this.drain()
    return done
  }

  /** Takes whatever waits as one batch, applies it, swaps the snapshot once, and goes on until nothing waits. */
  private async drain(): Promise<void> {
    this.draining = true
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0)
        try {
          await this.apply(batch.map((w) => w.job))
          for (const w of batch) w.resolve()
        } catch (error) {
          this.stale = true
          for (const w of batch) w.reject(error)
        }
      }
    } finally {
      this.draining = false
    }
  }

  private async apply(jobs: readonly Job[]): Promise<void> {
    const events = jobs.flatMap((j) => (j.kind === 'event' ? [j.event] : []))
    const full = !this.state || this.stale || jobs.length > MAX_BATCH || jobs.some((j) => j.kind === 'full') || events.some(needsFullBuild)
    let next: EdgeState
    if (full) {
      // cleared first: a change failing to apply while the build runs sets it again
      this.stale = false
      next = await buildSnapshot(this.ctx, this.domain, this.edgePort)
      // events that waited in this batch are in the build (their changes committed before it read the version)
      const newest = Math.max(next.snapshot.version, ...events.map((e) => e.version))
      if (newest > next.snapshot.version) next = {...next, snapshot: Object.freeze({...next.snapshot, version: newest})}
    } else {
      next = await applyDeltas(this.ctx, this.state!, events, {edgePort: this.edgePort, reurl: jobs.some((j) => j.kind === 'port')})
    }
    if (next === this.state) return
    this.state = next
    for (const fn of this.listeners) fn(next.snapshot)
  }
}
