import type {Role, User, UserStatus} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from '../config/projects.js'
import {normaliseEmail} from '../names.js'
import {decodeCursor, type Page, pageOf, type PageRequest} from '../page.js'

interface Row {
  id: string
  created_at: number
  updated_at: number
  doc: Buffer
}
export interface UserDoc {
  email: string
  name: string
  role: Role
  status: UserStatus
  passwordHash: string | null
}
const T = 'users'

export interface UserRecord extends User {
  passwordHash: string | null
}

function toUser(c: StoreCtx, r: Row): UserRecord {
  const d = c.cipher.openJson<UserDoc>(T, r.id, r.doc)
  return {
    id: r.id, email: d.email, name: d.name, role: d.role, status: d.status, passwordHash: d.passwordHash,
    createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString(),
  }
}

export function publicUser(u: UserRecord): User {
  const {passwordHash: _omit, ...rest} = u
  return rest
}

export const emailIndex = (c: StoreCtx, email: string) => c.hasher.blindIndex('users.email', normaliseEmail(email))

export function createUser(c: StoreCtx, input: Omit<UserDoc, 'email'> & {email: string}, id = newId('user')): UserRecord {
  const now = Date.now()
  const doc: UserDoc = {...input, email: normaliseEmail(input.email)}
  c.db.prepare(`INSERT INTO ${T} (id, email_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?)`).run(
    id, emailIndex(c, doc.email), now, now, c.cipher.sealJson(T, id, doc),
  )
  return getUser(c, id)!
}

export function getUser(c: StoreCtx, id: string): UserRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toUser(c, r)
}

export function findUserByEmail(c: StoreCtx, email: string): UserRecord | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE email_bidx = ?`).get(emailIndex(c, email)) as Row | undefined
  return r && toUser(c, r)
}

/**
 * A page of users in creation order. Role and status are sealed inside the row, so a filter runs
 * on decrypted users: rows are read in batches until the page (and one more, for the cursor) is full.
 */
export function listUsers(c: StoreCtx, page: PageRequest, keep?: (u: UserRecord) => boolean): Page<UserRecord> {
  let after = decodeCursor(page.cursor)
  if (!keep) {
    const rows = (after
      ? c.db.prepare(`SELECT * FROM ${T} WHERE created_at > ? OR (created_at = ? AND id > ?) ORDER BY created_at, id LIMIT ?`).all(after.at, after.at, after.id, page.limit + 1)
      : c.db.prepare(`SELECT * FROM ${T} ORDER BY created_at, id LIMIT ?`).all(page.limit + 1)) as Row[]
    return pageOf(rows, page.limit, (r) => r.created_at, (r) => toUser(c, r))
  }
  const batch = Math.max(100, page.limit + 1)
  const kept: Row[] = []
  for (;;) {
    const rows = (after
      ? c.db.prepare(`SELECT * FROM ${T} WHERE created_at > ? OR (created_at = ? AND id > ?) ORDER BY created_at, id LIMIT ?`).all(after.at, after.at, after.id, batch)
      : c.db.prepare(`SELECT * FROM ${T} ORDER BY created_at, id LIMIT ?`).all(batch)) as Row[]
    for (const r of rows) {
      if (keep(toUser(c, r))) kept.push(r)
      if (kept.length > page.limit) break
    }
    const last = rows.at(-1)
    if (kept.length > page.limit || rows.length < batch || !last) break
    after = {at: last.created_at, id: last.id}
  }
  return pageOf(kept, page.limit, (r) => r.created_at, (r) => toUser(c, r))
}

export function countUsers(c: StoreCtx): number {
  return (c.db.prepare(`SELECT count(*) AS n FROM ${T}`).get() as {n: number}).n
}

export function updateUser(c: StoreCtx, id: string, patch: Partial<UserDoc>): UserRecord | undefined {
  const cur = getUser(c, id)
  if (!cur) return undefined
  const doc: UserDoc = {
    email: normaliseEmail(patch.email ?? cur.email),
    name: patch.name ?? cur.name,
    role: patch.role ?? cur.role,
    status: patch.status ?? cur.status,
    passwordHash: patch.passwordHash === undefined ? cur.passwordHash : patch.passwordHash,
  }
  c.db.prepare(`UPDATE ${T} SET email_bidx = ?, updated_at = ?, doc = ? WHERE id = ?`).run(emailIndex(c, doc.email), Date.now(), c.cipher.sealJson(T, id, doc), id)
  return getUser(c, id)
}

export function deleteUserRow(c: StoreCtx, id: string): boolean {
  return c.db.prepare(`DELETE FROM ${T} WHERE id = ?`).run(id).changes > 0
}

/** Active owners, optionally leaving one out (the one about to be disabled, demoted or erased). */
export function countActiveOwners(c: StoreCtx, except?: string): number {
  const rows = c.db.prepare(`SELECT * FROM ${T}`).all() as Row[]
  return rows.filter((r) => r.id !== except).map((r) => toUser(c, r)).filter((u) => u.role === 'owner' && u.status === 'active').length
}
