import {FieldCipher, randomKey, sealedWithUserKey} from './crypto.js'
import type {StoreCtx} from './db.js'
import {commitPendingKey, encodeMasterKey, writePendingKey} from './master-key.js'
import {openStores, type StoreLocation} from './stores.js'

/**
 * Rotates the master key: the new key is written to master.key.next first, every value sealed
 * with the master key (user data keys included; docs sealed with a user's key need nothing) is
 * re-sealed with it in one transaction, and only then does the new key replace the old one. An
 * interruption at any point leaves both keys on disk, and opening the store resumes with the
 * pending key, so the store is always readable. Destroying the old key is also what makes old
 * copies of erased users' keys (in backups) unreadable.
 */
export async function rotateMasterKey(dataDir: string, envKey: string | undefined, store?: StoreLocation): Promise<{version: number; resealed: number; newKey?: string}> {
  let stores = await openStores(dataDir, {masterKey: envKey, store})
  let pending = stores.keys.pending
  if (!pending) {
    pending = {version: stores.keys.current.version + 1, key: await randomKey()}
    writePendingKey(dataDir, pending)
    await stores.close()
    stores = await openStores(dataDir, {masterKey: envKey, store})
  }
  let resealed = 0
  try {
    const target = await FieldCipher.create(stores.keys.keys, pending.version)
    resealed = await resealAll(stores.ctx, target)
    await stores.sqlite?.checkpoint()
  } finally {
    await stores.close()
  }
  commitPendingKey(dataDir, stores.keys.fromEnv)
  return {version: pending.version, resealed, newKey: stores.keys.fromEnv ? encodeMasterKey(pending) : undefined}
}

/** Every table with a sealed `doc` column keyed by `id` (user_keys, keyed by user_id, is re-wrapped on its own). */
const SEALED_TABLES = ['keyring', 'users', 'directories', 'service_accounts', 'api_keys', 'sessions', 'login_history', 'ca', 'signing_keys', 'projects', 'environments', 'policies', 'routes', 'warpgates', 'audit', 'acme_accounts', 'acme_certificates', 'edges', 'callback_codes'] as const

/**
 * Re-seals every master-sealed doc with the target key, in one transaction over both stores.
 * Personal docs sealed with their user's key do not depend on the master key and stay as they
 * are; the user keys themselves are sealed with the master key and are re-wrapped.
 */
async function resealAll(c: StoreCtx, to: FieldCipher): Promise<number> {
  const from = c.cipher
  let count = 0
  await c.handle.tx(async () => {
    for (const row of await c.db.selectFrom('user_keys').select(['user_id', 'doc']).execute()) {
      if (FieldCipher.blobVersion(row.doc) === to.currentVersion) continue
      const key = from.openBytes('user_keys', 'doc', row.user_id, row.doc)
      try {
        await c.db.updateTable('user_keys').set({doc: to.seal('user_keys', 'doc', row.user_id, key)}).where('user_id', '=', row.user_id).execute()
      } finally {
        key.fill(0)
      }
      count++
    }
    for (const table of SEALED_TABLES) {
      // one table type stands for all: each has id and doc
      const rows = await c.db.selectFrom(table as 'users').select(['id', 'doc']).execute()
      for (const row of rows) {
        if (!row.doc || sealedWithUserKey(row.doc) || FieldCipher.blobVersion(row.doc) === to.currentVersion) continue
        await c.db.updateTable(table as 'users').set({doc: to.seal(table, 'doc', row.id, from.openBytes(table, 'doc', row.id, row.doc))}).where('id', '=', row.id).execute()
        count++
      }
    }
  })
  return count
}
