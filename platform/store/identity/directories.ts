import {sql} from 'kysely'
import type {Directory} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {type DirectoryNode, type DirectoryTree, directoryPath, treeOf} from '../../directory-tree.js'
import {changed, type StoreCtx, transaction} from '../db.js'
import {normaliseName} from '../names.js'
import type {DirectoriesTable} from '../schema.js'

export {directoryIdsOfUser, directoryPath, isSelfOrDescendant, treeOf, type DirectoryNode, type DirectoryTree} from '../../directory-tree.js'

type Row = DirectoriesTable
interface Doc {
  name: string
}
const T = 'directories'

/** Names are unique among siblings; the users helper reads the same index. */
export const directoryNameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('directories.name', normaliseName(name))

function toNode(c: StoreCtx, r: Row): DirectoryNode & {createdAt: number; updatedAt: number} {
  const d = c.cipher.openJson<Doc>(T, r.id, r.doc)
  return {id: r.id, parentId: r.parent_id, name: d.name, createdAt: r.created_at, updatedAt: r.updated_at}
}

/** The whole tree, opened once (directories are few; paths need every ancestor). */
export async function loadDirectoryTree(c: StoreCtx): Promise<DirectoryTree> {
  return treeOf((await c.db.selectFrom(T).selectAll().execute()).map((r) => toNode(c, r)))
}

async function toDirectory(c: StoreCtx, tree: DirectoryTree, r: Row): Promise<Directory> {
  const n = toNode(c, r)
  return {
    id: n.id, name: n.name, parentId: n.parentId, path: directoryPath(tree, n.id) ?? n.name,
    memberCount: await countMembers(c, n.id), childCount: await countChildren(c, n.id),
    createdAt: new Date(n.createdAt).toISOString(), updatedAt: new Date(n.updatedAt).toISOString(),
  }
}

export async function createDirectory(c: StoreCtx, name: string, parentId: string | null): Promise<Directory> {
  const id = newId('directory')
  const now = Date.now()
  await c.db.insertInto(T).values({id, parent_id: parentId, name_bidx: directoryNameIndex(c, name), created_at: now, updated_at: now, doc: c.cipher.sealJson(T, id, {name} satisfies Doc)}).execute()
  return (await getDirectory(c, id))!
}

export async function getDirectory(c: StoreCtx, id: string): Promise<Directory | undefined> {
  const r = await c.db.selectFrom(T).selectAll().where('id', '=', id).executeTakeFirst()
  return r && toDirectory(c, await loadDirectoryTree(c), r)
}

/** The child of `parentId` (null = a root) with this name. */
export async function findChildDirectory(c: StoreCtx, parentId: string | null, name: string): Promise<Directory | undefined> {
  const r = await c.db.selectFrom(T).selectAll()
    .where('parent_id', parentId === null ? 'is' : '=', parentId)
    .where('name_bidx', '=', directoryNameIndex(c, name))
    .executeTakeFirst()
  return r && toDirectory(c, await loadDirectoryTree(c), r)
}

/** "eng/platform" → the directory, walking from the root; undefined when any step is missing. */
export async function findDirectoryByPath(c: StoreCtx, path: string): Promise<Directory | undefined> {
  const parts = path.split('/').filter((s) => s.length > 0)
  if (parts.length === 0) return undefined
  let cur: Directory | undefined
  for (const part of parts) {
    cur = await findChildDirectory(c, cur?.id ?? null, part)
    if (!cur) return undefined
  }
  return cur
}

/** Every directory, sorted by path. */
export async function listDirectories(c: StoreCtx): Promise<Directory[]> {
  const tree = await loadDirectoryTree(c)
  const out: Directory[] = []
  for (const r of await c.db.selectFrom(T).selectAll().execute()) out.push(await toDirectory(c, tree, r))
  return out.sort((a, b) => a.path.localeCompare(b.path))
}

