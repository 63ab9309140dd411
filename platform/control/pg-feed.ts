import type pg from 'pg'
import type {Logger} from 'pino'
import {CHANGE_CHANNEL} from '../store/config/meta.js'
import type {PostgresEngine} from '../store/engines/postgres.js'
import type {ChangeEvent, ChangeFeed} from './feed.js'

const MAX_BACKOFF_MS = 5_000

/**
 * Carries the changes other control planes commit on the same PostgreSQL into this process's
 * feed. PostgreSQL delivers notifications at commit, in commit order, never for a rollback; a
 * dedicated connection LISTENs. Versions are consecutive (every change transaction bumps one
 * counter under one lock), so a skipped version means a notification was missed (the listener
 * was reconnecting): then the feed gets one `resync`, and listeners reload everything.
 */
export class PostgresFeedListener {
  private client: pg.Client | undefined
  private last: number
  private closed = false
  private backoffMs = 100
  private timer: NodeJS.Timeout | undefined
  /** notifications are handled one at a time, in arrival (commit) order */
  private chain: Promise<void> = Promise.resolve()
  private readonly offOwn: () => void

  constructor(
    private readonly engine: PostgresEngine,
    private readonly feed: ChangeFeed,
    private readonly currentVersion: () => Promise<number>,
    startVersion: number,
    private readonly log: Logger,
  ) {
    this.last = startVersion
    // this process's own changes are published locally at commit; they advance the count too
    this.offOwn = feed.subscribe((e) => {
      if (e.kind !== 'resync') this.last = Math.max(this.last, e.version)
    })
  }

  async start(): Promise<void> {
    await this.connect()
  }

  private async connect(): Promise<void> {
    const client = await this.engine.connect()
    client.on('notification', (n) => {
      if (n.channel !== CHANGE_CHANNEL || !n.payload) return
      const payload = n.payload
      this.chain = this.chain.then(() => this.receive(payload)).catch((error: unknown) => this.log.error({err: error}, 'change-feed notification failed'))
    })
    const lost = () => {
      if (this.client !== client) return
      this.client = undefined
      if (!this.closed) this.retry()
    }
    client.on('error', (error) => {
      this.log.warn({err: {message: error.message}}, 'change-feed listener lost its PostgreSQL connection')
      lost()
    })
    client.on('end', lost)
    await client.query(`LISTEN ${CHANGE_CHANNEL}`)
    this.client = client
    this.backoffMs = 100
    // anything committed while no one listened is caught by comparing versions
    const version = await this.currentVersion()
    if (version > this.last) await this.resync(version)
  }

  private retry(): void {
    const wait = this.backoffMs
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS)
    this.timer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        this.log.debug({err: {message: (error as Error).message}}, 'change-feed listener could not reconnect yet')
        if (!this.closed) this.retry()
      })
    }, wait)
    this.timer.unref()
  }

  private async receive(payload: string): Promise<void> {
    let e: ChangeEvent & {origin?: string}
    try {
      e = JSON.parse(payload) as ChangeEvent & {origin?: string}
    } catch {
      return
    }
    if (e.origin === this.feed.origin || !Number.isInteger(e.version) || e.version <= this.last) return
    if (e.version > this.last + 1) return this.resync(e.version)
    this.last = e.version
    const {origin: _origin, ...event} = e
    await this.feed.publish(event)
  }

  private async resync(version: number): Promise<void> {
    this.last = Math.max(this.last, version)
    await this.feed.publish({version, kind: 'resync', id: null, action: 'updated'})
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    this.offOwn()
    const c = this.client
    this.client = undefined
    await c?.end().catch(() => {})
  }
}
