import type {Role, User, UserStatus} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {changed, type StoreCtx, transaction} from '../db.js'
import {normaliseEmail} from '../names.js'
import {afterCursor, type CursorPosition, decodeCursor, type Page, pageOf, type PageRequest} from '../page.js'
import type {UsersTable} from '../schema.js'
import {createUserKey, openPersonal, sealPersonal, userKeyOf} from './user-keys.js'

/** A users row with its owner's sealed key (the doc is sealed with it: see user-keys.ts). */
type Row = UsersTable & {user_key: Buffer | null}
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

/** Every users column and the owner's sealed key, in one statement. */
const selectUsers = (c: StoreCtx) => c.db.selectFrom(T).selectAll().select(userKeyOf('users.id'))

function toUser(c: StoreCtx, r: Row): UserRecord {
  const d = openPersonal<UserDoc>(c, T, r.id, r)
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

export async function createUser(c: StoreCtx, input: Omit<UserDoc, 'email'> & {email: string}, id = newId('user')): Promise<UserRecord> {
  const now = Date.now()
  const doc: UserDoc = {...input, email: normaliseEmail(input.email)}
  // the key and the row commit together: a user never exists without a key to seal with
  return transaction(c, async () => {
    const key = await createUserKey(c, id, now)
    await c.db.insertInto(T).values({id, email_bidx: emailIndex(c, doc.email), created_at: now, updated_at: now, doc: key.sealJson(T, id, doc)}).execute()
    return (await getUser(c, id))!
  })
}

export async function getUser(c: StoreCtx, id: string): Promise<UserRecord | undefined> {
  const r = await selectUsers(c).where('id', '=', id).executeTakeFirst()
  return r && toUser(c, r)
}

export async function findUserByEmail(c: StoreCtx, email: string): Promise<UserRecord | undefined> {
  const r = await selectUsers(c).where('email_bidx', '=', emailIndex(c, email)).executeTakeFirst()
  return r && toUser(c, r)
}

/** Up to `limit` users after the cursor, in creation order. */
function usersAfter(c: StoreCtx, after: CursorPosition | undefined, limit: number): Promise<Row[]> {
  let q = selectUsers(c)
  if (after) q = q.where(afterCursor(after))
  return q.orderBy('created_at').orderBy('id').limit(limit).execute()
}

/**
 * A page of users in creation order. Role and status are sealed inside the row, so a filter runs
 * on decrypted users: rows are read in batches until the page (and one more, for the cursor) is full.
 */
export async function listUsers(c: StoreCtx, page: PageRequest, keep?: (u: UserRecord) => boolean): Promise<Page<UserRecord>> {
  let after = decodeCursor(page.cursor)
  if (!keep) {
    const rows = await usersAfter(c, after, page.limit + 1)
    return pageOf(rows, page.limit, (r) => r.created_at, (r) => toUser(c, r))
  }
  const batch = Math.max(100, page.limit + 1)
  const kept: Row[] = []
  for (;;) {
    const rows = await usersAfter(c, after, batch)
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

export async function countUsers(c: StoreCtx): Promise<number> {
  const r = await c.db.selectFrom(T).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(r.n)
}

export async function updateUser(c: StoreCtx, id: string, patch: Partial<UserDoc>): Promise<UserRecord | undefined> {
  const cur = await getUser(c, id)
  if (!cur) return undefined
  const doc: UserDoc = {
    email: normaliseEmail(patch.email ?? cur.email),
    name: patch.name ?? cur.name,
    role: patch.role ?? cur.role,
    status: patch.status ?? cur.status,
    passwordHash: patch.passwordHash === undefined ? cur.passwordHash : patch.passwordHash,
  }
  await c.db.updateTable(T).set({email_bidx: emailIndex(c, doc.email), updated_at: Date.now(), doc: await sealPersonal(c, T, id, id, doc)}).where('id', '=', id).execute()
  return getUser(c, id)
}

export async function deleteUserRow(c: StoreCtx, id: string): Promise<boolean> {
  return changed(await c.db.deleteFrom(T).where('id', '=', id).executeTakeFirst()) > 0
}

/** Active owners, optionally leaving one out (the one about to be disabled, demoted or erased). */
export async function countActiveOwners(c: StoreCtx, except?: string): Promise<number> {
  return (await selectUsers(c).execute()).filter((r) => r.id !== except).map((r) => toUser(c, r)).filter((u) => u.role === 'owner' && u.status === 'active').length
}
