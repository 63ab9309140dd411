/**
 * Slows and then refuses repeated failed logins, per account and per client IP. In memory: a
 * restart forgets, which only ever helps a locked-out person; the window is short anyway.
 */
export interface LoginLimits {
  slowAfter: number
  lockAfter: number
  windowMs: number
  lockMs: number
  delayMs: number
}

interface Entry {
  failures: number
  firstAt: number
  lockedUntil: number
}

export type LimitVerdict = {allowed: true; delayMs: number} | {allowed: false; retryAfterMs: number}

export class LoginLimiter {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks every key (e.g. `acct:<bidx>` and `ip:<addr>`); the strictest wins. */
  check(keys: string[]): LimitVerdict {
    const now = this.now()
    let delay = 0
    for (const key of keys) {
      const e = this.fresh(key, now)
      if (!e) continue
      if (e.lockedUntil > now) return {allowed: false, retryAfterMs: e.lockedUntil - now}
      if (e.failures >= this.limits.slowAfter) delay = Math.max(delay, this.limits.delayMs * (e.failures - this.limits.slowAfter + 1))
    }
    return {allowed: true, delayMs: Math.min(delay, 5000)}
  }

  fail(keys: string[]): void {
    const now = this.now()
    for (const key of keys) {
      const e = this.fresh(key, now) ?? {failures: 0, firstAt: now, lockedUntil: 0}
      e.failures++
      if (e.failures >= this.limits.lockAfter) e.lockedUntil = now + this.limits.lockMs
      this.entries.set(key, e)
    }
    if (this.entries.size > 100_000) this.sweep(now)
  }

  succeed(keys: string[]): void {
    for (const key of keys) this.entries.delete(key)
  }

  private fresh(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key)
    if (!e) return undefined
    if (e.lockedUntil <= now && now - e.firstAt > this.limits.windowMs) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }

  private sweep(now: number): void {
    for (const key of [...this.entries.keys()]) this.fresh(key, now)
  }
}
