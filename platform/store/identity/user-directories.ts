import type {UserDirectory} from '../../../src/lib/api-types/index.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from '../db.js'
import {normaliseName} from '../names.js'

/**
 * A user's side of directory membership: resolving a directory reference and reading or adding
 * a user's memberships. The directories themselves (tree, rename, move) belong to directories.ts;
 * this reads the same table through the same blind index ('directories.name').
 */
const T = 'directories'

export type DirectoryLookup = {ok: true; id: string} | {ok: false; reason: 'unknown' | 'ambiguous'; candidates?: string[]}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('directories.name', normaliseName(name))

/** A directory by id, by path from the root ("eng/backend"), or by a name that is unique. */
export async function lookupDirectory(c: StoreCtx, ref: string): Promise<DirectoryLookup> {
  if (looksLikeId(ref, 'directory')) {
    return (await c.db.selectFrom(T).select('id').where('id', '=', ref).executeTakeFirst()) ? {ok: true, id: ref} : {ok: false, reason: 'unknown'}
  }
  const parts = ref.split('/').map((p) => p.trim()).filter(Boolean)
  if (parts.length === 0) return {ok: false, reason: 'unknown'}
  if (parts.length === 1) {
    const rows = await c.db.selectFrom(T).select('id').where('name_bidx', '=', nameIndex(c, parts[0])).execute()
    if (rows.length === 1) return {ok: true, id: rows[0].id}
    if (rows.length === 0) return {ok: false, reason: 'unknown'}
    const candidates: string[] = []
    for (const r of rows) candidates.push(await directoryPath(c, r.id))
    return {ok: false, reason: 'ambiguous', candidates}
  }
  let parent: string | null = null
  for (const part of parts) {
    const row: {id: string} | undefined = await c.db.selectFrom(T).select('id')
      .where('parent_id', parent === null ? 'is' : '=', parent)
      .where('name_bidx', '=', nameIndex(c, part))
      .executeTakeFirst()
    if (!row) return {ok: false, reason: 'unknown'}
    parent = row.id
  }
  return {ok: true, id: parent!}
}

/** Names from the root joined with "/". */
export async function directoryPath(c: StoreCtx, id: string): Promise<string> {
  const names: string[] = []
  let cur: string | null = id
  // The tree is acyclic (moves refuse cycles); the bound guards against a corrupt store anyway.
  for (let i = 0; cur && i < 256; i++) {
    const r = await c.db.selectFrom(T).select(['id', 'parent_id', 'doc']).where('id', '=', cur).executeTakeFirst()
    if (!r) break
    names.unshift(c.cipher.openJson<{name: string}>(T, r.id, r.doc).name)
    cur = r.parent_id
  }
  return names.join('/')
}

export async function directoriesOfUser(c: StoreCtx, userId: string): Promise<UserDirectory[]> {
  const rows = await c.db.selectFrom('memberships').select('directory_id').where('user_id', '=', userId).orderBy('created_at').execute()
  const out: UserDirectory[] = []
  for (const r of rows) out.push({id: r.directory_id, path: await directoryPath(c, r.directory_id)})
  return out
}

export async function addUserToDirectories(c: StoreCtx, userId: string, directoryIds: readonly string[], now = Date.now()): Promise<void> {
  for (const d of directoryIds) {
    await c.db.insertInto('memberships').values({directory_id: d, user_id: userId, created_at: now}).onConflict((oc) => oc.doNothing()).execute()
  }
}
