import {MEZU_VERSION} from '../../src/protocol/version.js'
import {chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'
import {CA_CERT_FILE} from '../init.js'
import {CryptoError, type MasterKey} from '../store/crypto.js'
import {decodeMasterKey, encodeMasterKey, loadMasterKeys, MASTER_KEY_FILE, masterKeyId, NEXT_KEY_FILE} from '../store/master-key.js'
import {configMigrations} from '../store/migrations/config/index.js'
import {identityMigrations} from '../store/migrations/identity/index.js'
import {checkKeyOpens, checkSnapshot, snapshotDb} from '../store/snapshot.js'
import {CONFIG_DB, IDENTITY_DB, storeMarker, storesExist} from '../store/stores.js'
import {ARCHIVE_FORMAT, archiveMacKey, type ArchivePart, type BackupManifest, hashFile, openArchive, writeArchive} from './archive.js'

export {BackupFileError, type BackupManifest} from './archive.js'

/**
 * The platform's own configuration file (issue 9's --config default), carried when present so a
 * restored directory starts the same way. The master key is never carried: see restoreBackup.
 */
const PLATFORM_YAML = 'platform.yaml'
/** Files of a data directory a backup carries, in archive order; the two stores must be there. */
const PARTS = [IDENTITY_DB, CONFIG_DB, CA_CERT_FILE, PLATFORM_YAML] as const
const REQUIRED = new Set<string>([IDENTITY_DB, CONFIG_DB, CA_CERT_FILE])
const STORES = new Set<string>([IDENTITY_DB, CONFIG_DB])

/** The backup was made with another master key than the one given; both ids are named. */
export class MasterKeyMismatchError extends Error {
  override name = 'MasterKeyMismatchError'
}

/** The restore target already holds something; nothing was written. */
export class TargetNotEmptyError extends Error {
  override name = 'TargetNotEmptyError'
}

/** What `mezu platform backup` reports. */
export interface BackupResult {
  output: string
  bytes: number
  createdAt: string
  masterKeyId: string
  schema: {identity: number; config: number}
  parts: ArchivePart[]
}

function appVersion(): string {
  return MEZU_VERSION
}

/**
 * Backs up a data directory, running platform or not: each store is copied through SQLite's online
 * backup API (a consistent snapshot per store, see snapshotDb), checked, and written with the CA
 * certificate into one archive (0600) that replaces `output` atomically. The stores stay sealed
 * as they are on disk; the master key is never written into the backup, only its id.
 */
export async function createBackup(opts: {dataDir: string; output: string; masterKey?: string; now?: () => Date}): Promise<BackupResult> {
  const dataDir = resolve(opts.dataDir)
  const output = resolve(opts.output)
  const onPostgres = storeMarker(dataDir)
  if (onPostgres) throw new Error(`the stores of ${dataDir} are in PostgreSQL (${onPostgres.url}); back them up with pg_dump or base backups, and keep the master key apart`)
  if (!storesExist(dataDir)) throw new Error(`${dataDir} holds no platform (no ${IDENTITY_DB} and ${CONFIG_DB})`)
  if (existsSync(join(dataDir, NEXT_KEY_FILE))) throw new Error(`a master-key rotation is unfinished in ${dataDir}; finish it with mezu platform rotate-key before backing up`)
  const key = loadMasterKeys(dataDir, opts.masterKey).current
  if (!existsSync(dirname(output))) throw new Error(`the directory of ${output} does not exist`)
  if (existsSync(output) && statSync(output).isDirectory()) throw new Error(`${output} is a directory; --output names the backup file`)
  // Beside the output: same filesystem for the final rename, and mkdtemp makes it 0700.
  const work = mkdtempSync(join(dirname(output), `.${basename(output)}.`))
  try {
    const files = new Map<string, string>()
    const schema = {identity: 0, config: 0}
    for (const name of PARTS) {
      const src = join(dataDir, name)
      const copy = join(work, name)
      if (STORES.has(name)) {
        const {schemaVersion} = await snapshotDb(src, copy)
        schema[name === IDENTITY_DB ? 'identity' : 'config'] = schemaVersion
      } else if (existsSync(src)) {
        copyFile(src, copy)
      } else if (REQUIRED.has(name)) {
        throw new Error(`${src} is missing; the data directory was not made by mezu platform init`)
      } else {
        continue
      }
      files.set(name, copy)
    }
    try {
      await checkKeyOpens(files.get(IDENTITY_DB)!, key)
    } catch (error) {
      throw new CryptoError(`the master key (${opts.masterKey ? 'MEZU_MASTER_KEY' : join(dataDir, MASTER_KEY_FILE)}) does not open ${dataDir}: ${(error as Error).message}`)
    }
    const createdAt = (opts.now?.() ?? new Date()).toISOString()
    const manifest: BackupManifest = {
      format: ARCHIVE_FORMAT,
      app: {name: 'mezusphere', version: appVersion()},
      createdAt,
      masterKey: {id: masterKeyId(key), version: key.version},
      schema,
      parts: [...files].map(([name, path]) => ({name, ...hashFile(path)})),
    }
    const partial = join(work, 'backup')
    const bytes = writeArchive(partial, manifest, files, archiveMacKey(key.key))
    renameSync(partial, output)
    return {output, bytes, createdAt, masterKeyId: manifest.masterKey.id, schema, parts: manifest.parts}
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
}

/** What `mezu platform restore` reports. */
export interface RestoreResult {
  dataDir: string
  backupCreatedAt: string
  appVersion: string
  masterKeyId: string
  /** The key file written into the data directory, or null when the key comes from MEZU_MASTER_KEY. */
  masterKeyFile: string | null
  parts: ArchivePart[]
}

/** Where the master key for a restore comes from. */
export interface RestoreKey {
  /** a file holding the key (`master.key` of the old data directory, or a copy) */
  file?: string
  /** MEZU_MASTER_KEY */
  env?: string
}

/**
 * Restores a backup into an empty or absent data directory (made 0700, files 0600). A backup never
 * holds the master key, so the key must be given, and it must be the one the backup was made with
 * (compared by id before anything else, so a wrong key is told apart from a damaged file). The
 * whole file is verified while it is unpacked into a staging directory; only a fully verified
 * backup is moved into place, otherwise the target is left as it was.
 */
export async function restoreBackup(opts: {file: string; dataDir: string; key: RestoreKey}): Promise<RestoreResult> {
  const file = resolve(opts.file)
  const dataDir = resolve(opts.dataDir)
  const archive = openArchive(file, PARTS)
  try {
    const m = archive.manifest
    const key = loadRestoreKey(opts.key, m.masterKey.id)
    const given = masterKeyId(key)
    if (given !== m.masterKey.id) {
      throw new MasterKeyMismatchError(`${file} was made with master key ${m.masterKey.id}, but the key given (${opts.key.file ?? 'MEZU_MASTER_KEY'}) is ${given}; give the key the backup was made with`)
    }
    for (const [label, have, latest] of [[IDENTITY_DB, m.schema.identity, identityMigrations.length], [CONFIG_DB, m.schema.config, configMigrations.length]] as const) {
      if (have > latest) throw new Error(`${file} holds ${label} with schema version ${have}, newer than this mezu understands (${latest}); upgrade mezu`)
    }
    for (const name of REQUIRED) if (!m.parts.some((p) => p.name === name)) throw new Error(`${file} holds no ${name}`)
    const created = prepareTarget(dataDir)
    const staging = mkdtempSync(join(dataDir, '.restore-'))
    try {
      unpack(archive, archiveMacKey(key.key), staging)
      for (const name of STORES) checkSnapshot(join(staging, name))
      await checkKeyOpens(join(staging, IDENTITY_DB), key)
      for (const p of m.parts) renameSync(join(staging, p.name), join(dataDir, p.name))
      rmdirSync(staging)
      let masterKeyFile: string | null = null
      if (opts.key.file) {
        masterKeyFile = join(dataDir, MASTER_KEY_FILE)
        writeFileDurably(masterKeyFile, encodeMasterKey(key) + '\n')
      }
      return {dataDir, backupCreatedAt: m.createdAt, appVersion: m.app?.version ?? 'unknown', masterKeyId: given, masterKeyFile, parts: m.parts}
    } catch (error) {
      rmSync(staging, {recursive: true, force: true})
      if (created) rmSync(dataDir, {recursive: true, force: true})
      throw error
    }
  } finally {
    archive.close()
  }
}

function loadRestoreKey(k: RestoreKey, wanted: string): MasterKey {
  if (k.file) {
    if (!existsSync(k.file)) throw new Error(`master key file ${k.file} does not exist`)
    const key = decodeMasterKey(readFileSync(k.file, 'utf8'), k.file)
    // The platform prefers MEZU_MASTER_KEY to master.key: a restore it could not open is no restore.
    if (k.env && masterKeyId(decodeMasterKey(k.env, 'MEZU_MASTER_KEY')) !== masterKeyId(key)) {
      throw new MasterKeyMismatchError(`MEZU_MASTER_KEY is set and is not the key in ${k.file}; the platform would use MEZU_MASTER_KEY, so unset it or make them the same`)
    }
    return key
  }
  if (k.env) return decodeMasterKey(k.env, 'MEZU_MASTER_KEY')
  throw new MasterKeyMismatchError(`a backup never holds the master key: give the key it was made with (${wanted}) with --master-key-file FILE or MEZU_MASTER_KEY`)
}

/** Makes `dir` (0700) or checks that it is an empty directory; returns whether it was created. */
function prepareTarget(dir: string): boolean {
  if (!existsSync(dir)) {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    chmodSync(dir, 0o700)
    return true
  }
  if (!statSync(dir).isDirectory()) throw new TargetNotEmptyError(`${dir} is not a directory`)
  const entries = readdirSync(dir)
  if (entries.length) throw new TargetNotEmptyError(`${dir} is not empty (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); restore into an empty or new directory`)
  chmodSync(dir, 0o700)
  return false
}

function unpack(archive: ReturnType<typeof openArchive>, macKey: Buffer, staging: string): void {
  const fds = new Map<string, number>()
  try {
    for (const p of archive.manifest.parts) fds.set(p.name, openSync(join(staging, p.name), 'wx', 0o600))
    archive.verify(macKey, (part, chunk) => {
      const fd = fds.get(part.name)!
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off)
    })
    for (const fd of fds.values()) fsyncSync(fd)
  } finally {
    for (const fd of fds.values()) closeSync(fd)
  }
}

function copyFile(src: string, dest: string): void {
  writeFileDurably(dest, readFileSync(src))
}

function writeFileDurably(path: string, data: string | Buffer): void {
  const fd = openSync(path, 'wx', 0o600)
  try {
    const b = typeof data === 'string' ? Buffer.from(data) : data
    for (let off = 0; off < b.length; ) off += writeSync(fd, b, off)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
