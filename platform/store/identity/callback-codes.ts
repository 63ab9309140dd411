import {randomBytes} from 'node:crypto'
import {newId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from '../db.js'

const T = 'callback_codes'

/** What a callback code stands for: a fresh session, for one route host. */
export interface PendingCallback {
  token: string
  /** the route hostname the code may be redeemed on */
  host: string
  returnUrl: string
  expiresAtMs: number
}

type Doc = Omit<PendingCallback, 'expiresAtMs'>

/**
 * Issues a one-time, short-lived code that carries a fresh login from auth.<domain> to a route
 * host's callback, so the session token itself never appears in a URL (history, logs, Referer).
 * Kept as a keyed hash with the session sealed, in the store every control plane shares.
 */
export async function issueCallbackCode(c: StoreCtx, input: Doc, ttlMs: number, now = Date.now()): Promise<string> {
  const code = randomBytes(32).toString('base64url')
  const id = newId('callbackCode')
  await c.db.deleteFrom(T).where('expires_at', '<=', now).execute()
  await c.db.insertInto(T).values({id, code_hash: c.hasher.tokenHash(code), expires_at: now + ttlMs, doc: c.cipher.sealJson(T, id, {token: input.token, host: input.host, returnUrl: input.returnUrl} satisfies Doc)}).execute()
  return code
}

/**
 * Redeems a code once: the row is deleted by the redemption itself, so of several control planes
 * (or requests) trying one code exactly one gets it. A code is gone after the first try, whether
 * or not it was for this host; an expired one gives nothing.
 */
export async function consumeCallbackCode(c: StoreCtx, code: string, host: string, now = Date.now()): Promise<PendingCallback | undefined> {
  const r = await c.db.deleteFrom(T).where('code_hash', '=', c.hasher.tokenHash(code)).returning(['id', 'code_hash', 'expires_at', 'doc']).executeTakeFirst()
  if (!r || !c.hasher.tokenMatches(code, r.code_hash)) return undefined
  if (r.expires_at <= now) return undefined
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  if (d.host !== host) return undefined
  return {...d, expiresAtMs: r.expires_at}
}
