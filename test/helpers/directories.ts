import {newId} from '../../src/protocol/ids.js'
import type {StoreCtx} from '../../platform/store/db.js'
import {normaliseName} from '../../platform/store/names.js'

/**
 * Puts a directory straight into identity.db, in the layout of the directories table (name in the
 * sealed doc, blind index 'directories.name'), for tests of users that belong to directories.
 */
export async function seedDirectory(c: StoreCtx, name: string, parentId: string | null = null): Promise<string> {
  const id = newId('directory')
  const now = Date.now()
  await c.db.insertInto('directories').values({
    id, parent_id: parentId, name_bidx: c.hasher.blindIndex('directories.name', normaliseName(name)), created_at: now, updated_at: now, doc: c.cipher.sealJson('directories', id, {name}),
  }).execute()
  return id
}
