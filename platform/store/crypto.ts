import sodiumModule from 'libsodium-wrappers-sumo'
import {timingSafeEqual} from 'node:crypto'
import {Worker} from 'node:worker_threads'
import type {PasswordReply, PasswordRequest} from './password-worker.js'

/**
 * Field-level encryption for the stores: XChaCha20-Poly1305 with the associated data binding
 * (table, column, row id), so a sealed value copied into another row or column fails to open.
 * Field keys derive from a versioned master key; the version travels in every blob so a store
 * half-way through a key rotation stays readable with both keys loaded.
 */

export type Sodium = typeof sodiumModule
let sodiumReady: Promise<Sodium> | undefined

export async function loadSodium(): Promise<Sodium> {
  sodiumReady ??= sodiumModule.ready.then(() => sodiumModule)
  return sodiumReady
}

export interface MasterKey {
  version: number
  key: Uint8Array
}

/**
 * Blob layout: format byte, a 32-bit key version, the 24-byte nonce, ciphertext + 16-byte tag.
 * The format byte says which key sealed it, so a reader needs no other bookkeeping: docs sealed
 * before per-user keys existed (format 1) keep opening with the master key.
 */
const BLOB_FORMAT = 1
/** Sealed with its user's data key (UserCipher); the version field is the user key's generation. */
const BLOB_FORMAT_USER = 2
const USER_KEY_GENERATION = 1
const HEADER_BYTES = 1 + 4
const NONCE_BYTES = 24
const KDF_CONTEXT = 'mezufld1'
const FIELD_SUBKEY_ID = 1
/** A user's data key is used only through a subkey, so the stored key never meets the AEAD directly. */
const USER_KDF_CONTEXT = 'mezuusr1'
/** Where user data keys live, sealed with the master key (their row id is the user id). */
export const USER_KEYS_TABLE = 'user_keys'

export class CryptoError extends Error {
  override name = 'CryptoError'
}

/** Was this doc sealed with its user's data key (rather than the master key)? */
export function sealedWithUserKey(blob: Uint8Array): boolean {
  return blob.length > 0 && blob[0] === BLOB_FORMAT_USER
}

function sealBlob(s: Sodium, format: number, version: number, key: Uint8Array, adata: Uint8Array, plaintext: string | Uint8Array): Buffer {
  const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
  const message = typeof plaintext === 'string' ? s.from_string(plaintext) : plaintext
  const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(message, adata, null, nonce, key)
  const header = Buffer.alloc(HEADER_BYTES)
  header.writeUInt8(format, 0)
  header.writeUInt32BE(version, 1)
  return Buffer.concat([header, nonce, ct])
}

/** The blob as a Buffer when it is long enough and of this format; a CryptoError otherwise. */
function checkedBlob(blob: Uint8Array, format: number, where: string): Buffer {
  const buf = Buffer.from(blob)
  if (buf.length < HEADER_BYTES + NONCE_BYTES + 16) throw new CryptoError(`${where} is not a sealed value`)
  const found = buf.readUInt8(0)
  if (found === format) return buf
  if (found === BLOB_FORMAT_USER) throw new CryptoError(`${where} is sealed with its user's key, not the master key`)
  if (found === BLOB_FORMAT) throw new CryptoError(`${where} is sealed with the master key, not a user key`)
  throw new CryptoError(`${where} is not a sealed value`)
}

function openBlob(s: Sodium, buf: Buffer, key: Uint8Array, adata: Uint8Array, failure: string): Uint8Array {
  const nonce = buf.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES)
  const ct = buf.subarray(HEADER_BYTES + NONCE_BYTES)
  try {
    return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, adata, nonce, key)
  } catch {
    throw new CryptoError(failure)
  }
}

export class FieldCipher {
  private readonly fieldKeys = new Map<number, Uint8Array>()

  private constructor(
    private readonly sodium: Sodium,
    keys: MasterKey[],
    readonly currentVersion: number,
  ) {
    for (const k of keys) {
      if (k.key.length !== 32) throw new CryptoError(`master key version ${k.version} is not 32 bytes`)
      this.fieldKeys.set(k.version, sodium.crypto_kdf_derive_from_key(32, FIELD_SUBKEY_ID, KDF_CONTEXT, k.key))
    }
    if (!this.fieldKeys.has(currentVersion)) throw new CryptoError(`no master key with version ${currentVersion}`)
  }

  static async create(keys: MasterKey[], currentVersion: number): Promise<FieldCipher> {
    return new FieldCipher(await loadSodium(), keys, currentVersion)
  }

