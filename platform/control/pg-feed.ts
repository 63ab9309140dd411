import type {Logger} from 'pino'
import {CHANGE_CHANNEL} from '../store/config/meta.js'
import type {PostgresEngine} from '../store/engines/postgres.js'
import {type ChannelListener, listenChannel} from '../store/engines/postgres-listen.js'
import type {ChangeEvent, ChangeFeed} from './feed.js'

/**
 * Carries the changes other control planes commit on the same PostgreSQL into this process's
 * feed. PostgreSQL delivers notifications at commit, in commit order, never for a rollback.
 * Versions are consecutive (every change transaction bumps one counter under one lock), so a
 * skipped version means a notification was missed (the listener was reconnecting): then the feed
 * gets one `resync`, and listeners reload everything.
 */
export class PostgresFeedListener {
  private last: number
  private channel: ChannelListener | undefined
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
    this.channel = await listenChannel(this.engine, CHANGE_CHANNEL, {
      onPayload: (payload) => this.receive(payload),
      // anything committed while no one listened is caught by comparing versions
      onConnected: async () => {
        const version = await this.currentVersion()
        if (version > this.last) await this.resync(version)
      },
      onError: (message) => this.log.warn(`change-feed listener ${message}`),
    })
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
    this.offOwn()
    await this.channel?.close()
  }
}
