import {readFileSync} from 'node:fs'
import https from 'node:https'
import {createSecureContext, rootCertificates, type SecureContext} from 'node:tls'
import * as acme from 'acme-client'
import type {Logger} from 'pino'
import type {AcmeCertificateStatus} from '../../../src/lib/api-types/index.js'
import type {AcmeChallengeType, ActiveAcmeConfig} from '../../acme-config.js'
import type {CertificateResolver} from '../../edge/certificates.js'
import type {ConfigSource, EdgeSnapshot} from '../../edge/config-source.js'
import {type AcmeCertificateRecord, deleteAcmeCertificate, ensureAcmeAccount, listAcmeCertificates, saveAcmeCertificate} from '../../store/config/acme.js'
import type {StoreCtx} from '../../store/config/projects.js'
import {ChallengeResponder} from './challenges.js'
import {type AcmeClock, MAX_TIMER_MS, renewalTime, retryDelay, systemAcmeClock} from './schedule.js'

export interface AcmeManagerOptions {
  config: ActiveAcmeConfig
  cdb: StoreCtx
  /** the edge's snapshot: its route hostnames are the ones that get certificates */
  source: ConfigSource
  /** auth.<domain>, which serves login and always gets a certificate */
  authHost: string
  log: Logger
  clock?: AcmeClock
}

interface HostState {
  hostname: string
  phase: AcmeCertificateStatus['status']
  reason: string | null
  challenge: AcmeChallengeType | null
  cert?: {record: AcmeCertificateRecord; context: SecureContext}
  /** failed orders in a row: picks the retry delay and the next challenge type */
  failures: number
  nextAttemptAt: number | null
  timer?: unknown
  running: boolean
  removed: boolean
}

/** A failed order, with the sentence shown as its status reason. */
export class AcmeOrderError extends Error {
  override name = 'AcmeOrderError'
}

/**
 * Obtains and renews a certificate per route hostname (and auth.<domain>) from an ACME CA, following
 * the edge's snapshot: a new hostname gets an order, a hostname no longer routed is dropped. It is the
 * edge's CertificateResolver (certificates and TLS-ALPN-01 answers by SNI) and answers HTTP-01 tokens.
 * Orders run one at a time; a failure is retried after a doubling delay, alternating challenge types.
 */
export class AcmeManager implements CertificateResolver {
  private readonly hosts = new Map<string, HostState>()
  private readonly responder = new ChallengeResponder()
  private readonly clock: AcmeClock
  private readonly stored = new Map<string, AcmeCertificateRecord>()
  private queue: Promise<void> = Promise.resolve()
  /** Store writes (save, delete), one after another in the order they were asked for. */
  private writes: Promise<void> = Promise.resolve()
  private client?: Promise<acme.Client>
  private unsubscribe?: () => void
  private ejectTrust?: () => void
  private directoryAgent?: DirectoryAgent
  private stopped = false

  constructor(private readonly opts: AcmeManagerOptions) {
    this.clock = opts.clock ?? systemAcmeClock
  }

  /**
   * Loads the stored certificates into memory (served at once) and orders what is missing or due.
   * The edge's SNI callback (resolve, challenge) reads only memory: no handshake waits on the store.
   */
  async start(): Promise<void> {
    const stored = await listAcmeCertificates(this.opts.cdb)
    if (this.stopped) return
    this.trustDirectory()
    for (const r of stored) {
      // A certificate from another CA (the directory changed) is replaced, not renewed.
      if (r.directoryUrl === this.opts.config.directoryUrl) this.stored.set(r.hostname, r)
    }
    this.sync(this.opts.source.get())
    this.unsubscribe = this.opts.source.onChange((s) => this.sync(s))
  }

