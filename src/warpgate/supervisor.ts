import type {EndReason, TunnelConnection} from './connection.js'
import {type Clock, systemClock} from './registration.js'

export type SupervisorEvent =
  | {type: 'connected'; connection: number}
  | {type: 'disconnected'; connection: number; reason: EndReason}
  | {type: 'reconnecting'; connection: number; inMs: number; attempt: number}

export interface SupervisorOptions {
  /** how many connections to keep up (--connections) */
  connections: number
  /** a new, unstarted connection for slot `index` (with the current certificate); `attempt` counts failures since it was last stable */
  connect(index: number, attempt: number): TunnelConnection
  /** the wait before reconnect attempt `attempt` (0-based); default: exponential with full jitter */
  nextDelay?: (attempt: number) => number
  /** a connection that stayed up this long resets the attempt count */
  stableAfterMs?: number
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

/** Keeps N tunnel connections up, each slot reconnecting on its own with backoff. */
export class Supervisor {
  private readonly live: Array<TunnelConnection | undefined> = []
  private readonly loops: Array<Promise<void>> = []
  private readonly wakers = new Set<() => void>()
  private readonly clock: Clock
  private readonly nextDelay: (attempt: number) => number
  private stopping = false

  constructor(private readonly opts: SupervisorOptions) {
    this.clock = opts.clock ?? systemClock
    this.nextDelay = opts.nextDelay ?? fullJitterDelay()
  }

  start(): void {
    for (let i = 0; i < this.opts.connections; i++) this.loops.push(this.keep(i))
  }

  /** Connections that are up right now. */
  get connections(): TunnelConnection[] {
    return this.live.filter((c): c is TunnelConnection => !!c && c.isEstablished)
  }

  private async keep(index: number): Promise<void> {
    let attempt = 0
    while (!this.stopping) {
      const conn = this.opts.connect(index, attempt)
      this.live[index] = conn
      const startedAt = this.clock.now()
      conn.once('ready', () => this.opts.onEvent?.({type: 'connected', connection: index}))
      const reason = await conn.serve()
      this.live[index] = undefined
      this.opts.onEvent?.({type: 'disconnected', connection: index, reason})
      if (this.stopping) break
      if (reason.established && this.clock.now() - startedAt >= (this.opts.stableAfterMs ?? 30_000)) attempt = 0
      const inMs = this.nextDelay(attempt)
      this.opts.onEvent?.({type: 'reconnecting', connection: index, inMs, attempt})
      attempt++
      await this.sleep(inMs)
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.clock.clearTimeout(handle)
        this.wakers.delete(wake)
        resolve()
      }
      const handle = this.clock.setTimeout(wake, ms)
      this.wakers.add(wake)
    })
  }

  /** Drains every connection (each tells the edge first), then stops reconnecting. */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true
    for (const w of [...this.wakers]) w()
    await Promise.all(this.live.map((c) => c?.drain(graceMs)))
    await Promise.all(this.loops)
  }

  /** Closes every connection now. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const w of [...this.wakers]) w()
    for (const c of this.live) c?.close()
    await Promise.all(this.loops)
  }
}
