import type {LoginRecord} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from '../db.js'
import {openPersonal, sealPersonal, userKeyOf} from './user-keys.js'

type Doc = Omit<LoginRecord, 'id' | 'at'>
const T = 'login_history'

/** Sealed with the user's key; a failed login for an unknown email (no user) with the master key. */
export async function recordLogin(c: StoreCtx, userId: string | null, entry: Doc): Promise<void> {
  const id = newId('login')
  await c.db.insertInto(T).values({id, user_id: userId, at: Date.now(), doc: await sealPersonal(c, T, id, userId, entry)}).execute()
}

/** Newest first. */
export async function loginHistory(c: StoreCtx, userId: string, limit = 100): Promise<LoginRecord[]> {
  const rows = await c.db.selectFrom(T).selectAll().select(userKeyOf('login_history.user_id')).where('user_id', '=', userId).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute()
  return rows.map((r) => ({id: r.id, at: new Date(r.at).toISOString(), ...openPersonal<Doc>(c, T, r.user_id, r)}))
}
