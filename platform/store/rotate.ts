import {FieldCipher, randomKey} from './crypto.js'
import type {Db} from './db.js'
import {commitPendingKey, encodeMasterKey, writePendingKey} from './master-key.js'
import {openStores} from './stores.js'

/**
 * Rotates the master key: the new key is written to master.key.next first, every sealed column
 * of both stores is re-sealed with it (one transaction per store), and only then does the new
 * key replace the old one. An interruption at any point leaves both keys on disk, and opening
 * the store resumes with the pending key, so the store is always readable.
 */
export async function rotateMasterKey(dataDir: string, envKey: string | undefined): Promise<{version: number; resealed: number; newKey?: string}> {
  let stores = await openStores(dataDir, {masterKey: envKey})
  let pending = stores.keys.pending
  if (!pending) {
    pending = {version: stores.keys.current.version + 1, key: await randomKey()}
    writePendingKey(dataDir, pending)
    stores.close()
    stores = await openStores(dataDir, {masterKey: envKey})
  }
  let resealed = 0
  try {
    const target = await FieldCipher.create(stores.keys.keys, pending.version)
    for (const db of [stores.identity, stores.config]) resealed += resealAll(db, stores.cipher, target)
  } finally {
    stores.close()
  }
  commitPendingKey(dataDir, stores.keys.fromEnv)
  return {version: pending.version, resealed, newKey: stores.keys.fromEnv ? encodeMasterKey(pending) : undefined}
}

function resealAll(db: Db, from: FieldCipher, to: FieldCipher): number {
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{name: string}>).map((r) => r.name)
  let count = 0
  db.transaction(() => {
    for (const table of tables) {
      const cols = db.pragma(`table_info(${table})`) as Array<{name: string}>
      if (!cols.some((c) => c.name === 'doc') || !cols.some((c) => c.name === 'id')) continue
      const rows = db.prepare(`SELECT id, doc FROM ${table}`).all() as Array<{id: string; doc: Buffer | null}>
      const update = db.prepare(`UPDATE ${table} SET doc = ? WHERE id = ?`)
      for (const row of rows) {
        if (!row.doc || FieldCipher.blobVersion(row.doc) === to.currentVersion) continue
        update.run(to.seal(table, 'doc', row.id, from.openBytes(table, 'doc', row.id, row.doc)), row.id)
        count++
      }
    }
  }).immediate()
  db.pragma('wal_checkpoint(TRUNCATE)')
  return count
}
