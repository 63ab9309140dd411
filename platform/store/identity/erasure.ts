import type {AuditInput} from '../config/audit.js'
import type {StoreCtx} from '../config/projects.js'
import {type Db, purgeFreePages, transaction} from '../db.js'
import {serviceAccountsCreatedBy} from './user-export.js'

export interface ErasedCounts {
  sessions: number
  loginHistory: number
  memberships: number
  projectMemberships: number
  invites: number
}

/**
 * Removes a user and every identity row that names them, in one transaction. Service accounts
 * they created stay (others may depend on them) but forget who created them.
 */
export function eraseIdentity(c: StoreCtx, userId: string): ErasedCounts {
  return transaction(c.db, () => {
    const del = (table: string) => c.db.prepare(`DELETE FROM ${table} WHERE user_id = ?`).run(userId).changes
    const counts: ErasedCounts = {
      sessions: del('sessions'),
      loginHistory: del('login_history'),
      memberships: del('memberships'),
      projectMemberships: del('project_members'),
      invites: del('invites'),
    }
    const reseal = c.db.prepare('UPDATE service_accounts SET doc = ? WHERE id = ?')
    for (const id of serviceAccountsCreatedBy(c, userId)) {
      const row = c.db.prepare('SELECT doc FROM service_accounts WHERE id = ?').get(id) as {doc: Buffer}
      const doc = c.cipher.openJson<Record<string, unknown>>('service_accounts', id, row.doc)
      reseal.run(c.cipher.sealJson('service_accounts', id, {...doc, createdBy: null}), id)
    }
    c.db.prepare('DELETE FROM users WHERE id = ?').run(userId)
    return counts
  })
}

/** Does an audit entry name this user anywhere (actor, target, or inside its details)? */
export function auditNames(userId: string, email: string): (e: AuditInput) => boolean {
  const needles = [userId, email.toLowerCase()]
  return (e) =>
    e.actor.id === userId || e.target.id === userId ||
    [e.actor.name, e.target.name, JSON.stringify(e.details ?? {})].some((s) => !!s && needles.some((n) => s.toLowerCase().includes(n)))
}

/**
 * WAL mode keeps deleted bytes in the -wal file (secure_delete only zeroes the main file's pages),
 * so after an erasure both stores are checkpointed with TRUNCATE and vacuumed.
 */
export function purgeStores(dbs: readonly Db[]): void {
  for (const db of dbs) purgeFreePages(db)
}
