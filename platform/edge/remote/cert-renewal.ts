import {createPrivateKey, X509Certificate} from 'node:crypto'
import {createKeyAndCsr} from '../../../src/protocol/csr.js'
import type {ControlChannel} from './control-channel.js'
import {type EdgeNodeState, saveEdgeState} from './enrol.js'
import type {RenewCertificateParams, RenewedCertificate} from './messages.js'

/** Renewal starts after this fraction of the certificate's lifetime, as for Warpgates and ACME. */
const RENEW_AFTER = 2 / 3
const MIN_RETRY_MS = 1_000
const MAX_RETRY_MS = 10 * 60_000
/** setTimeout's limit; a later renewal is re-checked when this runs out. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface EdgeCertRenewerOptions {
  channel: Pick<ControlChannel, 'call' | 'connected' | 'on' | 'off'>
  dataDir: string
  state: EdgeNodeState
  /** the names the edge asked for at enrolment, asked for again */
  names: {dns: string[]; ips: string[]}
  /** puts the new key and certificate to use: listeners and the next control connection */
  apply(state: EdgeNodeState): void
  log: {info(o: object, msg: string): void; warn(o: object, msg: string): void}
}

/**
 * Keeps an edge node's certificate fresh over its control channel: at two thirds of its lifetime
 * the edge makes a new key, asks the control plane to sign it, saves it and serves it. While the
 * control plane is away it waits for the channel and retries with a delay that shrinks as the
 * expiry nears, so a long outage is ridden out as long as the old certificate lasts.
 */
export class EdgeCertRenewer {
  private state: EdgeNodeState
  private timer?: NodeJS.Timeout
  private running = false
  private stopped = false
  private failures = 0
  private readonly onConnected = () => {
    if (this.due()) this.schedule(0)
  }

  constructor(private readonly opts: EdgeCertRenewerOptions) {
    this.state = opts.state
  }

  start(): void {
    this.opts.channel.on('connected', this.onConnected)
    this.schedule(this.renewAt() - Date.now())
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.opts.channel.off('connected', this.onConnected)
  }

  /** When the certificate in use runs out (ms since the epoch). */
  expiresAt(): number {
    return Date.parse(new X509Certificate(this.state.certPem).validTo)
  }

  /**
   * When the current certificate should be replaced (ms since the epoch): measured from when it
   * was received, not from its notBefore, which the CA backdates for clock skew.
   */
  renewAt(): number {
    const to = this.expiresAt()
    const from = this.state.issuedAt ?? Date.parse(new X509Certificate(this.state.certPem).validFrom)
    return from + Math.floor((to - from) * RENEW_AFTER)
  }

  private due(): boolean {
    return !this.running && Date.now() >= this.renewAt()
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => void this.tick(), Math.max(0, Math.min(delayMs, MAX_TIMER_MS)))
    this.timer.unref()
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return
    if (Date.now() < this.renewAt()) return this.schedule(this.renewAt() - Date.now())
    // the channel's 'connected' event brings it back here
    if (!this.opts.channel.connected) return
    this.running = true
    try {
      await this.renew()
      this.failures = 0
      this.schedule(this.renewAt() - Date.now())
    } catch (error) {
      this.failures++
      const left = this.expiresAt() - Date.now()
      const delay = Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, Math.floor(left / 10)), MIN_RETRY_MS * 2 ** Math.min(this.failures, 10))
      this.opts.log.warn({err: error, retryInMs: delay, expiresAt: this.state.expiresAt}, 'the edge certificate could not be renewed; retrying')
      this.schedule(delay)
    } finally {
      this.running = false
    }
  }

  private async renew(): Promise<void> {
    const {keyPem, csrPem} = await createKeyAndCsr('mezu-edge')
    const params: RenewCertificateParams = {csr: csrPem, ...this.opts.names}
    const r = await this.opts.channel.call<RenewedCertificate>('renewCertificate', params)
    const cert = new X509Certificate(r.certificatePem)
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the control plane returned a certificate for another key')
    const next: EdgeNodeState = {...this.state, keyPem, certPem: r.certificatePem, expiresAt: r.expiresAt, issuedAt: Date.now()}
    // saved before use: a crash right after never leaves the edge serving a key it has lost
    saveEdgeState(this.opts.dataDir, next)
    this.state = next
    this.opts.apply(next)
    this.opts.log.info({serial: cert.serialNumber, expiresAt: r.expiresAt}, 'edge certificate renewed')
  }
}
