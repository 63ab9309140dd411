import ipaddr from 'ipaddr.js'
import type {LoginLimits} from '../config.js'

/** What `begin` answers: refused for a while, or allowed after a delay and then settled. */
export type LoginTry =
  | {allowed: false; retryAfterMs: number}
  | {allowed: true; delayMs: number; settle(outcome: TryOutcome): void}

/** `failed` counts; `succeeded` also forgets this address's failures for the subject; `uncounted` is as if never tried. */
export type TryOutcome = 'failed' | 'succeeded' | 'uncounted'

interface Entry {
  failures: number
  /** tries begun and not settled yet */
  pending: number
  firstAt: number
  lockedUntil: number
}

/**
 * Slows and then refuses repeated failed logins. Three counts, each over `windowMs`:
 * - an address against a subject (an account): slowed, then refused for `lockMs` after `lockAfter`;
 * - an address over all subjects: slowed, then refused after `ipLockAfter`;
 * - a subject over all addresses: slowed up to `maxDelayMs`, never refused. Refusing here would
 *   let anyone lock any account out; the per-address counts bound what each address can try.
 * In memory: a restart forgets, which only ever helps a locked-out person; the window is short anyway.
 */
export class LoginLimiter {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Starts one try of `subject` (e.g. `acct:<blind index>`) from `ip`. An allowed try must be
   * settled. Until then it counts as a failure, so tries sent in parallel cannot all pass the check
   * while the first of them waits out its delay.
   */
  begin(subject: string, ip: string): LoginTry {
    const now = this.now()
    const addr = limiterAddress(ip)
    const L = this.limits
    const counts = [
      {key: `pair\n${subject}\n${addr}`, lockAt: L.lockAfter, forgetOnSuccess: true},
      {key: `addr\n${addr}`, lockAt: L.ipLockAfter, forgetOnSuccess: false},
      {key: `subject\n${subject}`, lockAt: Infinity, forgetOnSuccess: false},
    ]
    let delayMs = 0
    for (const {key, lockAt} of counts) {
      const e = this.current(key, now)
      if (!e) continue
      if (e.lockedUntil > now) return {allowed: false, retryAfterMs: e.lockedUntil - now}
      const n = e.failures + e.pending
      // the tries in flight would reach the lock if they failed: wait for them rather than join them
      if (e.pending > 0 && n >= lockAt) return {allowed: false, retryAfterMs: Math.max(1000, L.maxDelayMs)}
      if (n >= L.slowAfter) delayMs = Math.max(delayMs, L.delayMs * (n - L.slowAfter + 1))
    }
    // entries are made only for tries let through, so refused ones cost no memory
    const held = counts.map((c) => ({...c, e: this.current(c.key, now) ?? this.create(c.key, now)}))
    for (const {e} of held) e.pending++
    let settled = false
    return {
      allowed: true,
      delayMs: Math.min(delayMs, L.maxDelayMs),
      settle: (outcome) => {
        if (settled) return
        settled = true
        const at = this.now()
        for (const {key, e, lockAt, forgetOnSuccess} of held) {
          e.pending--
          if (outcome === 'failed') {
            e.failures++
            if (e.failures >= lockAt) e.lockedUntil = at + L.lockMs
          } else if (outcome === 'succeeded' && forgetOnSuccess) {
            e.failures = 0
            e.lockedUntil = 0
          }
          if (e.failures === 0 && e.pending === 0 && this.entries.get(key) === e) this.entries.delete(key)
        }
        if (this.entries.size > 100_000) this.sweep(at)
      },
    }
  }

  /** How long `ip` is still refused for every subject (0 when it is not). */
  addressLockedForMs(ip: string): number {
    const now = this.now()
    const e = this.current(`addr\n${limiterAddress(ip)}`, now)
    return e && e.lockedUntil > now ? e.lockedUntil - now : 0
  }

  /** The entry for `key`, forgotten once its window has passed and any lock has ended. */
  private current(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key)
    if (!e || e.lockedUntil > now || now - e.firstAt <= this.limits.windowMs) return e
    // tries in flight hold a reference to the entry, so it is started afresh in place
    if (e.pending > 0) return Object.assign(e, {failures: 0, firstAt: now, lockedUntil: 0})
    this.entries.delete(key)
    return undefined
  }

  private create(key: string, now: number): Entry {
    const e = {failures: 0, pending: 0, firstAt: now, lockedUntil: 0}
    this.entries.set(key, e)
    return e
  }

  private sweep(now: number): void {
    for (const [key, e] of this.entries) {
      if (e.pending === 0 && e.lockedUntil <= now && now - e.firstAt > this.limits.windowMs) this.entries.delete(key)
    }
  }
}

/**
 * The address a count is kept for: IPv4-mapped IPv6 as plain IPv4, and IPv6 as its /64, since one
 * client is routinely handed a whole /64 and could otherwise start afresh from each address in it.
 */
function limiterAddress(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const a = ipaddr.process(ip)
  if (a.kind() === 'ipv4') return a.toString()
  return `${(a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`
}