  /**
   * Safe to call twice. An order in flight finishes on its own but stores nothing; resolves once
   * the store writes already asked for are done (so the store can be closed after it).
   */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true
      this.unsubscribe?.()
      this.ejectTrust?.()
      for (const s of this.hosts.values()) if (s.timer !== undefined) this.clock.clearTimeout(s.timer)
    }
    await this.writes
  }

  /** Runs a store write after the ones asked for before it; its failure is the caller's, not the next write's. */
  private write(fn: () => Promise<unknown>): Promise<void> {
    const done = this.writes.then(fn).then(() => undefined)
    this.writes = done.catch(() => undefined)
    return done
  }

  resolve(servername: string): SecureContext | undefined {
    const cert = this.hosts.get(servername)?.cert
    return cert && cert.record.notAfterMs > this.clock.now() ? cert.context : undefined
  }

  challenge(servername: string): SecureContext | undefined {
    return this.responder.tlsAlpn(servername)
  }

  keyAuthorization(token: string): string | undefined {
    return this.responder.keyAuthorization(token)
  }

  /** The status `mezu routes get` shows; undefined for a hostname this manager does not handle. */
  status(hostname: string): AcmeCertificateStatus | undefined {
    const s = this.hosts.get(hostname.toLowerCase())
    if (!s) return undefined
    const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString())
    return {
      status: s.phase, reason: s.reason, challenge: s.challenge,
      nextAttemptAt: s.running ? null : iso(s.nextAttemptAt),
      expiresAt: iso(s.cert?.record.notAfterMs), issuedAt: iso(s.cert?.record.notBeforeMs),
    }
  }

  private sync(snapshot: EdgeSnapshot): void {
    if (this.stopped) return
    const wanted = new Set([this.opts.authHost, ...snapshot.routes.map((r) => r.hostname.toLowerCase())])
    for (const hostname of wanted) if (!this.hosts.has(hostname)) this.add(hostname)
    for (const [hostname, s] of this.hosts) {
      if (wanted.has(hostname)) continue
      s.removed = true
      if (s.timer !== undefined) this.clock.clearTimeout(s.timer)
      this.hosts.delete(hostname)
      this.stored.delete(hostname)
      // not awaited: the snapshot listener must not wait on the store; writes stay in order
      this.write(() => deleteAcmeCertificate(this.opts.cdb, hostname)).catch((error: unknown) => this.opts.log.warn({err: error, hostname}, 'acme: could not delete the stored certificate'))
      this.opts.log.info({hostname}, 'acme: hostname no longer routed, certificate dropped')
    }
  }

  private add(hostname: string): void {
    const s: HostState = {hostname, phase: 'pending', reason: null, challenge: null, failures: 0, nextAttemptAt: null, running: false, removed: false}
    const record = this.stored.get(hostname)
    if (record && record.notAfterMs > this.clock.now()) {
      s.cert = {record, context: createSecureContext({key: record.keyPem, cert: record.certPem})}
      s.phase = 'valid'
    }
    this.hosts.set(hostname, s)
    this.schedule(s, s.cert ? renewalTime(s.cert.record, this.opts.config.renewAfter) : this.clock.now())
  }

  private schedule(s: HostState, at: number): void {
    if (s.timer !== undefined) this.clock.clearTimeout(s.timer)
    s.nextAttemptAt = at
    const wait = Math.max(0, at - this.clock.now())
    s.timer = this.clock.setTimeout(() => {
      s.timer = undefined
      if (s.removed || this.stopped) return
      if (this.clock.now() < at) return this.schedule(s, at)
      if (s.cert) s.phase = 'renewing'
      this.queue = this.queue.then(() => this.attempt(s))
    }, Math.min(wait, MAX_TIMER_MS))
  }

  private async attempt(s: HostState): Promise<void> {
    if (s.removed || this.stopped) return
    const {challenges, retry, renewAfter} = this.opts.config
    const type = challenges[s.failures % challenges.length]
    s.running = true
    if (this.directoryAgent) this.directoryAgent.lastError = undefined
    s.challenge = type
    s.phase = s.cert ? 'renewing' : 'pending'
    try {
      const record = await this.order(s.hostname, type)
      if (s.removed || this.stopped) return
      await this.write(() => saveAcmeCertificate(this.opts.cdb, record))
      if (s.removed || this.stopped) return
      // Swapped whole: handshakes from now on get the new certificate, open connections keep theirs.
      s.cert = {record, context: createSecureContext({key: record.keyPem, cert: record.certPem})}
      s.phase = 'valid'
      s.reason = null
      s.failures = 0
      this.schedule(s, renewalTime(record, renewAfter))
      this.opts.log.info({hostname: s.hostname, challenge: type, notAfter: new Date(record.notAfterMs).toISOString()}, 'acme: certificate issued')
    } catch (error) {
      if (s.removed || this.stopped) return
      s.failures++
      s.phase = 'failed'
      s.reason = reasonOf(error, this.directoryAgent?.lastError, this.opts.config.directoryUrl)
      this.schedule(s, this.clock.now() + retryDelay(s.failures, retry))
      this.opts.log.warn({hostname: s.hostname, challenge: type, reason: s.reason, failures: s.failures, nextAttemptAt: new Date(s.nextAttemptAt!).toISOString()}, 'acme: order failed')
    } finally {
      s.running = false
    }
  }

  /** One RFC 8555 order for `hostname`: authorize with `type`, finalize with a new key's CSR, download. */
  private async order(hostname: string, type: AcmeChallengeType): Promise<AcmeCertificateRecord> {
    const client = await this.accountClient()
    const order = await client.createOrder({identifiers: [{type: 'dns', value: hostname}]})
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status === 'valid') continue
      const challenge = authz.challenges.find((c) => c.type === type)
      if (!challenge) throw new AcmeOrderError(`the CA offers no ${type} challenge for ${hostname}`)
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge)
      const withdraw = await this.responder.present(type, authz, challenge.token, keyAuthorization)
      try {
        await client.completeChallenge(challenge)
        try {
          await client.waitForValidStatus(challenge)
        } catch (error) {
          throw new AcmeOrderError(`${type} validation of ${hostname} failed: ${(error as Error).message}`)
        }
        await client.waitForValidStatus(authz)
      } finally {
        withdraw()
      }
    }
    const key = await acme.crypto.createPrivateEcdsaKey()
    const [, csr] = await acme.crypto.createCsr({commonName: hostname, altNames: [hostname]}, key)
    const finalized = await client.finalizeOrder(order, csr)
    const certPem = await client.getCertificate(finalized)
    const info = acme.crypto.readCertificateInfo(certPem)
    return {
      hostname, directoryUrl: this.opts.config.directoryUrl, keyPem: key.toString(), certPem,
      notBeforeMs: info.notBefore.getTime(), notAfterMs: info.notAfter.getTime(),
    }
  }

  /** The ACME client with the stored account key (made on first use), its account registered. */
  private accountClient(): Promise<acme.Client> {
    const {directoryUrl, email} = this.opts.config
    this.client ??= (async () => {
      const fresh = (await acme.crypto.createPrivateEcdsaKey()).toString()
      const account = await ensureAcmeAccount(this.opts.cdb, {directoryUrl, email, keyPem: fresh})
      // Polls of a pending challenge or order: from 0.5 s, at most 5 s apart.
      const client = new acme.Client({directoryUrl, accountKey: account.keyPem, backoffAttempts: 12, backoffMin: 500, backoffMax: 5000})
      await client.createAccount({termsOfServiceAgreed: true, contact: [`mailto:${email}`]})
      return client
    })()
    // A failure (CA unreachable) is retried with the next order, not remembered.
    this.client.catch(() => (this.client = undefined))
    return this.client
  }

  /**
   * Requests to the directory's origin (and only those) are adjusted through a request interceptor,
   * removed at stop, since acme-client has one shared axios instance:
   * - with `--acme-ca-file` they verify against the system roots plus that CA (never switched off);
   * - at stop they are aborted, and acme-client's retries of a failed request (5 tries, 5 to 25 s
   *   apart, on timers that keep the process alive) end at the next one, so a platform whose CA
   *   is unreachable stops within seconds instead of 75.
   */
  private trustDirectory(): void {
    const {caFile, directoryUrl} = this.opts.config
    const agent = new DirectoryAgent(caFile ? {ca: [...rootCertificates, readFileSync(caFile, 'utf8')]} : {})
    this.directoryAgent = agent
    const origin = new URL(directoryUrl).origin
    const abort = new AbortController()
    const id = acme.axios.interceptors.request.use((req) => {
      if (!req.url || !sameOrigin(req.url, origin)) return req
      // A retry carries the signal of the manager that made the request: another manager's is left alone.
      if (req.signal && req.signal !== abort.signal) return req
      // acme-client counts its retries in this field and gives up past 5: after stop, at once.
      if (abort.signal.aborted) {
        if (req.signal === abort.signal) (req as {retryAttempt?: number}).retryAttempt = Number.POSITIVE_INFINITY
        return req
      }
      req.httpsAgent = agent
      req.signal = abort.signal
      return req
    })
    this.ejectTrust = () => {
      abort.abort()
      // Kept a while after stop: a retry acme-client already scheduled must still meet it.
      setTimeout(() => {
        acme.axios.interceptors.request.eject(id)
        agent.destroy()
      }, 60_000).unref()
    }
  }
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin
  } catch {
    return false
  }
}

/** The agent for the directory's HTTPS; it keeps the last connection error (see reasonOf). */
class DirectoryAgent extends https.Agent {
  lastError?: Error & {code?: string}

  override createConnection(...args: Parameters<https.Agent['createConnection']>): ReturnType<https.Agent['createConnection']> {
    const socket = super.createConnection(...args)
    socket?.on('error', (e: Error) => (this.lastError = e))
    return socket
  }
}

/**
 * One line for the status: the CA's problem detail when there is one, else the error message.
 * acme-client 5.4 loses the error of a request that failed every retry (it throws a TypeError from
 * its interceptor instead), so a connection that failed is named from the agent's last socket error.
 */
function reasonOf(error: unknown, connection: (Error & {code?: string}) | undefined, directoryUrl: string): string {
  const e = (error instanceof TypeError && connection ? connection : error) as Error & {code?: string}
  const prefix = e === connection ? `cannot reach the ACME directory ${directoryUrl}: ` : ''
  const text = prefix + (e.message || String(error))
  const line = e.code && !text.includes(e.code) ? `${text} (${e.code})` : text
  return line.replace(/\s+/g, ' ').slice(0, 500)
}
