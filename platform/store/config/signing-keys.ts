import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {changed, type StoreCtx, transaction} from '../db.js'
import type {SigningKeysTable} from '../schema.js'

/**
 * The Ed25519 keys that sign Mezu-Jwt-Assertion. The private key is sealed like every other field.
 * Exactly one key is active (retired_at IS NULL); a retired key stays published until the
 * tokens it signed have expired, then it is deleted.
 */
type Row = SigningKeysTable
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

async function insertKey(c: StoreCtx, now: number): Promise<SigningKeyRecord> {
  const {privateKey, publicKey} = generateKeyPairSync('ed25519')
  const kid = `sk_${randomBytes(12).toString('hex')}`
  const doc: Doc = {privateJwk: privateKey.export({format: 'jwk'}) as Record<string, unknown>, publicJwk: publicKey.export({format: 'jwk'}) as Record<string, unknown>}
  await c.db.insertInto(T).values({id: kid, created_at: now, retired_at: null, doc: c.cipher.sealJson(T, kid, doc)}).execute()
  return {kid, createdAtMs: now, retiredAtMs: null, ...doc}
}

export async function activeSigningKey(c: StoreCtx): Promise<SigningKeyRecord | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('retired_at', 'is', null).orderBy('created_at', 'desc').limit(1).executeTakeFirst()
  return r && toKey(c, r)
}

/** The active key, created on first use. */
export async function ensureSigningKey(c: StoreCtx, now = Date.now()): Promise<SigningKeyRecord> {
  return transaction(c, async () => (await activeSigningKey(c)) ?? (await insertKey(c, now)))
}

/** Keys to publish: the active one and those retired less than `tokenTtlMs` ago (their tokens may still be live). */
export async function publishedSigningKeys(c: StoreCtx, tokenTtlMs: number, now = Date.now()): Promise<SigningKeyRecord[]> {
  const rows = await c.db.selectFrom(T).selectAll()
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', now - tokenTtlMs)]))
    .orderBy('created_at', 'desc').execute()
  return rows.map((r) => toKey(c, r))
}

/**
 * Rotation: a new key becomes active, the old one is retired (still published for `tokenTtlMs`),
 * and keys retired longer ago than that are deleted.
 */
export async function rotateSigningKey(c: StoreCtx, tokenTtlMs: number, now = Date.now()): Promise<{active: SigningKeyRecord; retired: string[]; deleted: number}> {
  return transaction(c, async () => {
    const retired = (await c.db.selectFrom(T).select('id').where('retired_at', 'is', null).execute()).map((r) => r.id)
    await c.db.updateTable(T).set({retired_at: now}).where('retired_at', 'is', null).execute()
    const deleted = changed(await c.db.deleteFrom(T).where('retired_at', 'is not', null).where('retired_at', '<=', now - tokenTtlMs).executeTakeFirst())
    return {active: await insertKey(c, now + 1), retired, deleted}
  })
}
