import {createPrivateKey, X509Certificate} from 'node:crypto'
import {type FSWatcher, readFileSync, statSync, watch} from 'node:fs'
import {basename, dirname} from 'node:path'
import {createSecureContext} from 'node:tls'
import type {CertFilePair} from '../config.js'

/** A certificate file pair that cannot be served; the message names the file and what is wrong. */
export class CertFileError extends Error {
  override name = 'CertFileError'
}

/** A certificate pair read from the operator's files, checked to belong together. */
export interface LoadedCert {
  /** the PEM chain as read, leaf first */
  cert: string
  key: string
  leaf: X509Certificate
  /** the files' state when they were read (see pairSignature), so a watcher started later misses no change */
  signature: string
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new CertFileError(`cannot read the ${what} file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

/** Reads and checks a pair: PEM certificate (chain allowed) first, a private key that matches the leaf. */
export function loadCertPair(pair: CertFilePair): LoadedCert {
  const signature = pairSignature(pair)
  const cert = read(pair.certFile, 'certificate')
  const key = read(pair.keyFile, 'key')
  const blocks = cert.match(PEM_CERT)
  if (!blocks) throw new CertFileError(`${pair.certFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(blocks[0])
  } catch (error) {
    throw new CertFileError(`the first certificate in ${pair.certFile} cannot be parsed: ${(error as Error).message}`)
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch {
    throw new CertFileError(`${pair.keyFile} holds no readable PEM private key (an encrypted key is not supported)`)
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new CertFileError(`the key in ${pair.keyFile} does not match the certificate in ${pair.certFile}`)
  try {
    createSecureContext({cert, key})
  } catch (error) {
    throw new CertFileError(`${pair.certFile} with ${pair.keyFile} cannot be served: ${(error as Error).message}`)
  }
  return {cert, key, leaf, signature}
}

/** Whether a certificate names `host` (wildcards one label deep, as browsers match them). */
export function coversHost(leaf: X509Certificate, host: string): boolean {
  return leaf.checkHost(host) !== undefined
}

/** Inode, size and mtime of both files (following symlinks); a missing file is a state too. */
export function pairSignature(pair: CertFilePair): string {
  return [pair.certFile, pair.keyFile].map((f) => {
    try {
      const s = statSync(f)
      return `${s.ino}:${s.size}:${s.mtimeMs}`
    } catch {
      return 'missing'
    }
  }).join('|')
}

export interface CertWatchOptions {
  /** the stat check behind the watch, for file systems where fs.watch misses changes */
  checkIntervalMs: number
  onChange(cert: LoadedCert): void
  /** a changed pair that cannot be served; the old one stays in use */
  onError(error: Error): void
  /** the state the pair in use was read in (LoadedCert.signature); default: the files as they are now */
  since?: string
  /** quiet time after a change before reading: an outside tool writes the key and the certificate one after the other */
  settleMs?: number
}

/**
 * Re-reads a certificate pair when either file changes: fs.watch on their directories (renames
 * and symlink swaps show up there, unlike a watch on the file itself), backed by a periodic stat.
 * A pair that fails to load is reported and ignored until the files change again.
 */
export class CertFileWatcher {
  private readonly watchers: FSWatcher[] = []
  private readonly timer: NodeJS.Timeout
  private settle?: NodeJS.Timeout
  private seen: string
  private closed = false

  constructor(private readonly pair: CertFilePair, private readonly opts: CertWatchOptions) {
    this.seen = opts.since ?? pairSignature(pair)
    const names = new Set([basename(pair.certFile), basename(pair.keyFile)])
    for (const dir of new Set([dirname(pair.certFile), dirname(pair.keyFile)])) {
      try {
        const w = watch(dir, {persistent: false}, (_event, name) => {
          if (!name || names.has(name.toString())) this.schedule()
        })
        w.on('error', () => w.close())
        this.watchers.push(w)
      } catch {
        // the stat check below still notices changes
      }
    }
    this.timer = setInterval(() => {
      if (pairSignature(this.pair) !== this.seen) this.schedule()
    }, opts.checkIntervalMs)
    this.timer.unref()
  }

  private schedule(): void {
    if (this.closed) return
    clearTimeout(this.settle)
    this.settle = setTimeout(() => this.reload(), this.opts.settleMs ?? 200)
    this.settle.unref()
  }

  private reload(): void {
    if (this.closed) return
    const signature = pairSignature(this.pair)
    if (signature === this.seen) return
    this.seen = signature
    let loaded: LoadedCert
    try {
      loaded = loadCertPair(this.pair)
    } catch (error) {
      this.opts.onError(error as Error)
      return
    }
    this.opts.onChange(loaded)
  }

  /** Stops watching; safe to call twice. */
  close(): void {
    this.closed = true
    clearTimeout(this.settle)
    clearInterval(this.timer)
    for (const w of this.watchers) w.close()
  }
}
