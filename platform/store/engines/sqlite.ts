import {chmodSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {CompiledQuery, type DatabaseConnection, Kysely, SqliteDialect, SqliteDriver, sql} from 'kysely'
import {migrateSqlite, refuseNewer, sqliteSchemaVersion} from '../migrate.js'
import {configMigrations} from '../migrations/config/index.js'
import {identityMigrations} from '../migrations/identity/index.js'
import type {Schema} from '../schema.js'

export const IDENTITY_DB = 'identity.db'
export const CONFIG_DB = 'config.db'

/**
 * Opens a store file with the pragmas the design requires: WAL for concurrent readers, foreign
 * keys, and secure_delete so freed pages are zeroed (erasure must not leave plaintext behind).
 */
export function openSqliteFile(path: string, options: {readonly?: boolean; fileMustExist?: boolean} = {}): Database.Database {
  let db: Database.Database | undefined
  try {
    db = new Database(path, {readonly: options.readonly ?? false, fileMustExist: options.fileMustExist ?? false})
    setPragmas(db, 'main')
    return db
  } catch (error) {
    db?.close()
    throw describeOpenError(path, error)
  }
}

function setPragmas(db: Database.Database, schema: string): void {
  db.pragma(`${schema}.journal_mode = WAL`)
  db.pragma(`${schema}.secure_delete = ON`)
  db.pragma(`${schema}.synchronous = NORMAL`)
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
}

// SQLite's own messages ("file is not a database") do not say which file.
function describeOpenError(path: string, error: unknown): Error {
  const e = error as Error & {code?: string}
  return new Error(e.code === 'SQLITE_NOTADB' ? `${path} is not a SQLite database` : `cannot open ${path}: ${e.message}`)
}

/** Writers take the write lock at BEGIN, so a transaction never fails halfway on a lock upgrade. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly database: Database.Database) {
    super({database})
  }

  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver({database: this.database})
  }
}

export interface SqliteEngine {
  root: Kysely<Schema>
  /** The one connection: identity.db as main, config.db attached as `config`. */
  raw: Database.Database
  /** Moves every WAL frame into the main files and truncates the WALs (erasure, shutdown). */
  checkpoint(): Promise<void>
  /** Checkpoint, VACUUM both files (erasure), checkpoint again: freed pages hold nothing readable. */
  purgeFreePages(): Promise<void>
  schemaVersions(): {identity: number; config: number}
  /**
   * Why a store file cannot take the write lock right now (undefined: it can). Probed on a
   * short-lived connection with no busy wait: the platform's own connection holds both files,
   * where BEGIN IMMEDIATE would lock both and could not tell them apart.
   */
  writeLockProblem(store: 'identity' | 'config'): string | undefined
  close(): Promise<void>
}

/**
 * Opens both store files. Each is migrated on its own connection first (a migration creates its
 * tables in `main`); then one connection holds identity.db with config.db attached, so one
 * transaction covers a change to both (atomic per file in WAL mode; see DESIGN).
 * A newer schema is refused before anything is written.
 */
export function openSqliteEngine(dataDir: string, opts: {create: boolean; beforeMigrate?: (identity: Database.Database) => void}): SqliteEngine {
  const identityPath = join(dataDir, IDENTITY_DB)
  const configPath = join(dataDir, CONFIG_DB)
  const files: Array<[string, typeof identityMigrations, string]> = [[identityPath, identityMigrations, IDENTITY_DB], [configPath, configMigrations, CONFIG_DB]]
  const opened = files.map(([path]) => openSqliteFile(path, {fileMustExist: !opts.create}))
  try {
    files.forEach(([, migrations, label], i) => refuseNewer(sqliteSchemaVersion(opened[i]!), migrations.length, label))
    opts.beforeMigrate?.(opened[0]!)
    // Only once the directory is known to be ours: the stores are sealed, but their metadata is still nobody else's.
    for (const f of [IDENTITY_DB, CONFIG_DB]) for (const suffix of ['', '-wal', '-shm']) restrict(join(dataDir, f + suffix))
    files.forEach(([, migrations, label], i) => migrateSqlite(opened[i]!, migrations, label))
  } finally {
    for (const db of opened) db.close()
  }
  const raw = openSqliteFile(identityPath, {fileMustExist: true})
  try {
    raw.prepare('ATTACH DATABASE ? AS config').run(configPath)
    setPragmas(raw, 'config')
  } catch (error) {
    raw.close()
    throw describeOpenError(configPath, error)
  }
  const root = new Kysely<Schema>({dialect: new ImmediateSqliteDialect(raw)})
  // Through the query builder, so each waits for an open transaction to finish (VACUUM and
  // checkpoints cannot run inside one).
  const exec = (...statements: string[]) => root.connection().execute(async (db) => {
    for (const s of statements) await sql.raw(s).execute(db)
  })
  const checkpoint = ['PRAGMA main.wal_checkpoint(TRUNCATE)', 'PRAGMA config.wal_checkpoint(TRUNCATE)']
  return {
    root,
    raw,
    checkpoint: () => exec(...checkpoint),
    purgeFreePages: () => exec(...checkpoint, 'VACUUM main', 'VACUUM config', ...checkpoint),
    schemaVersions: () => ({identity: sqliteSchemaVersion(raw, 'main'), config: sqliteSchemaVersion(raw, 'config')}),
    writeLockProblem(store) {
      if (!raw.open) return 'is closed'
      // a transaction of ours holds the lock: writable
      if (raw.inTransaction) return undefined
      let probe: Database.Database | undefined
      try {
        probe = new Database(store === 'identity' ? identityPath : configPath, {fileMustExist: true, timeout: 0})
        probe.exec('BEGIN IMMEDIATE')
        probe.exec('ROLLBACK')
        return undefined
      } catch (error) {
        return `cannot be written: ${(error as Error).message}`
      } finally {
        probe?.close()
      }
    },
    async close() {
      if (!raw.open) return
      try {
        await exec(...checkpoint)
      } catch {
        // a checkpoint failing at close only leaves the WAL for the next open
      }
      await root.destroy()
    },
  }
}

function restrict(path: string): void {
  if (existsSync(path)) chmodSync(path, 0o600)
}
