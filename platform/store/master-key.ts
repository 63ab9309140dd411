import {hkdfSync} from 'node:crypto'
import {existsSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {CryptoError, type MasterKey, randomKey} from './crypto.js'

/**
 * The master key lives in `master.key` (mode 0600) in the data directory, or in MEZU_MASTER_KEY.
 * During a rotation the new key sits in `master.key.next` until every row is re-sealed, so an
 * interrupted rotation leaves both keys on disk and the store readable.
 */
export const MASTER_KEY_FILE = 'master.key'
export const NEXT_KEY_FILE = 'master.key.next'

export interface LoadedKeys {
  keys: MasterKey[]
  current: MasterKey
  /** A rotation was interrupted: this key must be finished re-sealing with. */
  pending?: MasterKey
  fromEnv: boolean
}

export function encodeMasterKey(k: MasterKey): string {
  return `v${k.version}:${Buffer.from(k.key).toString('base64')}`
}

/** Parses `v<N>:<base64>` or bare base64 (version 1). */
export function decodeMasterKey(text: string, source: string): MasterKey {
  const trimmed = text.trim()
  const m = /^v(\d{1,9}):(.+)$/.exec(trimmed)
  const version = m ? Number(m[1]) : 1
  const key = Buffer.from(m ? m[2] : trimmed, 'base64')
  if (key.length !== 32) throw new CryptoError(`${source} does not hold a 32-byte base64 master key`)
  return {version, key: new Uint8Array(key)}
}

/**
 * A fingerprint naming a master key without revealing it (HKDF-SHA256 of the key, 12 bytes, hex),
 * with its version: what a backup records so a restore can tell a wrong key from a damaged file.
 */
export function masterKeyId(k: MasterKey): string {
  return `v${k.version}-${Buffer.from(hkdfSync('sha256', k.key, new Uint8Array(0), 'mezusphere master key id', 12)).toString('hex')}`
}

export function hasMasterKeyFile(dataDir: string): boolean {
  return existsSync(join(dataDir, MASTER_KEY_FILE))
}

export async function createMasterKeyFile(dataDir: string): Promise<MasterKey> {
  const k = {version: 1, key: await randomKey()}
  writeFileSync(join(dataDir, MASTER_KEY_FILE), encodeMasterKey(k) + '\n', {mode: 0o600, flag: 'wx'})
  return k
}

export function loadMasterKeys(dataDir: string, envKey: string | undefined): LoadedKeys {
  const nextPath = join(dataDir, NEXT_KEY_FILE)
  let current: MasterKey
  let fromEnv = false
  if (envKey) {
    current = decodeMasterKey(envKey, 'MEZU_MASTER_KEY')
    fromEnv = true
  } else {
    const path = join(dataDir, MASTER_KEY_FILE)
    if (!existsSync(path)) throw new CryptoError(`no master key: ${path} is missing and MEZU_MASTER_KEY is not set`)
    current = decodeMasterKey(readFileSync(path, 'utf8'), path)
  }
  const keys = [current]
  let pending: MasterKey | undefined
  if (existsSync(nextPath)) {
    pending = decodeMasterKey(readFileSync(nextPath, 'utf8'), nextPath)
    if (pending.version !== current.version) keys.push(pending)
  }
  return {keys, current, pending, fromEnv}
}

export function writePendingKey(dataDir: string, k: MasterKey): void {
  writeFileSync(join(dataDir, NEXT_KEY_FILE), encodeMasterKey(k) + '\n', {mode: 0o600})
}

/** Makes the pending key the master key (atomic rename), once every row is sealed with it. */
export function commitPendingKey(dataDir: string, fromEnv: boolean): void {
  const next = join(dataDir, NEXT_KEY_FILE)
  if (fromEnv) rmSync(next)
  else renameSync(next, join(dataDir, MASTER_KEY_FILE))
}
