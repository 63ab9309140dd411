import {chmodSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {CryptoError, FieldCipher, KeyedHasher, loadSodium, PasswordHasher, randomKey} from './crypto.js'
import {type Db, openDb} from './db.js'
import {loadMasterKeys, type LoadedKeys} from './master-key.js'
import {migrate, SchemaError} from './migrate.js'
import {configMigrations} from './migrations/config/index.js'
import {identityMigrations} from './migrations/identity/index.js'

export const IDENTITY_DB = 'identity.db'
export const CONFIG_DB = 'config.db'

/** The two stores and the keys that seal and index them. */
export interface Stores {
  identity: Db
  config: Db
  cipher: FieldCipher
  hasher: KeyedHasher
  passwords: PasswordHasher
  keys: LoadedKeys
  dataDir: string
  close(): void
}

const KEYRING_ENTRIES = ['index-key', 'token-key'] as const

export function storesExist(dataDir: string): boolean {
  return existsSync(join(dataDir, IDENTITY_DB)) && existsSync(join(dataDir, CONFIG_DB))
}

/**
 * Opens both stores. Order matters for "a bad data directory is never modified": the schema
 * version and the master key are checked before any migration writes.
 */
export async function openStores(
  dataDir: string,
  opts: {masterKey?: string; create?: boolean; passwordStrength?: 'interactive' | 'moderate'} = {},
): Promise<Stores> {
  const keys = loadMasterKeys(dataDir, opts.masterKey)
  const cipher = await FieldCipher.create(keys.keys, keys.pending?.version ?? keys.current.version)
  const mustExist = !opts.create
  const identity = openDb(join(dataDir, IDENTITY_DB), {fileMustExist: mustExist})
  let config: Db | undefined
  try {
    config = openDb(join(dataDir, CONFIG_DB), {fileMustExist: mustExist})
    refuseNewer(identity, identityMigrations.length, IDENTITY_DB)
    refuseNewer(config, configMigrations.length, CONFIG_DB)
    const keyring = readKeyring(identity, cipher)
    // Only once the directory is known to be ours and readable: the stores are sealed, but their
    // metadata (row counts, timestamps) is still nobody else's.
    for (const f of [IDENTITY_DB, CONFIG_DB]) for (const suffix of ['', '-wal', '-shm']) restrict(join(dataDir, f + suffix))
    migrate(identity, identityMigrations, IDENTITY_DB)
    migrate(config, configMigrations, CONFIG_DB)
    const ring = keyring ?? (await createKeyring(identity, cipher))
    const sodium = await loadSodium()
    const hasher = new KeyedHasher(sodium, ring['index-key'], ring['token-key'])
    const passwords = await PasswordHasher.create(opts.passwordStrength)
    const cfg = config
    return {
      identity,
      config: cfg,
      cipher,
      hasher,
      passwords,
      keys,
      dataDir,
      close() {
        for (const db of [identity, cfg]) {
          if (!db.open) continue
          try {
            db.pragma('wal_checkpoint(TRUNCATE)')
          } catch {
            // a checkpoint failing at close only leaves the WAL for the next open
          }
          db.close()
        }
      },
    }
  } catch (error) {
    identity.close()
    config?.close()
    throw error
  }
}

function refuseNewer(db: Db, latest: number, label: string): void {
  const v = db.pragma('user_version', {simple: true}) as number
  if (v > latest) throw new SchemaError(`${label} has schema version ${v}, newer than this mezu understands (${latest}); upgrade mezu`)
}

type Keyring = Record<(typeof KEYRING_ENTRIES)[number], Uint8Array>

/** The keyring's keys, opened with the master key: fails with a CryptoError when the key is not this store's. */
export function readKeyring(db: Db, cipher: FieldCipher): Keyring | undefined {
  const hasTable = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'keyring'`).get()
  if (!hasTable) return undefined
  const rows = db.prepare('SELECT id, doc FROM keyring').all() as Array<{id: string; doc: Buffer}>
  if (rows.length === 0) return undefined
  const ring: Partial<Keyring> = {}
  for (const row of rows) {
    try {
      ring[row.id as keyof Keyring] = cipher.openBytes('keyring', 'doc', row.id, row.doc)
    } catch (error) {
      throw new CryptoError(`the master key does not open this data directory (${(error as Error).message})`)
    }
  }
  for (const name of KEYRING_ENTRIES) if (!ring[name]) throw new CryptoError(`the keyring is missing ${name}`)
  return ring as Keyring
}

async function createKeyring(db: Db, cipher: FieldCipher): Promise<Keyring> {
  const ring = {'index-key': await randomKey(), 'token-key': await randomKey()}
  const insert = db.prepare('INSERT INTO keyring (id, doc) VALUES (?, ?)')
  db.transaction(() => {
    for (const [name, key] of Object.entries(ring)) insert.run(name, cipher.seal('keyring', 'doc', name, key))
  })()
  return ring
}

function restrict(path: string): void {
  if (existsSync(path)) chmodSync(path, 0o600)
}
