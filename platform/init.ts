import {randomBytes} from 'node:crypto'
import {accessSync, chmodSync, constants, existsSync, mkdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createCa, fingerprint} from './pki/ca.js'
import {appendAudit} from './store/config/audit.js'
import {saveCa} from './store/config/ca.js'
import {createUser} from './store/identity/users.js'
import {createMasterKeyFile, hasMasterKeyFile} from './store/master-key.js'
import {CONFIG_DB, IDENTITY_DB, openStores, type StoreLocation, storesInitialized} from './store/stores.js'
import {redactUrl} from './store/engines/postgres.js'

export const CA_CERT_FILE = 'ca.pem'

export class AlreadyInitializedError extends Error {
  override name = 'AlreadyInitializedError'
}

export interface InitResult {
  dataDir: string
  adminEmail: string
  /** Only when the password was generated: shown once, never stored in clear. */
  generatedPassword?: string
  caPath: string
  caFingerprint: string
  masterKeyFile: string | null
}

/**
 * Creates a data directory: master key (0600, unless MEZU_MASTER_KEY is given), both stores,
 * the platform CA (private key sealed in config.db), and the first owner. Refuses to touch a
 * directory that already holds a platform.
 */
export async function initDataDir(opts: {dataDir: string; masterKey?: string; adminEmail: string; adminPassword?: string; passwordStrength?: 'interactive' | 'moderate'; store?: StoreLocation}): Promise<InitResult> {
  const {dataDir} = opts
  if (await storesInitialized(dataDir, opts.store)) {
    const where = opts.store?.url ? `the PostgreSQL database ${redactUrl(opts.store.url)}` : dataDir
    throw new AlreadyInitializedError(`${where} already holds a Mezusphere platform; refusing to initialise it again (nothing was changed)`)
  }
  if (existsSync(dataDir)) refuseUnusable(dataDir)
  else mkdirSync(dataDir, {recursive: true, mode: 0o700})
  chmodSync(dataDir, 0o700)
  let masterKeyFile: string | null = null
  if (!opts.masterKey) {
    if (!hasMasterKeyFile(dataDir)) await createMasterKeyFile(dataDir)
    masterKeyFile = join(dataDir, 'master.key')
  }
  const stores = await openStores(dataDir, {masterKey: opts.masterKey, create: true, passwordStrength: opts.passwordStrength, store: opts.store})
  try {
    const ctx = stores.ctx
    const ca = await createCa()
    await saveCa(ctx, ca)
    const caPath = join(dataDir, CA_CERT_FILE)
    writeFileSync(caPath, ca.certPem, {mode: 0o644})
    const generatedPassword = opts.adminPassword ? undefined : randomBytes(18).toString('base64url')
    const password = opts.adminPassword ?? generatedPassword!
    const email = opts.adminEmail.trim().toLowerCase()
    const user = await createUser(ctx, {
      email,
      name: email.split('@')[0],
      role: 'owner',
      status: 'active',
      passwordHash: await stores.passwords.hash(password),
    })
    await appendAudit(ctx, {actor: {kind: 'system', id: null, name: 'mezu platform init'}, action: 'platform.init', target: {type: 'user', id: user.id}, ip: null})
    return {dataDir, adminEmail: email, generatedPassword, caPath, caFingerprint: fingerprint(ca.certPem), masterKeyFile}
  } finally {
    await stores.close()
  }
}

/** Checked before anything is written: a directory we cannot use must be left exactly as it is. */
function refuseUnusable(dataDir: string): void {
  if (!statSync(dataDir).isDirectory()) throw new Error(`${dataDir} is not a directory`)
  try {
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch {
    throw new Error(`${dataDir} is not readable and writable by this user`)
  }
  const half = [IDENTITY_DB, CONFIG_DB].find((f) => existsSync(join(dataDir, f)))
  if (half) throw new AlreadyInitializedError(`${dataDir} holds ${half} but not the other store; refusing to initialise over part of a platform (nothing was changed)`)
}
