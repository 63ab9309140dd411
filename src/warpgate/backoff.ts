import {type Clock, systemClock} from './clock.js'

export interface BackoffOptions {
  /** first ceiling, in ms */
  baseMs: number
  /** largest ceiling, in ms */
  capMs: number
  /** a connection up at least this long counts as stable: the next failure starts from base again */
  stableAfterMs: number
  /** [0, 1) */
  random?: () => number
  clock?: Pick<Clock, 'now'>
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and Jitter"):
 * delay = random(0, min(cap, base * 2^attempt)). Full jitter spreads a herd of Warpgates that lost
 * the edge at the same moment, so a restarted edge is not hit by all of them at once.
 */
export class Backoff {
  private attempt = 0
  private connectedAt: number | undefined
  private readonly random: () => number
  private readonly clock: Pick<Clock, 'now'>

  constructor(private readonly opts: BackoffOptions) {
    if (!(opts.baseMs > 0) || !(opts.capMs >= opts.baseMs)) throw new RangeError('backoff needs 0 < baseMs <= capMs')
    if (!(opts.stableAfterMs >= 0)) throw new RangeError('backoff needs stableAfterMs >= 0')
    this.random = opts.random ?? Math.random
    this.clock = opts.clock ?? systemClock
  }

  /** How many failures in a row the next delay accounts for. */
  get failures(): number {
    return this.attempt
  }

  /** The ceiling the next delay is drawn under. */
  ceiling(): number {
    // 2^attempt overflows to Infinity long after it passed any sane cap; min() handles it.
    return Math.min(this.opts.capMs, this.opts.baseMs * 2 ** this.attempt)
  }

  /** Call when a connection came up. */
  connected(): void {
    this.connectedAt = this.clock.now()
  }

  /** Call when a connection attempt failed or a connection ended; returns how long to wait. */
  next(): number {
    if (this.connectedAt !== undefined) {
      if (this.clock.now() - this.connectedAt >= this.opts.stableAfterMs) this.attempt = 0
      this.connectedAt = undefined
    }
    const delay = Math.floor(this.random() * this.ceiling())
    this.attempt++
    return delay
  }

  reset(): void {
    this.attempt = 0
    this.connectedAt = undefined
  }
}
