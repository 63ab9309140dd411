import type {Directory} from '../../../src/lib/api-types/index.js'
import {newId} from '../../../src/protocol/ids.js'
import {type DirectoryNode, type DirectoryTree, directoryPath, treeOf} from '../../directory-tree.js'
import type {StoreCtx} from '../config/projects.js'
import {normaliseName} from '../names.js'

export {directoryIdsOfUser, directoryPath, isSelfOrDescendant, treeOf, type DirectoryNode, type DirectoryTree} from '../../directory-tree.js'

interface Row {
  id: string
  parent_id: string | null
  created_at: number
  updated_at: number
  doc: Buffer
}
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
export function loadDirectoryTree(c: StoreCtx): DirectoryTree {
  return treeOf((c.db.prepare(`SELECT * FROM ${T}`).all() as Row[]).map((r) => toNode(c, r)))
}

function toDirectory(c: StoreCtx, tree: DirectoryTree, r: Row): Directory {
  const n = toNode(c, r)
  return {
    id: n.id, name: n.name, parentId: n.parentId, path: directoryPath(tree, n.id) ?? n.name,
    memberCount: countMembers(c, n.id), childCount: countChildren(c, n.id),
    createdAt: new Date(n.createdAt).toISOString(), updatedAt: new Date(n.updatedAt).toISOString(),
  }
}

export function createDirectory(c: StoreCtx, name: string, parentId: string | null): Directory {
  const id = newId('directory')
  const now = Date.now()
  c.db.prepare(`INSERT INTO ${T} (id, parent_id, name_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?)`).run(
    id, parentId, directoryNameIndex(c, name), now, now, c.cipher.sealJson(T, id, {name} satisfies Doc),
  )
  return getDirectory(c, id)!
}

export function getDirectory(c: StoreCtx, id: string): Directory | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE id = ?`).get(id) as Row | undefined
  return r && toDirectory(c, loadDirectoryTree(c), r)
}

/** The child of `parentId` (null = a root) with this name. */
export function findChildDirectory(c: StoreCtx, parentId: string | null, name: string): Directory | undefined {
  const r = c.db.prepare(`SELECT * FROM ${T} WHERE ifnull(parent_id, '') = ? AND name_bidx = ?`).get(parentId ?? '', directoryNameIndex(c, name)) as Row | undefined
  return r && toDirectory(c, loadDirectoryTree(c), r)
}

/** "eng/platform" → the directory, walking from the root; undefined when any step is missing. */
export function findDirectoryByPath(c: StoreCtx, path: string): Directory | undefined {
  const parts = path.split('/').filter((s) => s.length > 0)
  if (parts.length === 0) return undefined
  let cur: Directory | undefined
  for (const part of parts) {
    cur = findChildDirectory(c, cur?.id ?? null, part)
    if (!cur) return undefined
  }
  return cur
}

/** Every directory, sorted by path. */
export function listDirectories(c: StoreCtx): Directory[] {
  const tree = loadDirectoryTree(c)
  return (c.db.prepare(`SELECT * FROM ${T}`).all() as Row[]).map((r) => toDirectory(c, tree, r)).sort((a, b) => a.path.localeCompare(b.path))
}

export function renameDirectory(c: StoreCtx, id: string, name: string): Directory | undefined {
  const changed = c.db.prepare(`UPDATE ${T} SET name_bidx = ?, updated_at = ?, doc = ? WHERE id = ?`).run(directoryNameIndex(c, name), Date.now(), c.cipher.sealJson(T, id, {name} satisfies Doc), id)
  return changed.changes ? getDirectory(c, id) : undefined
}

/** Re-parents a directory; the caller has refused cycles already. */
export function moveDirectory(c: StoreCtx, id: string, parentId: string | null): Directory | undefined {
  const changed = c.db.prepare(`UPDATE ${T} SET parent_id = ?, updated_at = ? WHERE id = ?`).run(parentId, Date.now(), id)
  return changed.changes ? getDirectory(c, id) : undefined
}

export function countChildren(c: StoreCtx, id: string): number {
  return (c.db.prepare(`SELECT count(*) AS n FROM ${T} WHERE parent_id = ?`).get(id) as {n: number}).n
}

/** Ids of `id` and all its descendants, deepest first (the order they can be deleted in). */
export function subtreeIds(c: StoreCtx, id: string): string[] {
  const rows = c.db.prepare(`
    WITH RECURSIVE sub(id, depth) AS (SELECT id, 0 FROM ${T} WHERE id = ? UNION ALL SELECT d.id, sub.depth + 1 FROM ${T} d JOIN sub ON d.parent_id = sub.id)
    SELECT id FROM sub ORDER BY depth DESC`).all(id) as Array<{id: string}>
  return rows.map((r) => r.id)
}

/** Deletes a directory and everything under it (memberships go with them). */
export function deleteDirectoryTree(c: StoreCtx, id: string): number {
  const del = c.db.prepare(`DELETE FROM ${T} WHERE id = ?`)
  let n = 0
  c.db.transaction(() => {
    for (const d of subtreeIds(c, id)) n += del.run(d).changes
  })()
  return n
}

// Memberships: direct only; ancestors are implied (see directoryIdsOfUser).

export function addMember(c: StoreCtx, directoryId: string, userId: string): boolean {
  return c.db.prepare('INSERT OR IGNORE INTO memberships (directory_id, user_id, created_at) VALUES (?, ?, ?)').run(directoryId, userId, Date.now()).changes > 0
}

export function removeMember(c: StoreCtx, directoryId: string, userId: string): boolean {
  return c.db.prepare('DELETE FROM memberships WHERE directory_id = ? AND user_id = ?').run(directoryId, userId).changes > 0
}

export function countMembers(c: StoreCtx, directoryId: string): number {
  return (c.db.prepare('SELECT count(*) AS n FROM memberships WHERE directory_id = ?').get(directoryId) as {n: number}).n
}

/** Direct members of a directory, oldest membership first. */
export function membersOf(c: StoreCtx, directoryId: string): Array<{userId: string; addedAt: number}> {
  return (c.db.prepare('SELECT user_id, created_at FROM memberships WHERE directory_id = ? ORDER BY created_at, user_id').all(directoryId) as Array<{user_id: string; created_at: number}>)
    .map((r) => ({userId: r.user_id, addedAt: r.created_at}))
}

/** Every membership row; with loadDirectoryTree it is what directoryIdsOfUser needs. */
export function listMemberships(c: StoreCtx, filter: {userId?: string} = {}): Array<{directoryId: string; userId: string}> {
  const rows = (filter.userId
    ? c.db.prepare('SELECT directory_id, user_id FROM memberships WHERE user_id = ?').all(filter.userId)
    : c.db.prepare('SELECT directory_id, user_id FROM memberships').all()) as Array<{directory_id: string; user_id: string}>
  return rows.map((r) => ({directoryId: r.directory_id, userId: r.user_id}))
}
