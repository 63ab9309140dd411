import Database from 'better-sqlite3'
import {FieldCipher, type MasterKey} from './crypto.js'
import {readKeyring} from './stores.js'

/** Pages per backup step: all of them, so the copy is one read transaction (see snapshotDb). */
const ALL_PAGES = 0x7fffffff

/**
 * Copies a live store to `dest` with SQLite's online backup API, through a second, read-only
 * connection (the platform process keeps writing through its own). Every page is copied in one
 * step, so the copy is a single WAL read transaction: a consistent snapshot holding every commit
 * made before it began, and never restarted by writes that land meanwhile (small steps would be).
 */
export async function snapshotDb(source: string, dest: string): Promise<{schemaVersion: number}> {
  const db = new Database(source, {readonly: true, fileMustExist: true})
  try {
    db.pragma('busy_timeout = 5000')
    await db.backup(dest, {progress: () => ALL_PAGES})
  } finally {
    db.close()
  }
  return checkSnapshot(dest)
}

/** Turns a copied store into one self-contained file (no WAL) and checks its integrity; returns its schema version. */
export function checkSnapshot(path: string): {schemaVersion: number} {
  const db = new Database(path, {fileMustExist: true})
  try {
    db.pragma('journal_mode = DELETE')
    const check = db.pragma('quick_check', {simple: true}) as string
    if (check !== 'ok') throw new Error(`${path} fails SQLite's integrity check: ${check}`)
    return {schemaVersion: db.pragma('user_version', {simple: true}) as number}
  } finally {
    db.close()
  }
}

/** Checks that `key` opens the keyring of an identity store copy; a CryptoError when it does not. */
export async function checkKeyOpens(identityPath: string, key: MasterKey): Promise<void> {
  const db = new Database(identityPath, {readonly: true, fileMustExist: true})
  try {
    if (!readKeyring(db, await FieldCipher.create([key], key.version))) throw new Error(`${identityPath} has no keyring`)
  } finally {
    db.close()
  }
}
