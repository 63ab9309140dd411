import {EventEmitter} from 'node:events'

/** What changed in the configuration; published after the transaction commits. */
export interface ChangeEvent {
  version: number
  kind: string
  id: string | null
  action: 'created' | 'updated' | 'deleted' | 'revoked'
}

/**
 * The in-process change feed: control publishes, the edge (through its ConfigSource) listens.
 * When edges run as their own processes this is carried over a ws stream instead.
 */
export class ChangeFeed {
  private readonly emitter = new EventEmitter()

  constructor() {
    this.emitter.setMaxListeners(100)
  }

  publish(event: ChangeEvent): void {
    this.emitter.emit('change', event)
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.emitter.on('change', listener)
    return () => this.emitter.off('change', listener)
  }
}
