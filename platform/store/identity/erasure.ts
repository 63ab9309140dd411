import type {AuditInput} from '../config/audit.js'
import {changed, type StoreCtx, transaction} from '../db.js'
import {serviceAccountsCreatedBy} from './user-export.js'
import {destroyUserKey} from './user-keys.js'

export interface ErasedCounts {
  sessions: number
  loginHistory: number
  memberships: number
  projectMemberships: number
  invites: number
}

/** The identity tables whose rows name a user in `user_id`. */
type UserRows = 'sessions' | 'login_history' | 'memberships' | 'project_members' | 'invites'

/**
 * Removes a user and every identity row that names them, in one transaction (joining the
 * caller's, if any). Service accounts they created stay (others may depend on them) but forget
 * who created them.
 *
 * Their data key goes in the same transaction (crypto-shredding, see user-keys.ts): copies of
 * their rows that a DELETE cannot reach (PostgreSQL dead tuples and WAL, replicas, backups) were
 * sealed with it. Old copies of the key row itself are sealed with the master key, so they stay
 * openable until the master key is rotated and the old one destroyed. The cached key is wiped
 * once the caller commits.
 *
 * WAL mode keeps deleted bytes in the -wal file (secure_delete only zeroes the main file's pages),
 * so after an erasure commits the caller checkpoints and vacuums the SQLite stores
 * (`stores.sqlite?.purgeFreePages()`).
 */
export async function eraseIdentity(c: StoreCtx, userId: string): Promise<ErasedCounts> {
  return transaction(c, async () => {
    const del = async (table: UserRows) => changed(await c.db.deleteFrom(table).where('user_id', '=', userId).executeTakeFirst())
    const counts: ErasedCounts = {
      sessions: await del('sessions'),
      loginHistory: await del('login_history'),
      memberships: await del('memberships'),
      projectMemberships: await del('project_members'),
      invites: await del('invites'),
    }
    for (const id of await serviceAccountsCreatedBy(c, userId)) {
      const row = await c.db.selectFrom('service_accounts').select('doc').where('id', '=', id).executeTakeFirstOrThrow()
      const doc = c.cipher.openJson<Record<string, unknown>>('service_accounts', id, row.doc)
      await c.db.updateTable('service_accounts').set({doc: c.cipher.sealJson('service_accounts', id, {...doc, createdBy: null})}).where('id', '=', id).execute()
    }
    await c.db.deleteFrom('users').where('id', '=', userId).execute()
    await destroyUserKey(c, userId)
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
