import {accessSync, constants} from 'node:fs'
import {dirname, join} from 'node:path'
import {CONFIG_DB, IDENTITY_DB, type Stores} from './store/stores.js'

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

export type Check = () => CheckResult | Promise<CheckResult>

/** Runs every check (each one's throw is its failure) and says which fail. */
export async function runChecks(checks: ReadonlyArray<readonly [string, Check]>): Promise<ReadinessReport> {
  const out: Record<string, CheckResult> = {}
  const failing: string[] = []
  for (const [name, check] of checks) {
    let r: CheckResult
    try {
      r = await check()
    } catch (error) {
      r = {ok: false, message: (error as Error).message}
    }
    out[name] = r
    if (!r.ok) failing.push(name)
  }
  return {ready: failing.length === 0, failing, checks: out}
}

/**
 * SQLite: a store is ready when it is open, its files and directory can be written (a new WAL or
 * journal needs the directory), and the connection can take the write lock right now: BEGIN
 * IMMEDIATE, then ROLLBACK, without waiting (busy_timeout 0 for the probe), so a lock held
 * elsewhere (another process, a stuck backup) shows as not writable instead of stalling the event
 * loop. PostgreSQL: a round trip on the pool answers within the pool's connect timeout.
 */
export function storeChecks(stores: Pick<Stores, 'sqlite' | 'postgres' | 'dataDir'>): Array<[string, Check]> {
  const pg = stores.postgres
  if (pg) {
    return [['store', async () => {
      try {
        await pg.ping()
        return {ok: true}
      } catch (error) {
        return {ok: false, message: `PostgreSQL cannot be reached: ${(error as Error).message}`}
      }
    }]]
  }
  const sqlite = stores.sqlite!
  return (['identity', 'config'] as const).map((store) => {
    const file = join(stores.dataDir, store === 'identity' ? IDENTITY_DB : CONFIG_DB)
    return [`${store}-store`, () => {
      for (const path of [file, dirname(file)]) {
        try {
          accessSync(path, constants.W_OK)
        } catch (error) {
          return {ok: false, message: `${path} is not writable (${(error as NodeJS.ErrnoException).code})`}
        }
      }
      const problem = sqlite.writeLockProblem(store)
      return problem ? {ok: false, message: `${file} ${problem}`} : {ok: true}
    }]
  })
}

/** A listener is ready while it accepts connections. */
export function listening(server: {listening: boolean}, what: string): Check {
  return () => (server.listening ? {ok: true} : {ok: false, message: `the ${what} listener is not accepting connections`})
}

/**
 * How far the edge is behind the store's configuration: the time since a probe first saw the
 * store ahead of the newest version the edge was told about. It is measured when looked at
 * (`sample()` before a scrape or in a probe), so its resolution is the probe interval.
 */
export class FeedLag {
  private behindSince?: number
  private store = 0

  constructor(private readonly storeVersion: () => Promise<number>, private readonly edgeVersion: () => number, private readonly now: () => number = Date.now) {}

  /** Reads the store's version and updates the lag. */
  async sample(): Promise<void> {
    this.store = await this.storeVersion()
    if (this.store <= this.edgeVersion()) this.behindSince = undefined
    else this.behindSince ??= this.now()
  }

  /** The store's version at the last sample. */
  get storeVersionSeen(): number {
    return this.store
  }

  /** Seconds behind at the last sample (0 when current). */
  seconds(): number {
    return this.behindSince === undefined ? 0 : (this.now() - this.behindSince) / 1000
  }

  /** Current, or behind for less than `graceMs` (a change on its way). */
  check(graceMs: number): Check {
    return async () => {
      try {
        await this.sample()
      } catch (error) {
        // the store check reports an unreachable store; the feed cannot be compared meanwhile
        return {ok: true, message: `not compared: the store cannot be read (${(error as Error).message})`}
      }
      const lag = this.seconds()
      if (this.behindSince === undefined || lag * 1000 < graceMs) return {ok: true}
      return {ok: false, message: `the edge was told of configuration version ${this.edgeVersion()} while the store has ${this.store} (behind for ${lag.toFixed(1)} s)`}
    }
  }
}
