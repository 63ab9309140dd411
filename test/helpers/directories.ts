import {newId} from '../../src/protocol/ids.js'
import type {StoreCtx} from '../../platform/store/config/projects.js'
import {normaliseName} from '../../platform/store/names.js'

/**
 * Puts a directory straight into identity.db, in the layout of the directories table (name in the
 * sealed doc, blind index 'directories.name'), for tests of users that belong to directories.
 */
export function seedDirectory(c: StoreCtx, name: string, parentId: string | null = null): string {
  const id = newId('directory')
  const now = Date.now()
  c.db.prepare('INSERT INTO directories (id, parent_id, name_bidx, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?)').run(
    id, parentId, c.hasher.blindIndex('directories.name', normaliseName(name)), now, now, c.cipher.sealJson('directories', id, {name}),
  )
  return id
}