export async function renameDirectory(c: StoreCtx, id: string, name: string): Promise<Directory | undefined> {
  const r = await c.db.updateTable(T).set({name_bidx: directoryNameIndex(c, name), updated_at: Date.now(), doc: c.cipher.sealJson(T, id, {name} satisfies Doc)}).where('id', '=', id).executeTakeFirst()
  return changed(r) ? getDirectory(c, id) : undefined
}

/** Re-parents a directory; the caller has refused cycles already. */
export async function moveDirectory(c: StoreCtx, id: string, parentId: string | null): Promise<Directory | undefined> {
  const r = await c.db.updateTable(T).set({parent_id: parentId, updated_at: Date.now()}).where('id', '=', id).executeTakeFirst()
  return changed(r) ? getDirectory(c, id) : undefined
}

export async function countChildren(c: StoreCtx, id: string): Promise<number> {
  const r = await c.db.selectFrom(T).select((eb) => eb.fn.countAll<number>().as('n')).where('parent_id', '=', id).executeTakeFirstOrThrow()
  return Number(r.n)
}

/** Ids of `id` and all its descendants, deepest first (the order they can be deleted in). */
export async function subtreeIds(c: StoreCtx, id: string): Promise<string[]> {
  const rows = await c.db
    .withRecursive('sub(id, depth)', (db) =>
      db.selectFrom(T).select(['id', sql<number>`0`.as('depth')]).where('id', '=', id).unionAll(
        db.selectFrom(`${T} as d`).innerJoin('sub', 'sub.id', 'd.parent_id').select(['d.id', sql<number>`sub.depth + 1`.as('depth')]),
      ))
    .selectFrom('sub').select('id').orderBy('depth', 'desc').execute()
  return rows.map((r) => r.id)
}

/** Deletes a directory and everything under it (memberships go with them). */
export async function deleteDirectoryTree(c: StoreCtx, id: string): Promise<number> {
  return transaction(c, async () => {
    let n = 0
    for (const d of await subtreeIds(c, id)) n += changed(await c.db.deleteFrom(T).where('id', '=', d).executeTakeFirst())
    return n
  })
}

// Memberships: direct only; ancestors are implied (see directoryIdsOfUser).

export async function addMember(c: StoreCtx, directoryId: string, userId: string): Promise<boolean> {
  const r = await c.db.insertInto('memberships').values({directory_id: directoryId, user_id: userId, created_at: Date.now()}).onConflict((oc) => oc.doNothing()).executeTakeFirst()
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0
}

export async function removeMember(c: StoreCtx, directoryId: string, userId: string): Promise<boolean> {
  return changed(await c.db.deleteFrom('memberships').where('directory_id', '=', directoryId).where('user_id', '=', userId).executeTakeFirst()) > 0
}

export async function countMembers(c: StoreCtx, directoryId: string): Promise<number> {
  const r = await c.db.selectFrom('memberships').select((eb) => eb.fn.countAll<number>().as('n')).where('directory_id', '=', directoryId).executeTakeFirstOrThrow()
  return Number(r.n)
}

/** Direct members of a directory, oldest membership first. */
export async function membersOf(c: StoreCtx, directoryId: string): Promise<Array<{userId: string; addedAt: number}>> {
  const rows = await c.db.selectFrom('memberships').select(['user_id', 'created_at']).where('directory_id', '=', directoryId).orderBy('created_at').orderBy('user_id').execute()
  return rows.map((r) => ({userId: r.user_id, addedAt: r.created_at}))
}

/** Every membership row; with loadDirectoryTree it is what directoryIdsOfUser needs. */
export async function listMemberships(c: StoreCtx, filter: {userId?: string} = {}): Promise<Array<{directoryId: string; userId: string}>> {
  let q = c.db.selectFrom('memberships').select(['directory_id', 'user_id'])
  if (filter.userId) q = q.where('user_id', '=', filter.userId)
  return (await q.execute()).map((r) => ({directoryId: r.directory_id, userId: r.user_id}))
}
