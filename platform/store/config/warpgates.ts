import {newId} from '../../../src/protocol/ids.js'
import {newToken} from '../../../src/protocol/tokens.js'
import type {StoreCtx} from './projects.js'

interface Row {
  id: string
  project_id: string
  environment_id: string
  token_hash: Buffer | null
  created_at: number
  updated_at: number
  revoked_at: number | null
  last_seen_at: number | null
  doc: Buffer
}

/** The sealed part of a Warpgate registration. */
export interface WarpgateDoc {
  name: string
  /** the service name routes point at */
  service: string
  /** when the one-time registration token stops working (ms) */
  tokenExpiresAt: number
  registeredAt: number | null
  /** the last certificate issued: serial and expiry (ms) */
  certSerial: string | null
  certExpiresAt: number | null
}

export interface WarpgateRecord extends WarpgateDoc {
  id: string
  projectId: string
  environmentId: string
  /** a registration token is outstanding (created, not yet used) */
  hasToken: boolean
  createdAt: number
  updatedAt: number
  revokedAt: number | null
  lastSeenAt: number | null
}
const T = 'warpgates'

function toRecord(c: StoreCtx, r: Row): WarpgateRecord {
  const d = c.cipher.openJson<WarpgateDoc>(T, r.id, r.doc)
  return {
    ...d, id: r.id, projectId: r.project_id, environmentId: r.environment_id, hasToken: r.token_hash !== null,
    createdAt: r.created_at, updatedAt: r.updated_at, revokedAt: r.revoked_at, lastSeenAt: r.last_seen_at,
  }
}

/** Creates a registration and its one-time token, stored only as a keyed hash and shown once. */
export function createWarpgate(c: StoreCtx, input: {projectId: string; environmentId: string; name: string; service: string; tokenTtlMs: number}): {token: string; warpgate: WarpgateRecord} {
  const id = newId('warpgate')
  const token = newToken('warpgate')
  const now = Date.now()
  const doc: WarpgateDoc = {name: input.name, service: input.service, tokenExpiresAt: now + input.tokenTtlMs, registeredAt: null, certSerial: null, certExpiresAt: null}
  c.db.prepare(`INSERT INTO ${T} (id, project_id, environment_id, token_hash, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
    id, input.projectId, input.environmentId, c.hasher.tokenHash(token), now, now, c.cipher.sealJson(T, id, doc),
  )
  return {token, warpgate: getWarpgate(c, id)!}
}

export function getWarpgate(c: StoreCtx, id: string): WarpgateRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toRecord(c, r)
}

/** The registration a token belongs to; the hash is compared again in constant time. */
export function findWarpgateByToken(c: StoreCtx, token: string): WarpgateRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE token_hash = ?`).get(c.hasher.tokenHash(token)) as Row | undefined
  if (!r || !r.token_hash || !c.hasher.tokenMatches(token, r.token_hash)) return undefined
  return toRecord(c, r)
}

/** Registrations, oldest first; `projectIds` limits to a caller's reach. */
export function listWarpgates(c: StoreCtx, filter: {projectIds?: readonly string[]; environmentId?: string} = {}): WarpgateRecord[] {
  const where: string[] = []
  const params: string[] = []
  if (filter.projectIds) {
    if (filter.projectIds.length === 0) return []
    where.push(`project_id IN (${filter.projectIds.map(() => '?').join(',')})`)
    params.push(...filter.projectIds)
  }
  if (filter.environmentId) (where.push('environment_id = ?'), params.push(filter.environmentId))
  const sql = `SELECT * FROM ${T} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`
  return (c.db.prepare(sql).all(...params) as Row[]).map((r) => toRecord(c, r))
}

/** Records an issued certificate; the first one also burns the registration token. */
export function recordCertificate(c: StoreCtx, id: string, cert: {serial: string; expiresAt: number}): void {
  const cur = getWarpgate(c, id)
  if (!cur) return
  const now = Date.now()
  const doc: WarpgateDoc = {
    name: cur.name, service: cur.service, tokenExpiresAt: cur.tokenExpiresAt,
    registeredAt: cur.registeredAt ?? now, certSerial: cert.serial, certExpiresAt: cert.expiresAt,
  }
  c.db.prepare(`UPDATE ${T} SET token_hash = NULL, updated_at = ?, doc = ? WHERE id = ?`).run(now, c.cipher.sealJson(T, id, doc), id)
}

/** Revokes a registration (and any unused token); returns false when it was already revoked or is missing. */
export function revokeWarpgate(c: StoreCtx, id: string): boolean {
  const now = Date.now()
  return c.db.prepare(`UPDATE ${T} SET revoked_at = ?, token_hash = NULL, updated_at = ? WHERE id = ? AND revoked_at IS NULL`).run(now, now, id).changes > 0
}

/** Last time a Warpgate was connected (written on connect and disconnect, not per request). */
export function touchWarpgate(c: StoreCtx, id: string, at = Date.now()): void {
  c.db.prepare(`UPDATE ${T} SET last_seen_at = ? WHERE id = ?`).run(at, id)
}
