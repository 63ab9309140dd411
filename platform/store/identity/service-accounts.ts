import type {ServiceAccount} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import type {StoreCtx} from '../config/projects.js'
import {normaliseName} from '../names.js'

interface Row {
  id: string
  project_id: string | null
  created_at: number
  updated_at: number
  expires_at: number | null
  revoked_at: number | null
  doc: Buffer
}
interface Doc {
  name: string
  description: string
  scopes: string[]
  createdBy: string | null
}
interface KeyRow {
  id: string
  service_account_id: string
  key_hash: Buffer
  created_at: number
  expires_at: number | null
  revoked_at: number | null
}
const T = 'service_accounts'
const K = 'api_keys'

export interface ServiceAccountRecord extends ServiceAccount {
  expiresAtMs: number | null
  revokedAtMs: number | null
}

function toAccount(c: StoreCtx, r: Row, now = Date.now()): ServiceAccountRecord {
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  const status = r.revoked_at ? 'revoked' : r.expires_at !== null && r.expires_at <= now ? 'expired' : 'active'
  return {
    id: r.id, name: d.name, description: d.description, scopes: d.scopes, projectId: r.project_id, status,
    createdAt: new Date(r.created_at).toISOString(),
    expiresAt: r.expires_at === null ? null : new Date(r.expires_at).toISOString(),
    revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
    expiresAtMs: r.expires_at, revokedAtMs: r.revoked_at,
  }
}

export const accountNameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('service_accounts.name', normaliseName(name))

export function createServiceAccount(
  c: StoreCtx,
  input: {name: string; description?: string; scopes: string[]; projectId: string | null; expiresAt: number | null; createdBy: string | null},
): {account: ServiceAccountRecord; apiKey: string} {
  const id = newId('serviceAccount')
  const now = Date.now()
  const doc: Doc = {name: input.name, description: input.description ?? '', scopes: input.scopes, createdBy: input.createdBy}
  c.db.prepare(`INSERT INTO ${T} (id, name_bidx, project_id, created_at, updated_at, expires_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
    id, accountNameIndex(c, input.name), input.projectId, now, now, input.expiresAt, c.cipher.sealJson(T, id, doc),
  )
  const apiKey = issueApiKey(c, id, input.expiresAt)
  return {account: getServiceAccount(c, id)!, apiKey}
}

export function issueApiKey(c: StoreCtx, accountId: string, expiresAt: number | null): string {
  const id = newId('apiKey')
  const token = newToken('apiKey')
  c.db.prepare(`INSERT INTO ${K} (id, service_account_id, key_hash, created_at, expires_at, doc) VALUES (?, ?, ?, ?, ?, ?)`).run(
    id, accountId, c.hasher.tokenHash(token), Date.now(), expiresAt, c.cipher.sealJson(K, id, {hint: token.slice(-4)}),
  )
  return token
}

/**
 * Rotation: a new key is issued; the current keys stay valid for `graceMs` (0 = revoked now),
 * so a CI system can roll to the new key without a window of failures.
 */
export function rotateApiKey(c: StoreCtx, accountId: string, graceMs: number): string {
  const now = Date.now()
  const until = now + graceMs
  const account = getServiceAccount(c, accountId)!
  if (graceMs > 0) {
    c.db.prepare(`UPDATE ${K} SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > ? THEN ? ELSE expires_at END WHERE service_account_id = ? AND revoked_at IS NULL`).run(until, until, accountId)
  } else {
    c.db.prepare(`UPDATE ${K} SET revoked_at = ? WHERE service_account_id = ? AND revoked_at IS NULL`).run(now, accountId)
  }
  return issueApiKey(c, accountId, account.expiresAtMs)
}

export function getServiceAccount(c: StoreCtx, id: string): ServiceAccountRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toAccount(c, r)
}

export function findServiceAccountByName(c: StoreCtx, name: string): ServiceAccountRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE name_bidx = ?`).get(accountNameIndex(c, name)) as Row | undefined
  return r && toAccount(c, r)
}

export function listServiceAccounts(c: StoreCtx): ServiceAccountRecord[] {
  return (c.db.prepare(`SELECT * FROM ${T} ORDER BY created_at, id`).all() as Row[]).map((r) => toAccount(c, r))
}

export function revokeServiceAccount(c: StoreCtx, id: string): boolean {
  const now = Date.now()
  c.db.prepare(`UPDATE ${K} SET revoked_at = ? WHERE service_account_id = ? AND revoked_at IS NULL`).run(now, id)
  return c.db.prepare(`UPDATE ${T} SET revoked_at = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL`).run(now, now, id).changes > 0
}

export function deleteServiceAccount(c: StoreCtx, id: string): boolean {
  return c.db.prepare(`DELETE FROM ${T} WHERE id = ?`).run(id).changes > 0
}

export type KeyCheck =
  | {ok: true; account: ServiceAccountRecord; keyId: string; expiresAtMs: number | null}
  | {ok: false; reason: 'unknown' | 'revoked' | 'expired'}

/** Resolves an API key: unknown, revoked and expired are told apart so the 401 can say which. */
export function checkApiKey(c: StoreCtx, token: string, now = Date.now()): KeyCheck {
  const hash = c.hasher.tokenHash(token)
  const k = c.db.prepare(`SELECT * FROM ${K} WHERE key_hash = ?`).get(hash) as KeyRow | undefined
  if (!k || !c.hasher.tokenMatches(token, k.key_hash)) return {ok: false, reason: 'unknown'}
  const account = getServiceAccount(c, k.service_account_id)
  if (!account) return {ok: false, reason: 'unknown'}
  if (k.revoked_at !== null || account.revokedAtMs !== null) return {ok: false, reason: 'revoked'}
  if ((k.expires_at !== null && k.expires_at <= now) || (account.expiresAtMs !== null && account.expiresAtMs <= now)) return {ok: false, reason: 'expired'}
  const ends = [k.expires_at, account.expiresAtMs].filter((t): t is number => t !== null)
  return {ok: true, account, keyId: k.id, expiresAtMs: ends.length > 0 ? Math.min(...ends) : null}
}
