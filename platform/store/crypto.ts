import sodiumModule from 'libsodium-wrappers-sumo'
import {timingSafeEqual} from 'node:crypto'

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

const BLOB_FORMAT = 1
const HEADER_BYTES = 1 + 4
const KDF_CONTEXT = 'mezufld1'
const FIELD_SUBKEY_ID = 1

export class CryptoError extends Error {
  override name = 'CryptoError'
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
    const s = this.sodium
    const key = this.fieldKeys.get(this.currentVersion)!
    const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    const message = typeof plaintext === 'string' ? s.from_string(plaintext) : plaintext
    const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(message, ad(table, column, rowId), null, nonce, key)
    const header = Buffer.alloc(HEADER_BYTES)
    header.writeUInt8(BLOB_FORMAT, 0)
    header.writeUInt32BE(this.currentVersion, 1)
    return Buffer.concat([header, nonce, ct])
  }

  openBytes(table: string, column: string, rowId: string, blob: Uint8Array): Uint8Array {
    const s = this.sodium
    const buf = Buffer.from(blob)
    if (buf.length < HEADER_BYTES + 24 + 16 || buf.readUInt8(0) !== BLOB_FORMAT) {
      throw new CryptoError(`${table}.${column} of ${rowId} is not a sealed value`)
    }
    const version = buf.readUInt32BE(1)
    const key = this.fieldKeys.get(version)
    if (!key) throw new CryptoError(`${table}.${column} of ${rowId} is sealed with master key version ${version}, which is not loaded`)
    const nonce = buf.subarray(HEADER_BYTES, HEADER_BYTES + 24)
    const ct = buf.subarray(HEADER_BYTES + 24)
    try {
      return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, ad(table, column, rowId), nonce, key)
    } catch {
      throw new CryptoError(`${table}.${column} of ${rowId} does not open with the master key: wrong key or tampered data`)
    }
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

  /** The master-key version a blob was sealed with. */
  static blobVersion(blob: Uint8Array): number {
    return Buffer.from(blob).readUInt32BE(1)
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

/** argon2id password hashing (libsodium's crypto_pwhash_str). */
export class PasswordHasher {
  constructor(
    private readonly sodium: Sodium,
    private readonly opslimit: number,
    private readonly memlimit: number,
  ) {}

  static async create(strength: 'interactive' | 'moderate' = 'interactive'): Promise<PasswordHasher> {
    const s = await loadSodium()
    return strength === 'moderate'
      ? new PasswordHasher(s, s.crypto_pwhash_OPSLIMIT_MODERATE, s.crypto_pwhash_MEMLIMIT_MODERATE)
      : new PasswordHasher(s, s.crypto_pwhash_OPSLIMIT_INTERACTIVE, s.crypto_pwhash_MEMLIMIT_INTERACTIVE)
  }

  hash(password: string): string {
    return this.sodium.crypto_pwhash_str(password, this.opslimit, this.memlimit)
  }

  verify(hash: string, password: string): boolean {
    try {
      return this.sodium.crypto_pwhash_str_verify(hash, password)
    } catch {
      return false
    }
  }
}
