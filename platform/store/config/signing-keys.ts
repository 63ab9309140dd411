import {generateKeyPairSync, randomBytes} from 'node:crypto'
import type {StoreCtx} from './projects.js'

/**
 * The Ed25519 keys that sign Mezu-Jwt-Assertion. The private key is sealed like every other field.
 * Exactly one key is active (retired_at IS NULL); a retired key stays published until the
 * tokens it signed have expired, then it is deleted.
 */
interface Row {
  id: string
  created_at: number
  retired_at: number | null
  doc: Buffer
}
interface Doc {
  privateJwk: Record<string, unknown>
  publicJwk: Record<string, unknown>
}
const T = 'signing_keys'

export interface SigningKeyRecord extends Doc {
  kid: string
  createdAtMs: number
  retiredAtMs: number | null
}

function toKey(c: StoreCtx, r: Row): SigningKeyRecord {
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  return {kid: r.id, createdAtMs: r.created_at, retiredAtMs: r.retired_at, ...d}
}

function insertKey(c: StoreCtx, now: number): SigningKeyRecord {
  const {privateKey, publicKey} = generateKeyPairSync('ed25519')
  const kid = `sk_${randomBytes(12).toString('hex')}`
  const doc: Doc = {privateJwk: privateKey.export({format: 'jwk'}) as Record<string, unknown>, publicJwk: publicKey.export({format: 'jwk'}) as Record<string, unknown>}
  c.db.prepare(`INSERT INTO ${T} (id, created_at, retired_at, doc) VALUES (?, ?, NULL, ?)`).run(kid, now, c.cipher.sealJson(T, kid, doc))
  return {kid, createdAtMs: now, retiredAtMs: null, ...doc}
}

export function activeSigningKey(c: StoreCtx): SigningKeyRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`).get() as Row | undefined
  return r && toKey(c, r)
}

/** The active key, created on first use. */
export function ensureSigningKey(c: StoreCtx, now = Date.now()): SigningKeyRecord {
  return c.db.transaction(() => activeSigningKey(c) ?? insertKey(c, now))()
}

/** Keys to publish: the active one and those retired less than `tokenTtlMs` ago (their tokens may still be live). */
export function publishedSigningKeys(c: StoreCtx, tokenTtlMs: number, now = Date.now()): SigningKeyRecord[] {
  const rows = c.db.prepare(`SELECT * FROM ${T} WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at DESC`).all(now - tokenTtlMs) as Row[]
  return rows.map((r) => toKey(c, r))
}

/**
 * Rotation: a new key becomes active, the old one is retired (still published for `tokenTtlMs`),
 * and keys retired longer ago than that are deleted.
 */
export function rotateSigningKey(c: StoreCtx, tokenTtlMs: number, now = Date.now()): {active: SigningKeyRecord; retired: string[]; deleted: number} {
  return c.db.transaction(() => {
    const retired = (c.db.prepare(`SELECT id FROM ${T} WHERE retired_at IS NULL`).all() as Array<{id: string}>).map((r) => r.id)
    c.db.prepare(`UPDATE ${T} SET retired_at = ? WHERE retired_at IS NULL`).run(now)
    const deleted = c.db.prepare(`DELETE FROM ${T} WHERE retired_at IS NOT NULL AND retired_at <= ?`).run(now - tokenTtlMs).changes
    return {active: insertKey(c, now + 1), retired, deleted}
  })()
}
