import {accessSync, constants} from 'node:fs'
import {dirname} from 'node:path'
import type {Db} from './store/db.js'

/** One readiness check's verdict; `message` says what is wrong (never a secret). */
export interface CheckResult {
  ok: boolean
  message?: string
}

/** The answer of /readyz: ready only when every check passes; `failing` names the ones that do not. */
export interface ReadinessReport {
  ready: boolean
  failing: string[]
  checks: Record<string, CheckResult>
}

export type Check = () => CheckResult

/** Runs every check (each one's throw is its failure) and says which fail. */
export function runChecks(checks: ReadonlyArray<readonly [string, Check]>): ReadinessReport {
  const out: Record<string, CheckResult> = {}
  const failing: string[] = []
  for (const [name, check] of checks) {
    let r: CheckResult
    try {
      r = check()
    } catch (error) {
      r = {ok: false, message: (error as Error).message}
    }
    out[name] = r
    if (!r.ok) failing.push(name)
  }
  return {ready: failing.length === 0, failing, checks: out}
}

/**
 * A store is ready when it is open, its file and directory can be written (a new WAL or journal
 * needs the directory), and this connection can take the write lock right now: BEGIN IMMEDIATE,
 * then ROLLBACK, without waiting (busy_timeout 0 for the probe), so a lock held elsewhere (another
 * process, a stuck backup) shows as not writable instead of stalling the event loop.
 */
export function storeWritable(db: Db, file: string): Check {
  return () => {
    if (!db.open) return {ok: false, message: `${file} is closed`}
    if (db.readonly) return {ok: false, message: `${file} is open read-only`}
    for (const path of [file, dirname(file)]) {
      try {
        accessSync(path, constants.W_OK)
      } catch (error) {
        return {ok: false, message: `${path} is not writable (${(error as NodeJS.ErrnoException).code})`}
      }
    }
    // a transaction of ours is running (cannot happen between synchronous calls, but never nest)
    if (db.inTransaction) return {ok: true}
    const wait = db.pragma('busy_timeout', {simple: true}) as number
    db.pragma('busy_timeout = 0')
    try {
      db.exec('BEGIN IMMEDIATE')
      db.exec('ROLLBACK')
      return {ok: true}
    } catch (error) {
      return {ok: false, message: `${file} cannot be written: ${(error as Error).message}`}
    } finally {
      db.pragma(`busy_timeout = ${wait}`)
    }
  }
}

/** A listener is ready while it accepts connections. */
export function listening(server: {listening: boolean}, what: string): Check {
  return () => (server.listening ? {ok: true} : {ok: false, message: `the ${what} listener is not accepting connections`})
}

/**
 * How far the edge is behind the store's configuration: the time since a probe first saw the
 * store ahead of the newest version the edge was told about. It is measured when looked at
 * (scrape or probe), so its resolution is the probe interval.
 */
export class FeedLag {
  private behindSince?: number

  constructor(private readonly storeVersion: () => number, private readonly edgeVersion: () => number, private readonly now: () => number = Date.now) {}

  seconds(): number {
    if (this.storeVersion() <= this.edgeVersion()) {
      this.behindSince = undefined
      return 0
    }
    this.behindSince ??= this.now()
    return (this.now() - this.behindSince) / 1000
  }

  /** Current, or behind for less than `graceMs` (a change on its way). */
  check(graceMs: number): Check {
    return () => {
      const lag = this.seconds()
      if (this.behindSince === undefined || lag * 1000 < graceMs) return {ok: true}
      return {ok: false, message: `the edge was told of configuration version ${this.edgeVersion()} while the store has ${this.storeVersion()} (behind for ${lag.toFixed(1)} s)`}
    }
  }
}
