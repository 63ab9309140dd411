import {sameTunnelEdges, type TunnelEdge} from '../protocol/tunnel.js'
import type {EndReason, TunnelConnection} from './connection.js'
import {type Clock, systemClock} from './registration.js'

/** One connection slot as `connect` sees it. */
export interface ConnectionSlot {
  /** the edge this slot keeps a connection to */
  edge: string
  /** that edge's addresses now (an edge that advertises new ones changes them for the next attempt) */
  urls: readonly string[]
  /** the slot's place among its edge's slots (0 … connections-1): spreads them over the addresses */
  index: number
  /** unique across every edge while the slot runs: events, logs and the HELLO name it */
  connection: number
}

export type SupervisorEvent =
  | {type: 'connected'; connection: number; edge: string}
  | {type: 'disconnected'; connection: number; edge: string; reason: EndReason}
  | {type: 'reconnecting'; connection: number; edge: string; inMs: number; attempt: number}

export interface SupervisorOptions {
  /** connections to keep up to EACH edge (--connections) */
  connections: number
  /** the edges to start with */
  edges: readonly TunnelEdge[]
  /** a new, unstarted connection for `slot` (with the current certificate); `attempt` counts failures since it was last stable */
  connect(slot: ConnectionSlot, attempt: number): TunnelConnection
  /** the wait before reconnect attempt `attempt` (0-based); default: exponential with full jitter */
  nextDelay?: (attempt: number) => number
  /** a connection that stayed up this long resets the attempt count */
  stableAfterMs?: number
  /** how long in-flight streams may take on the connections of an edge that is no longer listed (default 30 s) */
  retireGraceMs?: number
  clock?: Clock
  onEvent?(e: SupervisorEvent): void
}

/**
 * Full jitter, random(0, min(cap, base·2^attempt)), so Warpgates that lost the same edge do not
 * return in step. The 10 s cap keeps a Warpgate within seconds of a platform that comes back.
 */
export function fullJitterDelay(opts: {baseMs?: number; capMs?: number; random?: () => number} = {}): (attempt: number) => number {
  const base = opts.baseMs ?? 500
  const cap = opts.capMs ?? 10_000
  const random = opts.random ?? Math.random
  return (attempt) => Math.floor(random() * Math.min(cap, base * 2 ** Math.min(attempt, 30)))
}

/**
 * The address of one edge for slot `index`'s attempt `attempt`: an edge's slots are spread over
 * its addresses, and each failed attempt moves the slot on to the next one, so an unreachable
 * address is left.
 */
export function pickTunnelUrl(urls: readonly string[], index: number, attempt: number): string {
  return urls[(index + attempt) % urls.length]
}

/** What setEdges changed: edge ids that got slots, and edge ids whose slots were retired. */
export interface EdgeChange {
  added: string[]
  removed: string[]
}

interface Slot extends ConnectionSlot {
  /** its edge is no longer listed: drain, then stop */
  retired: boolean
  conn?: TunnelConnection
  wake?: () => void
}

/**
 * Keeps `connections` tunnel connections up to each edge, each slot reconnecting on its own with
 * backoff, so an edge that is down costs only its own slots' retries. The edge list can change
 * while it runs (setEdges): new edges get slots at once, an edge no longer listed is drained.
 */
export class Supervisor {
  private readonly byEdge = new Map<string, Slot[]>()
  /** every slot whose loop still runs, those of retired edges included (until their drain ends) */
  private readonly running = new Set<Slot>()
  private readonly loops = new Set<Promise<void>>()
  private readonly clock: Clock
  private readonly nextDelay: (attempt: number) => number
  private list: readonly TunnelEdge[] = []
  private started = false
  private stopping = false

  constructor(private readonly opts: SupervisorOptions) {
    this.clock = opts.clock ?? systemClock
    this.nextDelay = opts.nextDelay ?? fullJitterDelay()
  }

  start(): void {
    if (this.started) return
    this.started = true
    this.setEdges(this.opts.edges)
  }