  seal(table: string, column: string, rowId: string, plaintext: string | Uint8Array): Buffer {
    return sealBlob(this.sodium, BLOB_FORMAT, this.currentVersion, this.fieldKeys.get(this.currentVersion)!, ad(table, column, rowId), plaintext)
  }

  openBytes(table: string, column: string, rowId: string, blob: Uint8Array): Uint8Array {
    const where = `${table}.${column} of ${rowId}`
    const buf = checkedBlob(blob, BLOB_FORMAT, where)
    const version = buf.readUInt32BE(1)
    const key = this.fieldKeys.get(version)
    if (!key) throw new CryptoError(`${where} is sealed with master key version ${version}, which is not loaded`)
    return openBlob(this.sodium, buf, key, ad(table, column, rowId), `${where} does not open with the master key: wrong key or tampered data`)
  }

  open(table: string, column: string, rowId: string, blob: Uint8Array): string {
    return this.sodium.to_string(this.openBytes(table, column, rowId, blob))
  }

  sealJson(table: string, rowId: string, value: unknown): Buffer {
    return this.seal(table, 'doc', rowId, JSON.stringify(value))
  }

  openJson<T>(table: string, rowId: string, blob: Uint8Array): T {
    return JSON.parse(this.open(table, 'doc', rowId, blob)) as T
  }

  /**
   * A new random data key for a user: its cipher, and the key sealed with the master key for the
   * user_keys row (associated data: user_keys, doc, user id, like every other sealed field).
   */
  newUserKey(userId: string): {cipher: UserCipher; sealed: Buffer} {
    const key = this.sodium.randombytes_buf(32)
    try {
      return {cipher: new UserCipher(this.sodium, key), sealed: this.seal(USER_KEYS_TABLE, 'doc', userId, key)}
    } finally {
      this.sodium.memzero(key)
    }
  }

  /** The cipher of a user data key sealed by newUserKey (or re-wrapped by a master-key rotation). */
  openUserKey(userId: string, sealed: Uint8Array): UserCipher {
    const key = this.openBytes(USER_KEYS_TABLE, 'doc', userId, sealed)
    try {
      return new UserCipher(this.sodium, key)
    } finally {
      this.sodium.memzero(key)
    }
  }

  /** The key version in a blob's header: the master-key version for master-sealed blobs (see sealedWithUserKey). */
  static blobVersion(blob: Uint8Array): number {
    return Buffer.from(blob).readUInt32BE(1)
  }
}

/**
 * Seals one user's personal docs with their own data key, with the same associated data as
 * FieldCipher (table, column, row id). It does not depend on the master key: a master-key
 * rotation re-wraps the data key and leaves these blobs as they are. Once the user's key is
 * destroyed (erasure), `wipe` overwrites the subkey and any later use fails loudly instead of
 * sealing with a zeroed key.
 */
export class UserCipher {
  private readonly key: Uint8Array
  private wiped = false

  /** Built by FieldCipher.newUserKey / openUserKey; the caller wipes `dataKey` afterwards. */
  constructor(private readonly sodium: Sodium, dataKey: Uint8Array) {
    if (dataKey.length !== 32) throw new CryptoError('a user key is not 32 bytes')
    this.key = sodium.crypto_kdf_derive_from_key(32, FIELD_SUBKEY_ID, USER_KDF_CONTEXT, dataKey)
  }

  private liveKey(): Uint8Array {
    if (this.wiped) throw new CryptoError("this user's key was destroyed")
    return this.key
  }

  seal(table: string, column: string, rowId: string, plaintext: string | Uint8Array): Buffer {
    return sealBlob(this.sodium, BLOB_FORMAT_USER, USER_KEY_GENERATION, this.liveKey(), ad(table, column, rowId), plaintext)
  }

  openBytes(table: string, column: string, rowId: string, blob: Uint8Array): Uint8Array {
    const where = `${table}.${column} of ${rowId}`
    const buf = checkedBlob(blob, BLOB_FORMAT_USER, where)
    return openBlob(this.sodium, buf, this.liveKey(), ad(table, column, rowId), `${where} does not open with its user's key: wrong key or tampered data`)
  }

  sealJson(table: string, rowId: string, value: unknown): Buffer {
    return this.seal(table, 'doc', rowId, JSON.stringify(value))
  }

  openJson<T>(table: string, rowId: string, blob: Uint8Array): T {
    return JSON.parse(this.sodium.to_string(this.openBytes(table, 'doc', rowId, blob))) as T
  }

