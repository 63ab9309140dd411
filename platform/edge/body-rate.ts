/** How slowly an end user may send a request body (0 turns a limit off). */
export interface BodyRateLimits {
  /** most time between two reads while the edge waits for the body (nginx's client_body_timeout) */
  bodyTimeoutMs: number
  /** slowest average rate once `bodyRateGraceMs` has passed (Kestrel's MinRequestBodyDataRate) */
  minBodyBytesPerSecond: number
  bodyRateGraceMs: number
}

/** Time for the watch; injected so the limits are tested without sleeping. */
export interface BodyRateClock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Real time; timers are unref'd (the request's socket keeps the process alive). */
const realClock: BodyRateClock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/**
 * Watches one request body and calls `onTooSlow` once when it stalls longer than the body timeout
 * or its average rate falls under the minimum after the grace period. Time during which the edge
 * itself holds the body back (back-pressure from the origin) does not count against the client:
 * the clock only runs while the edge is reading.
 */
export class BodyRateWatch {
  private bytes = 0
  /** reading time before the current reading span */
  private readMs = 0
  /** start of the current reading span; -1 while paused */
  private spanStart: number
  /** reading time at the last chunk */
  private lastChunkAt = 0
  private timer: unknown
  private stopped = false

  constructor(private readonly limits: BodyRateLimits, private readonly onTooSlow: () => void, private readonly clock: BodyRateClock = realClock) {
    this.spanStart = clock.now()
    this.arm()
  }

  /** A chunk of `n` bytes arrived. Cheap: the timer is re-armed lazily when it fires. */
  read(n: number): void {
    this.bytes += n
    this.lastChunkAt = this.readingMs()
  }

  /** The edge stopped reading (the next hop is full). */
  pause(): void {
    if (this.spanStart < 0 || this.stopped) return
    this.readMs += this.clock.now() - this.spanStart
    this.spanStart = -1
    this.clock.clearTimeout(this.timer)
  }

  resume(): void {
    if (this.spanStart >= 0 || this.stopped) return
    this.spanStart = this.clock.now()
    // A pause is not a stall: the gap is measured from when reading resumed.
    this.lastChunkAt = this.readMs
    this.arm()
  }

  /** The body ended or the exchange is over; safe to call twice. */
  stop(): void {
    this.stopped = true
    this.clock.clearTimeout(this.timer)
  }

  private readingMs(): number {
    return this.spanStart < 0 ? this.readMs : this.readMs + (this.clock.now() - this.spanStart)
  }

  /** Reading time at which the body becomes too slow, given what has arrived so far. */
  private deadline(): number {
    const {bodyTimeoutMs, minBodyBytesPerSecond, bodyRateGraceMs} = this.limits
    let d = Infinity
    if (bodyTimeoutMs > 0) d = this.lastChunkAt + bodyTimeoutMs
    if (minBodyBytesPerSecond > 0) d = Math.min(d, Math.max(bodyRateGraceMs, (this.bytes * 1000) / minBodyBytesPerSecond))
    return d
  }

  // Chunks only move the deadline later, so a timer set for an earlier one just re-arms.
  private arm(): void {
    this.clock.clearTimeout(this.timer)
    if (this.stopped || this.spanStart < 0) return
    const wait = this.deadline() - this.readingMs()
    if (wait === Infinity) return
    if (wait <= 0) {
      this.stop()
      return this.onTooSlow()
    }
    this.timer = this.clock.setTimeout(() => this.arm(), Math.ceil(wait))
  }
}