  /** The edges kept now, as last set. */
  get edges(): readonly TunnelEdge[] {
    return this.list
  }

  /** Connections that are up right now (those still draining from a dropped edge too). */
  get connections(): TunnelConnection[] {
    const up: TunnelConnection[] = []
    for (const s of this.running) if (s.conn?.isEstablished) up.push(s.conn)
    return up
  }

  /**
   * Follows a new edge list: slots for new edges start now; an edge no longer listed has its
   * connections drained (in-flight streams finish within retireGraceMs) and is not redialled; an
   * edge with new addresses uses them from its slots' next attempt. The same list again changes
   * nothing, and an empty list is refused: one bad message must never drop every connection.
   * Returns what changed, or undefined when nothing did.
   */
  setEdges(edges: readonly TunnelEdge[]): EdgeChange | undefined {
    if (!this.started || this.stopping || edges.length === 0 || sameTunnelEdges(edges, this.list)) return undefined
    this.list = edges.map((e) => ({edge: e.edge, urls: [...e.urls]}))
    const change: EdgeChange = {added: [], removed: []}
    const listed = new Set(edges.map((e) => e.edge))
    for (const [edge, slots] of this.byEdge) {
      if (listed.has(edge)) continue
      this.byEdge.delete(edge)
      change.removed.push(edge)
      for (const s of slots) this.retire(s)
    }
    for (const {edge, urls} of this.list) {
      const slots = this.byEdge.get(edge)
      if (slots) {
        for (const s of slots) s.urls = urls
        continue
      }
      change.added.push(edge)
      const fresh: Slot[] = []
      for (let index = 0; index < this.opts.connections; index++) {
        const slot: Slot = {edge, urls, index, connection: this.freeNumber(), retired: false}
        this.running.add(slot)
        fresh.push(slot)
        const loop = this.keep(slot).finally(() => {
          this.running.delete(slot)
          this.loops.delete(loop)
        })
        this.loops.add(loop)
      }
      this.byEdge.set(edge, fresh)
    }
    return change
  }

  /** The lowest connection number no running slot holds: numbers stay small and never collide. */
  private freeNumber(): number {
    const taken = new Set([...this.running].map((s) => s.connection))
    let n = 0
    while (taken.has(n)) n++
    return n
  }

  private retire(slot: Slot): void {
    slot.retired = true
    slot.wake?.()
    // not awaited: the slot's loop ends when its connection does, and drain() waits for the loops
    void slot.conn?.drain(this.opts.retireGraceMs ?? 30_000)
  }

  private async keep(slot: Slot): Promise<void> {
    let attempt = 0
    const {connection, edge} = slot
    while (!this.stopping && !slot.retired) {
      const conn = this.opts.connect(slot, attempt)
      slot.conn = conn
      const startedAt = this.clock.now()
      conn.once('ready', () => this.opts.onEvent?.({type: 'connected', connection, edge}))
      const reason = await conn.serve()
      slot.conn = undefined
      this.opts.onEvent?.({type: 'disconnected', connection, edge, reason})
      if (this.stopping || slot.retired) break
      if (reason.established && this.clock.now() - startedAt >= (this.opts.stableAfterMs ?? 30_000)) attempt = 0
      const inMs = this.nextDelay(attempt)
      this.opts.onEvent?.({type: 'reconnecting', connection, edge, inMs, attempt})
      attempt++
      await this.sleep(slot, inMs)
    }
  }

  private sleep(slot: Slot, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.clock.setTimeout(() => slot.wake?.(), ms)
      slot.wake = () => {
        this.clock.clearTimeout(handle)
        slot.wake = undefined
        resolve()
      }
    })
  }

  /** Drains every connection (each tells the edge first), then stops reconnecting. */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true
    const slots = [...this.running]
    for (const s of slots) s.wake?.()
    await Promise.all(slots.map((s) => s.conn?.drain(graceMs)))
    await Promise.all([...this.loops])
  }

  /** Closes every connection now. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const s of [...this.running]) {
      s.wake?.()
      s.conn?.close()
    }
    await Promise.all([...this.loops])
  }
}
