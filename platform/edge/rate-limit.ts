/**
 * Per-client-IP, per-route token buckets. A bucket holds `perMinute` tokens and refills
 * continuously, so bursts up to a minute's allowance pass and a steady stream is held to the rate.
 */
export type RateVerdict = {allowed: true} | {allowed: false; retryAfterSeconds: number}

interface Bucket {
  tokens: number
  at: number
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxBuckets = 100_000,
  ) {}

  take(routeId: string, ip: string, perMinute: number): RateVerdict {
    if (perMinute <= 0) return {allowed: true}
    const key = `${routeId}\0${ip}`
    const now = this.now()
    const rate = perMinute / 60_000
    const b = this.buckets.get(key) ?? {tokens: perMinute, at: now}
    b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * rate)
    b.at = now
    if (b.tokens >= 1) {
      b.tokens -= 1
      this.buckets.set(key, b)
      if (this.buckets.size > this.maxBuckets) this.sweep(now)
      return {allowed: true}
    }
    this.buckets.set(key, b)
    return {allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000))}
  }

  /** Drops buckets that have refilled completely: they behave exactly like absent ones. */
  private sweep(now: number): void {
    for (const [key, b] of this.buckets) if ((now - b.at) >= 60_000) this.buckets.delete(key)
  }
}
