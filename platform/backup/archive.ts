import {createHash, createHmac, type Hmac, hkdfSync} from 'node:crypto'
import {closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync} from 'node:fs'

/**
 * The backup file: one file, so it can be copied, checksummed and stored as a unit.
 *
 *   MAGIC (18 bytes) | u32 BE manifest length | manifest (JSON) | parts, in manifest order | MAC (32 bytes)
 *
 * The manifest names each part with its size and SHA-256, so a damaged part is named; the MAC
 * (HMAC-SHA256 over everything before it, keyed from the master key) catches a manifest rewritten
 * to match altered parts. Sizes are checked before any hashing, so a truncated file is told apart
 * from a damaged one.
 */
export const MAGIC = Buffer.from('MEZUSPHERE-BACKUP\n', 'latin1')
export const ARCHIVE_FORMAT = 1
const LENGTH_BYTES = 4
const MAC_BYTES = 32
const MAX_MANIFEST_BYTES = 1 << 20
const CHUNK = 1 << 20

/** One file carried by a backup. */
export interface ArchivePart {
  name: string
  size: number
  sha256: string
}

/** What a backup says about itself; `parts` lists its files in the order they follow. */
export interface BackupManifest {
  format: number
  app: {name: string; version: string}
  createdAt: string
  masterKey: {id: string; version: number}
  schema: {identity: number; config: number}
  parts: ArchivePart[]
}

/** The file is not a backup, is cut short, or was altered; the message names the part. */
export class BackupFileError extends Error {
  override name = 'BackupFileError'
}

/** HMAC key of the archive, derived from the master key so nobody without it can re-seal an altered file. */
export function archiveMacKey(masterKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, new Uint8Array(0), 'mezusphere backup mac v1', 32))
}

/** SHA-256 and size of a file, read in chunks. */
export function hashFile(path: string): {size: number; sha256: string} {
  const fd = openSync(path, 'r')
  try {
    const hash = createHash('sha256')
    const buf = Buffer.allocUnsafe(CHUNK)
    let size = 0
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0; size += n) hash.update(buf.subarray(0, n))
    return {size, sha256: hash.digest('hex')}
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes the archive to `path` (created 0600, must not exist): the manifest, then each part's file,
 * then the MAC. The parts' sizes and hashes in `manifest` must describe the files as they are.
 */
export function writeArchive(path: string, manifest: BackupManifest, files: Map<string, string>, macKey: Buffer): number {
  const fd = openSync(path, 'wx', 0o600)
  try {
    const mac = createHmac('sha256', macKey)
    const put = (b: Buffer) => {
      mac.update(b)
      writeAll(fd, b)
    }
    const json = Buffer.from(JSON.stringify(manifest), 'utf8')
    const length = Buffer.alloc(LENGTH_BYTES)
    length.writeUInt32BE(json.length)
    put(MAGIC)
    put(length)
    put(json)
    let total = MAGIC.length + LENGTH_BYTES + json.length + MAC_BYTES
    const buf = Buffer.allocUnsafe(CHUNK)
    for (const part of manifest.parts) {
      const src = openSync(files.get(part.name)!, 'r')
      try {
        let copied = 0
        for (let n; (n = readSync(src, buf, 0, CHUNK, null)) > 0; copied += n) put(buf.subarray(0, n))
        if (copied !== part.size) throw new Error(`${part.name} changed while it was being written to the backup`)
        total += copied
      } finally {
        closeSync(src)
      }
    }
    writeAll(fd, mac.digest())
    fsyncSync(fd)
    return total
  } finally {
    closeSync(fd)
  }
}

function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off)
}

/** An opened archive whose layout (magic, manifest, sizes) has been checked; parts not yet read. */
export interface OpenedArchive {
  manifest: BackupManifest
  /**
   * Reads every part in order, handing each chunk to `sink(part, chunk)`, checks each part's
   * SHA-256 and then the MAC; throws a BackupFileError naming the first part that differs.
   */
  verify(macKey: Buffer, sink?: (part: ArchivePart, chunk: Buffer) => void): void
  close(): void
}