  wipe(): void {
    this.wiped = true
    this.sodium.memzero(this.key)
  }
}

/**
 * Unwrapped user ciphers by user id, so reads do not unwrap a key per row. A destroyed key's id
 * is remembered (ids are random and never reused): a read that fetched the key just before the
 * erasure committed cannot put it back into the cache afterwards.
 */
export class UserCipherCache {
  private readonly ciphers = new Map<string, UserCipher>()
  private readonly destroyed = new Set<string>()

  get(userId: string): UserCipher | undefined {
    return this.ciphers.get(userId)
  }

  set(userId: string, cipher: UserCipher): void {
    if (!this.destroyed.has(userId)) this.ciphers.set(userId, cipher)
  }

  /** The user's key is gone from the store: forget and wipe it here too. */
  destroy(userId: string): void {
    this.ciphers.get(userId)?.wipe()
    this.ciphers.delete(userId)
    this.destroyed.add(userId)
  }
}

function ad(table: string, column: string, rowId: string): Uint8Array {
  return Buffer.from(`mezu\0${table}\0${column}\0${rowId}`, 'utf8')
}

/**
 * Keyed hashes for look-ups (blind indexes) and for secrets that must never be stored
 * replayably (session tokens, API keys). The keys are random and stored sealed in the keyring,
 * so rotating the master key does not invalidate issued tokens or indexes.
 */
export class KeyedHasher {
  constructor(
    private readonly sodium: Sodium,
    private readonly indexKey: Uint8Array,
    private readonly tokenKey: Uint8Array,
  ) {}

  /** Blind index of a value within a scope (e.g. 'users.email'); normalise the value first. */
  blindIndex(scope: string, value: string): Buffer {
    return Buffer.from(this.sodium.crypto_generichash(32, `${scope}\0${value}`, this.indexKey))
  }

  tokenHash(token: string): Buffer {
    return Buffer.from(this.sodium.crypto_generichash(32, token, this.tokenKey))
  }

  /** The token-hash key, for a remote edge that must look tokens up in its snapshot (never the master key). */
  exportTokenKey(): Buffer {
    return Buffer.from(this.tokenKey)
  }

  /** A key for another purpose, derived from the token key, the same in every process of the platform (e.g. the edges' CSRF key). */
  deriveKey(label: string): Buffer {
    return Buffer.from(this.sodium.crypto_generichash(32, `mezu-derive\0${label}`, this.tokenKey))
  }

  /** Constant-time comparison of a presented token against a stored hash. */
  tokenMatches(token: string, storedHash: Uint8Array): boolean {
    const h = this.tokenHash(token)
    return h.length === storedHash.length && timingSafeEqual(h, storedHash)
  }
}

export async function randomKey(): Promise<Uint8Array> {
  const s = await loadSodium()
  return s.randombytes_buf(32)
}

export class PasswordWorkerError extends Error {
  override name = 'PasswordWorkerError'
}

export interface PasswordHasherOptions {
  /** How long the worker may sit idle before it exits, taking libsodium's wasm heap with it (ms, default 30 s). */
  idleMs?: number
  /** Hash on the calling thread, as before the worker existed: stalls the event loop. For A/B measurements and references only. */
  inline?: boolean
}

/**
 * The compiled worker sits next to this file (dist/platform/store/), in the npm package as well.
 * From the sources (bin/dev.js runs them through tsx) it is the .ts, and since tsx's hooks do not
 * reach worker threads on Node 20, the worker registers them before it loads the file.
 */
