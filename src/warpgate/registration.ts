import {EventEmitter} from 'node:events'
import {request} from 'node:https'
import {webcrypto} from 'node:crypto'
import type {WarpgateCertificate} from '../lib/api-types/warpgates.js'
import {controlServerIdentity, NOT_CONTROL_PLANE} from '../protocol/control-identity.js'
import {renewalMessage} from '../protocol/identity.js'

/** The Warpgate's key and the certificate the platform signed for it; the key never leaves this process. */
export interface Credentials {
  keyPem: string
  certPem: string
  caPem: string
  expiresAt: number
  /** when this certificate was issued (ms), for scheduling renewal */
  issuedAt: number
  info: WarpgateCertificate
}

/** A refusal from the platform, with the API's stable code. */
export class RegistrationError extends Error {
  override name = 'RegistrationError'
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message)
  }
}

export {createKeyAndCsr, pkcs10} from '../protocol/csr.js'
import {createKeyAndCsr} from '../protocol/csr.js'

/** Trades a one-time registration token and a CSR for a client certificate. */
export async function register(api: {apiUrl: string; caPem: string}, token: string): Promise<Credentials> {
  const {keyPem, csrPem} = await createKeyAndCsr()
  const info = await postJson<WarpgateCertificate>(api, '/v1/warpgates/register', {token, csr: csrPem})
  return toCredentials(keyPem, info)
}

/** Asks for a new certificate on a new key, signed for with the current one. */
export async function renew(api: {apiUrl: string; caPem: string}, current: Credentials, now = Date.now()): Promise<Credentials> {
  const {keyPem, csrPem} = await createKeyAndCsr()
  const key = await webcrypto.subtle.importKey('pkcs8', pemBody(current.keyPem), {name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign'])
  const signature = Buffer.from(await webcrypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, key, renewalMessage(csrPem, now))).toString('base64')
  const info = await postJson<WarpgateCertificate>(api, '/v1/warpgates/renew', {certificate: current.certPem, csr: csrPem, signedAt: now, signature})
  return toCredentials(keyPem, info)
}

function toCredentials(keyPem: string, info: WarpgateCertificate): Credentials {
  return {keyPem, certPem: info.certificatePem, caPem: info.caPem, expiresAt: Date.parse(info.expiresAt), issuedAt: Date.now(), info}
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
}

/**
 * Time as the Warpgate sees it; injected so renewal and backoff are tested without waiting.
 * (The same shape as the periphery's src/warpgate/clock.ts, which can replace this one.)
 */
export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The real clock; timers are unref'd so a pending renewal never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.min(ms, 2 ** 31 - 1))
    t.unref()
    return t
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/**
 * Holds the current credentials and renews them when two thirds of their lifetime has passed.
 * Live connections keep the certificate they were made with (TLS does not re-check it), and new
 * connections take the new one, so renewal never drops traffic. A failed renewal is retried.
 */
export class CertificateKeeper extends EventEmitter<{renewed: [Credentials]; 'renew-failed': [Error]}> {
  private timer: unknown
  private stopped = false

  constructor(
    private current: Credentials,
    private readonly api: {apiUrl: string; caPem: string},
    private readonly clock: Clock = systemClock,
    private readonly renewFn: typeof renew = renew,
  ) {
    super()
  }

  get credentials(): Credentials {
    return this.current
  }

  start(): void {
    this.schedule()
  }

  private schedule(retryMs?: number): void {
    if (this.stopped) return
    const lifetime = this.current.expiresAt - this.current.issuedAt
    const at = this.current.issuedAt + (lifetime * 2) / 3
    const wait = retryMs ?? Math.max(0, at - this.clock.now())
    this.timer = this.clock.setTimeout(() => void this.renewNow(), wait)
  }

  /** Renews now; resolves when the new credentials are in place (or the attempt failed). */
  async renewNow(): Promise<void> {
    try {
      const next = await this.renewFn(this.api, this.current, this.clock.now())
      if (this.stopped) return
      this.current = next
      this.emit('renewed', next)
      this.schedule()
    } catch (error) {
      if (this.stopped) return
      this.emit('renew-failed', error as Error)
      const left = this.current.expiresAt - this.clock.now()
      this.schedule(Math.max(1000, Math.min(60_000, left / 4)))
    }
  }

  stop(): void {
    this.stopped = true
    this.clock.clearTimeout(this.timer)
  }
}

function postJson<T>(api: {apiUrl: string; caPem: string}, path: string, body: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body)
    const req = request(new URL(path, api.apiUrl), {
      method: 'POST', ca: api.caPem, checkServerIdentity: controlServerIdentity(api.caPem, api.apiUrl), minVersion: 'TLSv1.3', timeout: 30_000,
      headers: {'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'user-agent': 'mezu-warpgate'},
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let parsed: any
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          return reject(new RegistrationError('network', `${api.apiUrl} answered ${res.statusCode} with a body that is not JSON`, res.statusCode ?? 0))
        }
        if ((res.statusCode ?? 500) >= 400) {
          return reject(new RegistrationError(parsed?.error?.code ?? 'http_' + res.statusCode, parsed?.error?.message ?? `the platform answered ${res.statusCode}`, res.statusCode ?? 0))
        }
        resolve(parsed as T)
      })
    })
    req.on('timeout', () => req.destroy(new RegistrationError('network', `${api.apiUrl} did not answer in time`, 0)))
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof RegistrationError) reject(e)
      else if (e.code === NOT_CONTROL_PLANE) reject(new RegistrationError('ca_untrusted', e.message, 0))
      else reject(new RegistrationError('network', `cannot reach ${api.apiUrl}: ${e.message}`, 0))
    })
    req.end(payload)
  })
}
