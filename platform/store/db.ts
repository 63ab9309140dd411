import Database from 'better-sqlite3'

export type Db = Database.Database

/**
 * Opens a store with the pragmas the design requires: WAL for concurrent readers, foreign keys,
 * and secure_delete so freed pages are zeroed (erasure must not leave plaintext behind; sealed
 * blobs are overwritten too).
 */
export function openDb(path: string, options: {readonly?: boolean; fileMustExist?: boolean} = {}): Db {
  let db: Db | undefined
  try {
    db = new Database(path, {readonly: options.readonly ?? false, fileMustExist: options.fileMustExist ?? false})
    db.pragma('journal_mode = WAL')
    db.pragma('foreign_keys = ON')
    db.pragma('secure_delete = ON')
    db.pragma('synchronous = NORMAL')
    db.pragma('busy_timeout = 5000')
    return db
  } catch (error) {
    db?.close()
    // SQLite's own messages ("file is not a database") do not say which file.
    const e = error as Error & {code?: string}
    throw new Error(e.code === 'SQLITE_NOTADB' ? `${path} is not a SQLite database` : `cannot open ${path}: ${e.message}`)
  }
}

/**
 * Runs fn in an IMMEDIATE transaction and, only after it commits, the callbacks it queued
 * with onCommit (change-feed events must never announce a write that rolled back).
 */
export function transaction<T>(db: Db, fn: (onCommit: (cb: () => void) => void) => T): T {
  const after: Array<() => void> = []
  const result = db.transaction(() => fn((cb) => after.push(cb))).immediate()
  for (const cb of after) cb()
  return result
}

/** Moves every WAL frame into the main file and truncates the WAL (erasure, shutdown). */
export function checkpoint(db: Db): void {
  db.pragma('wal_checkpoint(TRUNCATE)')
}

/** Wipes the free pages of the database too, after a checkpoint (used after erasure). */
export function purgeFreePages(db: Db): void {
  checkpoint(db)
  db.exec('VACUUM')
  checkpoint(db)
}
