import type {Clock} from '../../src/warpgate/registration.js'

/** A clock that moves only when told to: timers fire on advance(), in order. */
export class ManualClock implements Clock {
  private t = 1_700_000_000_000
  private timers: Array<{at: number; fn: () => void; id: number}> = []
  private nextId = 1

  now(): number {
    return this.t
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++
    this.timers.push({at: this.t + ms, fn, id})
    return id
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle)
  }

  /** pending timers */
  get pending(): number {
    return this.timers.length
  }

  advance(ms: number): void {
    const until = this.t + ms
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at)
      const next = this.timers[0]
      if (!next || next.at > until) break
      this.timers.shift()
      this.t = next.at
      next.fn()
    }
    this.t = until
  }
}
