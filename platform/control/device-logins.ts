import {randomInt, timingSafeEqual} from 'node:crypto'
import {newId} from '../../src/protocol/ids.js'
import {newToken} from '../../src/protocol/tokens.js'

/** RFC 8628 §6.1: consonants only (no words, no 0/O or 1/I look-alikes), case-insensitive. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
const USER_CODE_LENGTH = 8
/** RFC 8628 §3.5: each slow_down adds five seconds to the interval. */
const SLOW_DOWN_STEP_MS = 5000

/** XXXXXXXX (any case, dashes and spaces ignored) → XXXX-XXXX, or undefined when it cannot be a user code. */
export function normaliseUserCode(input: string): string | undefined {
  if (input.length > 32) return undefined
  const raw = input.toUpperCase().replace(/[\s-]/g, '')
  if (raw.length !== USER_CODE_LENGTH || [...raw].some((c) => !USER_CODE_ALPHABET.includes(c))) return undefined
  return `${raw.slice(0, 4)}-${raw.slice(4)}`
}

export interface DeviceLoginMeta {
  client: string
  ip: string
  userAgent: string | null
}

/** What the approval page may show about a pending web login. */
export interface PendingDeviceLogin extends DeviceLoginMeta {
  id: string
  userCode: string
  createdAtMs: number
  expiresAtMs: number
}

interface Entry extends DeviceLoginMeta {
  id: string
  deviceHash: Buffer
  userHash: Buffer
  createdAtMs: number
  expiresAtMs: number
  intervalMs: number
  lastPollAtMs: number | null
  decision: {approved: boolean; userId: string} | null
}

export type DevicePoll =
  | {status: 'pending'}
  | {status: 'slow_down'; intervalSeconds: number}
  | {status: 'expired'}
  | {status: 'denied'}
  | {status: 'approved'; userId: string; meta: DeviceLoginMeta}

export interface DeviceLoginLimits {
  ttlMs: number
  intervalSeconds: number
  /** pending logins held at once; start() refuses beyond it */
  maxPending?: number
}

/**
 * Pending web logins (RFC 8628 device authorization), held in the control plane's memory.
 * They live ten minutes and carry no secret worth keeping across a restart: after one, the CLI
 * is told `expired_token` and the person starts again, which is cheaper and safer than a table
 * of half-finished logins in identity.db. Both codes are kept only as keyed hashes; entries are
 * found by that hash (so lookup timing says nothing about the code) and compared in constant time.
 */
export class DeviceLogins {
  private readonly byDevice = new Map<string, Entry>()
  private readonly byUser = new Map<string, Entry>()

  constructor(
    private readonly hash: (secret: string) => Buffer,
    private readonly limits: DeviceLoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new pending login, or undefined when too many are pending already. */
  start(meta: DeviceLoginMeta): {deviceCode: string; userCode: string; expiresIn: number; interval: number} | undefined {
    const now = this.now()
    this.sweep(now)
    if (this.byDevice.size >= (this.limits.maxPending ?? 10_000)) return undefined
    let userCode: string
    let userHash: Buffer
    // 20^8 codes against at most maxPending live ones: a retry is rare, two are rarer still.
    do {
      userCode = normaliseUserCode(Array.from({length: USER_CODE_LENGTH}, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join(''))!
      userHash = this.hash(userCode)
    } while (this.byUser.has(userHash.toString('hex')))
    const deviceCode = newToken('device')
    const entry: Entry = {
      ...meta, id: newId('deviceLogin'), deviceHash: this.hash(deviceCode), userHash, createdAtMs: now, expiresAtMs: now + this.limits.ttlMs,
      intervalMs: this.limits.intervalSeconds * 1000, lastPollAtMs: null, decision: null,
    }
    this.byDevice.set(entry.deviceHash.toString('hex'), entry)
    this.byUser.set(userHash.toString('hex'), entry)
    return {deviceCode, userCode, expiresIn: Math.floor(this.limits.ttlMs / 1000), interval: this.limits.intervalSeconds}
  }

  /** The undecided, unexpired login behind a user code (as typed: any case, dash optional). */
  find(userCodeInput: string): PendingDeviceLogin | undefined {
    const e = this.byUserCode(userCodeInput)
    if (!e || e.decision) return undefined
    return {id: e.id, userCode: normaliseUserCode(userCodeInput)!, client: e.client, ip: e.ip, userAgent: e.userAgent, createdAtMs: e.createdAtMs, expiresAtMs: e.expiresAtMs}
  }

  /** Approves or denies for `userId`; false when the code is unknown, expired or already decided. */
  decide(userCodeInput: string, userId: string, approve: boolean): PendingDeviceLogin | undefined {
    const found = this.find(userCodeInput)
    if (!found) return undefined
    this.byUserCode(userCodeInput)!.decision = {approved: approve, userId}
    return found
  }

  /** One poll by the CLI. An approved or denied login is answered once and then forgotten. */
  poll(deviceCode: string): DevicePoll {
    const now = this.now()
    const hash = this.hash(deviceCode)
    const e = this.byDevice.get(hash.toString('hex'))
    if (!e || !timingSafeEqual(e.deviceHash, hash)) return {status: 'expired'}
    if (e.expiresAtMs <= now) {
      this.remove(e)
      return {status: 'expired'}
    }
    // A poll that comes well inside the interval is told to slow down, and the interval grows
    // (RFC 8628 §3.5). 80 % leaves room for network jitter between two well-behaved polls.
    const early = e.lastPollAtMs !== null && now - e.lastPollAtMs < e.intervalMs * 0.8
    e.lastPollAtMs = now
    if (e.decision) {
      this.remove(e)
      return e.decision.approved ? {status: 'approved', userId: e.decision.userId, meta: {client: e.client, ip: e.ip, userAgent: e.userAgent}} : {status: 'denied'}
    }
    if (early) {
      e.intervalMs += SLOW_DOWN_STEP_MS
      return {status: 'slow_down', intervalSeconds: e.intervalMs / 1000}
    }
    return {status: 'pending'}
  }

  get size(): number {
    return this.byDevice.size
  }

  private byUserCode(input: string): Entry | undefined {
    const code = normaliseUserCode(input)
    if (!code) return undefined
    const hash = this.hash(code)
    const e = this.byUser.get(hash.toString('hex'))
    if (!e || !timingSafeEqual(e.userHash, hash)) return undefined
    if (e.expiresAtMs <= this.now()) {
      this.remove(e)
      return undefined
    }
    return e
  }

  private remove(e: Entry): void {
    this.byDevice.delete(e.deviceHash.toString('hex'))
    this.byUser.delete(e.userHash.toString('hex'))
  }

  private sweep(now: number): void {
    for (const e of this.byDevice.values()) if (e.expiresAtMs <= now) this.remove(e)
  }
}
