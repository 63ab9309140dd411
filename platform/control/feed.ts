import {randomUUID} from 'node:crypto'

/** What changed in the configuration; published after the transaction commits. */
export interface ChangeEvent {
  version: number
  /** what changed; `resync` means "something may have changed: reload everything" (a gap in the cross-process feed) */
  kind: string
  id: string | null
  action: 'created' | 'updated' | 'deleted' | 'revoked'
}

/** A listener may return a promise; publish waits for it. */
export type ChangeListener = (event: ChangeEvent) => unknown

/**
 * The in-process change feed: control publishes, the edge (through its ConfigSource) listens.
 * `publish` resolves once every listener has handled the event, so an API write answers only
 * after the edge serves it. A listener's failure is reported, never thrown at the writer: its
 * transaction has already committed. On PostgreSQL the events of other control planes arrive
 * through platform/control/pg-feed.ts and are published here the same way.
 */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>()
  /** This process's name on the cross-process feed, so it skips its own notifications. */
  readonly origin = randomUUID()

  constructor(private readonly onError: (error: unknown, event: ChangeEvent) => void = () => {}) {}

  async publish(event: ChangeEvent): Promise<void> {
    for (const listener of [...this.listeners]) {
      try {
        await listener(event)
      } catch (error) {
        this.onError(error, event)
      }
    }
  }

  subscribe(listener: ChangeListener): () => void {
    // a wrapper per subscription, so subscribing one function twice is two subscriptions
    const entry: ChangeListener = (e) => listener(e)
    this.listeners.add(entry)
    return () => this.listeners.delete(entry)
  }
}
