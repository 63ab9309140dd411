import {accessSync, constants, existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {buildConfig} from './config.js'
import {fingerprint} from './pki/ca.js'
import {CA_CERT_FILE} from './init.js'
import {EDGE_LOCK_FILE, EDGE_STATE_FILE} from './edge/remote/enrol.js'
import {LOCK_FILE} from './server.js'
import {rotateSigningKey} from './store/config/signing-keys.js'
import {openStores, storeMarker, type StoreLocation, storesExist} from './store/stores.js'

export {initDataDir, AlreadyInitializedError} from './init.js'
export {rotateMasterKey} from './store/rotate.js'
export {migrateSqliteToPostgres, TargetNotEmptyError as TransferTargetNotEmptyError} from './store/transfer.js'
export {BackupFileError, createBackup, MasterKeyMismatchError, restoreBackup, TargetNotEmptyError} from './backup/backup.js'
export {buildConfig, defaultDataDir, ConfigError, DEFAULTS, resolvePlatformConfig, type EffectiveSetting, type ResolvedConfig} from './config.js'
export {SETTINGS, envName, expected, type Setting} from './settings.js'
export {CONFIG_FILE} from './config-file.js'

/** What `mezu platform status` reports, read without starting anything. */
export interface LocalStatus {
  dataDir: string
  initialized: boolean
  /** what runs (or last ran) here: all, control, or an edge node; null before the first start */
  role: 'all' | 'control' | 'edge' | null
  running: boolean
  pid: number | null
  apiUrl: string | null
  edgeUrl: string | null
  tunnelUrl: string | null
  domain: string | null
  startedAt: string | null
  caPath: string | null
  caFingerprint: string | null
  /** an edge node's: its control plane and id */
  controlUrl: string | null
  edgeId: string | null
  /** Why the directory cannot be used (not a directory, not readable), if it cannot. */
  problem: string | null
}

function dataDirProblem(dataDir: string): string | null {
  if (!existsSync(dataDir)) return null
  if (!statSync(dataDir).isDirectory()) return `${dataDir} is not a directory`
  try {
    accessSync(dataDir, constants.R_OK | constants.X_OK)
    return null
  } catch {
    return `${dataDir} is not readable by this user`
  }
}

export function localStatus(dataDir: string): LocalStatus {
  const problem = dataDirProblem(dataDir)
  const caPath = join(dataDir, CA_CERT_FILE)
  const hasCa = existsSync(caPath)
  const common = {dataDir, caPath: hasCa ? caPath : null, caFingerprint: hasCa ? fingerprint(readFileSync(caPath, 'utf8')) : null, problem}
  // an edge node's directory holds its enrolment and edge.json, never stores
  const edgeState = readJson<{edgeId: string; controlUrl: string; domain: string}>(join(dataDir, EDGE_STATE_FILE))
  if (edgeState) {
    const lock = readJson<{pid: number; edgeUrl: string; tunnelUrls: string[]; startedAt: string}>(join(dataDir, EDGE_LOCK_FILE))
    const running = !!lock && pidAlive(lock.pid)
    return {
      ...common, initialized: true, role: 'edge', running, pid: running ? lock!.pid : null,
      apiUrl: null, edgeUrl: running ? lock!.edgeUrl : null, tunnelUrl: running ? lock!.tunnelUrls[0] ?? null : null,
      domain: edgeState.domain ?? null, startedAt: running ? lock!.startedAt : null, controlUrl: edgeState.controlUrl, edgeId: edgeState.edgeId,
    }
  }
  const initialized = storesExist(dataDir) || storeMarker(dataDir) !== undefined
  const lock = readJson<{pid: number; role?: 'all' | 'control'; apiUrl: string; edgeUrl: string | null; tunnelUrl: string | null; domain: string; startedAt: string}>(join(dataDir, LOCK_FILE))
  const running = !!lock && pidAlive(lock.pid)
  return {
    ...common, initialized, running,
    role: lock ? lock.role ?? 'all' : null,
    pid: running ? lock!.pid : null,
    apiUrl: running ? lock!.apiUrl : null,
    edgeUrl: running ? lock!.edgeUrl : null,
    tunnelUrl: running ? lock!.tunnelUrl : null,
    domain: lock?.domain ?? null,
    startedAt: running ? lock!.startedAt : null,
    controlUrl: null, edgeId: null,
  }
}

/** A JSON file written by the platform, or undefined when missing or unreadable (a crash mid-write). */
function readJson<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Opens the stores read-only in spirit: checks the key and schema, then closes. */
export async function checkDataDir(dataDir: string, masterKey?: string, store?: StoreLocation): Promise<{identityVersion: number; configVersion: number}> {
  const s = await openStores(dataDir, {masterKey, store})
  try {
    const v = await s.schemaVersions()
    return {identityVersion: v.identity, configVersion: v.config}
  } finally {
    await s.close()
  }
}

/**
 * `mezu platform rotate-signing-key`: on a stopped platform's data directory, a new Ed25519 key
 * becomes active; the old one stays published in the JWKS until assertions it signed have expired
 * (`ttl`: the platform's edge.assertionTtlMs).
 */
export async function rotateSigningKeyOffline(dataDir: string, masterKey?: string, ttl = buildConfig({dataDir}).edge.assertionTtlMs, store?: StoreLocation): Promise<{kid: string; retired: string[]; deleted: number; publishedUntil: string | null}> {
  const s = await openStores(dataDir, {masterKey, store})
  try {
    const now = Date.now()
    const r = await rotateSigningKey(s.ctx, ttl, now)
    return {kid: r.active.kid, retired: r.retired, deleted: r.deleted, publishedUntil: r.retired.length ? new Date(now + ttl).toISOString() : null}
  } finally {
    await s.close()
  }
}
