import {randomBytes} from 'node:crypto'

/**
 * One-time, short-lived codes that carry a fresh login from auth.<domain> to a route host's
 * callback, so the session token itself never appears in a URL (history, logs, Referer).
 */
export interface PendingCallback {
  token: string
  /** the route hostname the code may be redeemed on */
  host: string
  returnUrl: string
  expiresAtMs: number
}

export class CallbackCodes {
  private readonly codes = new Map<string, PendingCallback>()

  constructor(
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  issue(token: string, host: string, returnUrl: string): string {
    const code = randomBytes(32).toString('base64url')
    const now = this.now()
    if (this.codes.size > 10_000) for (const [k, v] of this.codes) if (v.expiresAtMs <= now) this.codes.delete(k)
    this.codes.set(code, {token, host, returnUrl, expiresAtMs: now + this.ttlMs})
    return code
  }

  /** Redeems a code once; a code is gone after the first try, whether or not it matched the host. */
  consume(code: string, host: string): PendingCallback | undefined {
    const p = this.codes.get(code)
    if (!p) return undefined
    this.codes.delete(code)
    if (p.expiresAtMs <= this.now() || p.host !== host) return undefined
    return p
  }
}