/** Opens `path` and checks what can be checked without the key: magic, manifest, total size. */
export function openArchive(path: string, allowedParts: readonly string[]): OpenedArchive {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    const head = readExactly(fd, 0, Math.min(size, MAGIC.length + LENGTH_BYTES))
    if (head.length < MAGIC.length || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new BackupFileError(`${path} is not a Mezusphere backup (it does not start with the backup header)`)
    }
    if (head.length < MAGIC.length + LENGTH_BYTES) throw new BackupFileError(`${path} is truncated: it ends inside its header`)
    const manifestLength = head.readUInt32BE(MAGIC.length)
    if (manifestLength > MAX_MANIFEST_BYTES) throw new BackupFileError(`the manifest of ${path} is damaged: its length field says ${manifestLength} bytes`)
    const partsStart = MAGIC.length + LENGTH_BYTES + manifestLength
    if (size < partsStart) throw new BackupFileError(`${path} is truncated: it ends inside its manifest (${size} of at least ${partsStart + MAC_BYTES} bytes)`)
    const manifestBytes = readExactly(fd, MAGIC.length + LENGTH_BYTES, manifestLength)
    const manifest = parseManifest(manifestBytes, path, allowedParts)
    const expected = partsStart + manifest.parts.reduce((n, p) => n + p.size, 0) + MAC_BYTES
    if (size < expected) {
      let end = partsStart
      const cut = manifest.parts.find((p) => (end += p.size) > size)
      throw new BackupFileError(`${path} is truncated: ${size} of ${expected} bytes; ${cut ? `part ${cut.name} is incomplete` : 'its authentication code is missing'}`)
    }
    if (size > expected) throw new BackupFileError(`${path} has ${size - expected} unexpected bytes after its end (expected ${expected} bytes)`)
    const prefix = head.subarray(0, MAGIC.length + LENGTH_BYTES)
    return {
      manifest,
      verify(macKey, sink) {
        const mac = createHmac('sha256', macKey)
        mac.update(prefix)
        mac.update(manifestBytes)
        let pos = partsStart
        for (const part of manifest.parts) {
          pos = readPart(fd, pos, part, mac, sink, path)
        }
        const stored = readExactly(fd, pos, MAC_BYTES)
        if (!mac.digest().equals(stored)) {
          throw new BackupFileError(`${path} was altered after it was written: its authentication code does not match (the manifest or a part was changed)`)
        }
      },
      close: () => closeSync(fd),
    }
  } catch (error) {
    closeSync(fd)
    throw error
  }
}

function readPart(fd: number, start: number, part: ArchivePart, mac: Hmac, sink: ((p: ArchivePart, c: Buffer) => void) | undefined, path: string): number {
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(CHUNK)
  let pos = start
  for (let left = part.size; left > 0; ) {
    const n = readSync(fd, buf, 0, Math.min(CHUNK, left), pos)
    if (n === 0) throw new BackupFileError(`${path} is truncated: part ${part.name} is incomplete`)
    const chunk = buf.subarray(0, n)
    hash.update(chunk)
    mac.update(chunk)
    sink?.(part, chunk)
    pos += n
    left -= n
  }
  if (hash.digest('hex') !== part.sha256) throw new BackupFileError(`part ${part.name} of ${path} is damaged: its SHA-256 does not match the manifest`)
  return pos
}

function readExactly(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length)
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got)
    if (n === 0) break
    got += n
  }
  return buf.subarray(0, got)
}

function parseManifest(bytes: Buffer, path: string, allowedParts: readonly string[]): BackupManifest {
  let m: BackupManifest
  try {
    m = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new BackupFileError(`the manifest of ${path} is damaged: it is not JSON`)
  }
  const bad = (what: string) => new BackupFileError(`the manifest of ${path} is damaged: ${what}`)
  if (typeof m !== 'object' || m === null) throw bad('it is not an object')
  if (m.format !== ARCHIVE_FORMAT) throw new BackupFileError(`${path} has backup format ${String(m.format)}; this mezu reads format ${ARCHIVE_FORMAT}`)
  if (typeof m.masterKey?.id !== 'string' || !Number.isInteger(m.masterKey?.version)) throw bad('masterKey is missing')
  if (!Number.isInteger(m.schema?.identity) || !Number.isInteger(m.schema?.config)) throw bad('schema is missing')
  if (!Array.isArray(m.parts)) throw bad('parts is missing')
  const seen = new Set<string>()
  for (const p of m.parts) {
    if (typeof p?.name !== 'string' || !allowedParts.includes(p.name) || seen.has(p.name)) throw bad(`unexpected part ${JSON.stringify(p?.name)}`)
    if (!Number.isSafeInteger(p.size) || p.size < 0 || typeof p.sha256 !== 'string') throw bad(`part ${p.name} has no valid size or SHA-256`)
    seen.add(p.name)
  }
  return m
}
