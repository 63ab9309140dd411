import type {UserDirectory} from '../../../src/lib/api-types/index.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import type {StoreCtx} from '../config/projects.js'
import {normaliseName} from '../names.js'

/**
 * A user's side of directory membership: resolving a directory reference and reading or adding
 * a user's memberships. The directories themselves (tree, rename, move) belong to directories.ts;
 * this reads the same table through the same blind index ('directories.name').
 */
interface DirRow {
  id: string
  parent_id: string | null
  doc: Buffer
}
const T = 'directories'

export type DirectoryLookup = {ok: true; id: string} | {ok: false; reason: 'unknown' | 'ambiguous'; candidates?: string[]}

const nameIndex = (c: StoreCtx, name: string) => c.hasher.blindIndex('directories.name', normaliseName(name))

/** A directory by id, by path from the root ("eng/backend"), or by a name that is unique. */
export function lookupDirectory(c: StoreCtx, ref: string): DirectoryLookup {
  if (looksLikeId(ref, 'directory')) {
    return c.db.prepare(`SELECT id FROM ${T} WHERE id = ?`).get(ref) ? {ok: true, id: ref} : {ok: false, reason: 'unknown'}
  }
  const parts = ref.split('/').map((p) => p.trim()).filter(Boolean)
  if (parts.length === 0) return {ok: false, reason: 'unknown'}
  if (parts.length === 1) {
    const rows = c.db.prepare(`SELECT id FROM ${T} WHERE name_bidx = ?`).all(nameIndex(c, parts[0])) as Array<{id: string}>
    if (rows.length === 1) return {ok: true, id: rows[0].id}
    if (rows.length === 0) return {ok: false, reason: 'unknown'}
    return {ok: false, reason: 'ambiguous', candidates: rows.map((r) => directoryPath(c, r.id))}
  }
  let parent: string | null = null
  for (const part of parts) {
    const row = c.db.prepare(`SELECT id FROM ${T} WHERE ifnull(parent_id, '') = ? AND name_bidx = ?`).get(parent ?? '', nameIndex(c, part)) as {id: string} | undefined
    if (!row) return {ok: false, reason: 'unknown'}
    parent = row.id
  }
  return {ok: true, id: parent!}
}

/** Names from the root joined with "/". */
export function directoryPath(c: StoreCtx, id: string): string {
  const names: string[] = []
  let cur: string | null = id
  // The tree is acyclic (moves refuse cycles); the bound guards against a corrupt store anyway.
  for (let i = 0; cur && i < 256; i++) {
    const r = c.db.prepare(`SELECT id, parent_id, doc FROM ${T} WHERE id = ?`).get(cur) as DirRow | undefined
    if (!r) break
    names.unshift(c.cipher.openJson<{name: string}>(T, r.id, r.doc).name)
    cur = r.parent_id
  }
  return names.join('/')
}

export function directoriesOfUser(c: StoreCtx, userId: string): UserDirectory[] {
  const rows = c.db.prepare('SELECT directory_id FROM memberships WHERE user_id = ? ORDER BY created_at').all(userId) as Array<{directory_id: string}>
  return rows.map((r) => ({id: r.directory_id, path: directoryPath(c, r.directory_id)}))
}

export function addUserToDirectories(c: StoreCtx, userId: string, directoryIds: readonly string[], now = Date.now()): void {
  const insert = c.db.prepare('INSERT OR IGNORE INTO memberships (directory_id, user_id, created_at) VALUES (?, ?, ?)')
  for (const d of directoryIds) insert.run(d, userId, now)
}