function newPasswordWorker(): Worker {
  // the process's node options are not the worker's business (--input-type, --cpu-prof, preloads)
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./password-worker.js', import.meta.url), {execArgv: []})
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const file = JSON.stringify(new URL('./password-worker.ts', import.meta.url).href)
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${file}) })`, {eval: true, execArgv: []})
}
const DEFAULT_IDLE_MS = 30_000

interface Pending {
  resolve(value: string | boolean): void
  reject(error: Error): void
}

/** One worker's lifetime: its own pending calls, so a stale worker's exit never touches a newer one. */
interface Running {
  worker: Worker
  pending: Map<number, Pending>
  idle?: NodeJS.Timeout
  /** why the worker ended when we ended it (idle, close), so its exit is not reported as a crash */
  ended?: string
}

/**
 * argon2id password hashing (libsodium's crypto_pwhash_str) in a worker thread, so a login does
 * not stall the requests the edge forwards on the main event loop (~100–200 ms per hash). One
 * worker, started on first use, answers in order and exits after `idleMs` without work; the next
 * call starts another. A worker that dies fails its pending calls with a PasswordWorkerError
 * rather than leaving them waiting. Messages carry ids, never a password in a log line.
 */
export class PasswordHasher {
  private running: Running | undefined
  private nextId = 1
  private readonly idleMs: number

  private constructor(
    private readonly opslimit: number,
    private readonly memlimit: number,
    opts: PasswordHasherOptions,
    /** set only with `inline`: the main thread's libsodium */
    private readonly inlineSodium: Sodium | undefined,
  ) {
    this.idleMs = opts.idleMs ?? DEFAULT_IDLE_MS
  }

  static async create(strength: 'interactive' | 'moderate' = 'interactive', opts: PasswordHasherOptions = {}): Promise<PasswordHasher> {
    const s = await loadSodium()
    const inline = opts.inline ? s : undefined
    return strength === 'moderate'
      ? new PasswordHasher(s.crypto_pwhash_OPSLIMIT_MODERATE, s.crypto_pwhash_MEMLIMIT_MODERATE, opts, inline)
      : new PasswordHasher(s.crypto_pwhash_OPSLIMIT_INTERACTIVE, s.crypto_pwhash_MEMLIMIT_INTERACTIVE, opts, inline)
  }

  async hash(password: string): Promise<string> {
    if (this.inlineSodium) return this.inlineSodium.crypto_pwhash_str(password, this.opslimit, this.memlimit)
    return (await this.call({op: 'hash', password, opslimit: this.opslimit, memlimit: this.memlimit})) as string
  }

  /** False for a wrong password and for a malformed hash alike. */
  async verify(hash: string, password: string): Promise<boolean> {
    if (this.inlineSodium) {
      try {
        return this.inlineSodium.crypto_pwhash_str_verify(hash, password)
      } catch {
        return false
      }
    }
    return (await this.call({op: 'verify', hash, password})) as boolean
  }

  /** Stops the worker now (pending calls fail); a later call starts a new one. */
  async close(): Promise<void> {
    const r = this.running
    if (!r) return
    await this.end(r, 'the password hasher was closed')
  }

  /** For tests: the live worker, if any (to end it under pending calls). */
  get workerForTests(): Worker | undefined {
    return this.running?.worker
  }

  private call(req: DistributiveOmit<PasswordRequest, 'id'>): Promise<string | boolean> {
    const r = this.running ?? this.start()
    if (r.idle) clearTimeout(r.idle)
    r.idle = undefined
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      r.pending.set(id, {resolve, reject})
      // a worker with work keeps the process alive; an idle one does not (see settle)
      if (r.pending.size === 1) r.worker.ref()
      try {
        r.worker.postMessage({...req, id} satisfies PasswordRequest)
      } catch (error) {
        r.pending.delete(id)
        reject(new PasswordWorkerError(`cannot reach the password worker: ${(error as Error).message}`))
      }
    })
  }

  private start(): Running {
    const worker = newPasswordWorker()
    const r: Running = {worker, pending: new Map()}
    this.running = r
    worker.on('message', (m: PasswordReply) => {
      const p = r.pending.get(m.id)
      if (!p) return
      r.pending.delete(m.id)
      if (m.ok) p.resolve(m.value)
      else p.reject(new PasswordWorkerError(`password hashing failed in the worker: ${m.error}`))
      if (r.pending.size === 0 && !r.ended) this.settle(r)
    })
    const fail = (why: string) => void this.end(r, why)?.catch(() => {})
    worker.on('error', (error) => fail(`the password worker failed: ${error.message}`))
    worker.on('messageerror', (error) => fail(`the password worker could not read a message: ${error.message}`))
    worker.on('exit', (code) => fail(`the password worker exited unexpectedly (code ${code})`))
    return r
  }

  /** Nothing pending: let the process exit without waiting for the worker, and end it after idleMs. */
  private settle(r: Running): void {
    r.worker.unref()
    r.idle = setTimeout(() => void this.end(r, 'idle')?.catch(() => {}), this.idleMs)
    r.idle.unref()
  }

  /** Ends this worker (once): pending calls fail with `why`, the next call starts a new worker. */
  private end(r: Running, why: string): Promise<number> | undefined {
    if (this.running === r) this.running = undefined
    if (r.idle) clearTimeout(r.idle)
    r.idle = undefined
    for (const p of r.pending.values()) p.reject(new PasswordWorkerError(why))
    r.pending.clear()
    if (r.ended) return undefined
    r.ended = why
    return r.worker.terminate()
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never
