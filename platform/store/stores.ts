import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type Database from 'better-sqlite3'
import pg from 'pg'
import {CryptoError, FieldCipher, KeyedHasher, loadSodium, PasswordHasher, randomKey} from './crypto.js'
import {StoreHandle, type StoreCtx, storeCtx} from './db.js'
import {clientConfig, openPostgresEngine, type PostgresEngine, redactUrl} from './engines/postgres.js'
import {CONFIG_DB, IDENTITY_DB, openSqliteEngine, type SqliteEngine} from './engines/sqlite.js'
import {upgradeToUserKeys} from './identity/user-keys.js'
import {loadMasterKeys, type LoadedKeys} from './master-key.js'
import type {Engine} from './migrate.js'

export {CONFIG_DB, IDENTITY_DB} from './engines/sqlite.js'

/** Where the stores live: files in the data directory (default) or a PostgreSQL database. */
export interface StoreLocation {
  /** postgres://… ; absent for the embedded SQLite stores in the data directory */
  url?: string
  /** a file holding the PostgreSQL password, so it stays out of the URL and the process list */
  passwordFile?: string
}

/** Both stores behind one handle, and the keys that seal and index them. */
export interface Stores {
  engine: Engine
  handle: StoreHandle
  /** Queries of both stores (their table names are unique across them). */
  ctx: StoreCtx
  cipher: FieldCipher
  hasher: KeyedHasher
  passwords: PasswordHasher
  keys: LoadedKeys
  dataDir: string
  /** Present on SQLite: checkpoints, VACUUM, the raw connection for readiness checks. */
  sqlite?: SqliteEngine
  postgres?: PostgresEngine
  schemaVersions(): Promise<{identity: number; config: number}>
  close(): Promise<void>
}

const KEYRING_ENTRIES = ['index-key', 'token-key'] as const
type Keyring = Record<(typeof KEYRING_ENTRIES)[number], Uint8Array>

export function storesExist(dataDir: string): boolean {
  return existsSync(join(dataDir, IDENTITY_DB)) && existsSync(join(dataDir, CONFIG_DB))
}

/**
 * A data directory whose stores live in PostgreSQL says so in this file (the URL without its
 * password), so local commands (status, backup) know where the stores are.
 */
export const STORE_MARKER = 'store.json'

export function writeStoreMarker(dataDir: string, url: string): void {
  writeFileSync(join(dataDir, STORE_MARKER), JSON.stringify({engine: 'postgres', url: redactUrl(url)}, null, 2) + '\n', {mode: 0o600})
}

/** Where this data directory's stores are, when not in its SQLite files. */
export function storeMarker(dataDir: string): {engine: 'postgres'; url: string} | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, STORE_MARKER), 'utf8')) as {engine: 'postgres'; url: string}
  } catch {
    return undefined
  }
}

/** Has `mezu platform init` run here: the SQLite files exist, or the PostgreSQL database holds a platform CA. */
export async function storesInitialized(dataDir: string, store?: StoreLocation): Promise<boolean> {
  if (!store?.url) return storesExist(dataDir)
  const client = new pg.Client(clientConfig(store.url, store.passwordFile))
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at ${redactUrl(store.url)} (${(error as Error).message})`)
  }
  try {
    const r = await client.query<{t: string | null}>(`SELECT to_regclass('config.ca')::text AS t`)
    if (!r.rows[0]?.t) return false
    return (await client.query('SELECT 1 FROM config.ca LIMIT 1')).rowCount! > 0
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Opens both stores. Order matters for "a bad data directory is never modified": the schema
 * version and the master key are checked before any migration writes.
 */
export async function openStores(
  dataDir: string,
  opts: {masterKey?: string; create?: boolean; passwordStrength?: 'interactive' | 'moderate'; store?: StoreLocation} = {},
): Promise<Stores> {
  const keys = loadMasterKeys(dataDir, opts.masterKey)
  const cipher = await FieldCipher.create(keys.keys, keys.pending?.version ?? keys.current.version)
  let keyring: Keyring | undefined
  let sqlite: SqliteEngine | undefined
  let postgres: PostgresEngine | undefined
  if (opts.store?.url) {
    postgres = await openPostgresEngine(opts.store.url, {
      passwordFile: opts.store.passwordFile,
      beforeMigrate: async (client) => {
        keyring = openKeyring(await keyringRowsPostgres(client), cipher)
      },
    })
  } else {
    sqlite = openSqliteEngine(dataDir, {create: opts.create ?? false, beforeMigrate: (identity) => (keyring = openKeyring(keyringRowsSqlite(identity), cipher))})
  }
  const engine: Engine = postgres ? 'postgres' : 'sqlite'
  const handle = new StoreHandle(engine, (postgres?.root ?? sqlite?.root)!)
  try {
    const ring = keyring ?? (await createKeyring(handle, cipher))
    const sodium = await loadSodium()
    const hasher = new KeyedHasher(sodium, ring['index-key'], ring['token-key'])
    const passwords = await PasswordHasher.create(opts.passwordStrength)
    const ctx = storeCtx(handle, cipher, hasher)
    // a store written before per-user keys: give every user a key and re-seal their docs (once)
    await upgradeToUserKeys(ctx)
    return {
      engine,
      handle,
      ctx,
      cipher,
      hasher,
      passwords,
      keys,
      dataDir,
      sqlite,
      postgres,
      schemaVersions: async () => (sqlite ? sqlite.schemaVersions() : postgres!.schemaVersions()),
      close: async () => {
        await passwords.close()
        await (sqlite ?? postgres)!.close()
      },
    }
  } catch (error) {
    await (sqlite ?? postgres)!.close()
    throw error
  }
}

/** The keyring rows of an identity.db file, or none when it has no keyring table yet. */
export function keyringRowsSqlite(db: Database.Database): Array<{id: string; doc: Buffer}> {
  const hasTable = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'keyring'`).get()
  return hasTable ? (db.prepare('SELECT id, doc FROM keyring').all() as Array<{id: string; doc: Buffer}>) : []
}

async function keyringRowsPostgres(client: pg.PoolClient): Promise<Array<{id: string; doc: Buffer}>> {
  const exists = await client.query<{t: string | null}>(`SELECT to_regclass('identity.keyring')::text AS t`)
  if (!exists.rows[0]?.t) return []
  return (await client.query<{id: string; doc: Buffer}>('SELECT id, doc FROM identity.keyring')).rows
}

/** The keyring's keys, opened with the master key: fails with a CryptoError when the key is not this store's. */
export function openKeyring(rows: ReadonlyArray<{id: string; doc: Buffer}>, cipher: FieldCipher): Keyring | undefined {
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

/** The keyring of an identity.db file (backups check a key against a copy with this). */
export function readKeyring(db: Database.Database, cipher: FieldCipher): Keyring | undefined {
  return openKeyring(keyringRowsSqlite(db), cipher)
}

async function createKeyring(handle: StoreHandle, cipher: FieldCipher): Promise<Keyring> {
  const ring = {'index-key': await randomKey(), 'token-key': await randomKey()}
  await handle.tx(async () => {
    for (const [name, key] of Object.entries(ring)) await handle.db.insertInto('keyring').values({id: name, doc: cipher.seal('keyring', 'doc', name, key)}).execute()
  })
  return ring
}
