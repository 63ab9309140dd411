import {AsyncLocalStorage} from 'node:async_hooks'
import {type Kysely, sql} from 'kysely'
import {type FieldCipher, type KeyedHasher, UserCipherCache} from './crypto.js'
import type {Engine} from './migrate.js'
import type {Executor, Schema} from './schema.js'

export type {Executor} from './schema.js'

/** Work queued for after the transaction commits (change-feed events); awaited in order. */
export type OnCommit = (cb: () => void | Promise<void>) => void

interface Frame {
  trx: Executor
  after: Array<() => void | Promise<void>>
}

/**
 * The query handle of one store engine. Inside `tx()` every query made through `db` (from any
 * store function, however deep) runs in that transaction: the current transaction travels with
 * the async call chain, so no caller can reach past it by passing the wrong handle (on SQLite's
 * single connection that would deadlock; on PostgreSQL it would write outside the transaction).
 */
export class StoreHandle {
  private readonly current = new AsyncLocalStorage<Frame>()
  /** outermost transactions running now; the storage is switched off when none is */
  private open = 0

  constructor(readonly engine: Engine, private readonly root: Kysely<Schema>) {}

  /** The transaction this call chain is in, or the root handle. */
  get db(): Executor {
    return this.current.getStore()?.trx ?? this.root
  }

  get inTransaction(): boolean {
    return this.current.getStore() !== undefined
  }

  /**
   * Runs cb once the current transaction commits (at once, outside one); dropped if it rolls back.
   * For in-memory state that must never get ahead of the store (the user key cache).
   */
  afterCommit(cb: () => void): void {
    const frame = this.current.getStore()
    if (frame) frame.after.push(cb)
    else cb()
  }

  /**
   * Runs fn in one transaction (joining the enclosing one, if any) and, only after the outermost
   * commits, the callbacks queued with onCommit: a change-feed event must never announce a write
   * that rolled back. On PostgreSQL every writer takes one advisory lock first, so transactions
   * from several control planes run one at a time and a read-modify-write never loses an update.
   */
  async tx<T>(fn: (onCommit: OnCommit) => Promise<T>): Promise<T> {
    const outer = this.current.getStore()
    if (outer) return fn((cb) => outer.after.push(cb))
    const after: Frame['after'] = []
    let result: T
    this.open++
    try {
      result = await this.root.transaction().execute(async (trx) => {
        if (this.engine === 'postgres') await sql`SELECT pg_advisory_xact_lock(hashtext('mezu-write'))`.execute(trx)
        return this.current.run({trx, after}, () => fn((cb) => after.push(cb)))
      })
    } finally {
      // On Node 20 an enabled AsyncLocalStorage hooks every promise of the process, the edge's
      // forwarding included (~1.4 % of its CPU in a profile): keep it enabled only while a
      // transaction runs. Nothing can be inside one when none is open.
      if (--this.open === 0) this.current.disable()
    }
    for (const cb of after) await cb()
    return result
  }
}

/** What every store function takes: the handle (whose `db` follows the current transaction) and the keys. */
export interface StoreCtx {
  readonly db: Executor
  readonly handle: StoreHandle
  readonly cipher: FieldCipher
  readonly hasher: KeyedHasher
  /** Unwrapped per-user data keys (identity/user-keys.ts), shared by everything that uses this handle. */
  readonly userCiphers: UserCipherCache
}

export function storeCtx(handle: StoreHandle, cipher: FieldCipher, hasher: KeyedHasher, userCiphers = new UserCipherCache()): StoreCtx {
  return {
    get db() {
      return handle.db
    },
    handle,
    cipher,
    hasher,
    userCiphers,
  }
}

/** Runs fn in a transaction of c's store; see StoreHandle.tx. */
export function transaction<T>(c: StoreCtx, fn: (onCommit: OnCommit) => Promise<T>): Promise<T> {
  return c.handle.tx(fn)
}

/** Rows touched by an INSERT, UPDATE or DELETE, as a number, on either engine. */
export function changed(result: {numUpdatedRows?: bigint; numDeletedRows?: bigint; numInsertedOrUpdatedRows?: bigint} | undefined): number {
  return Number(result?.numUpdatedRows ?? result?.numDeletedRows ?? result?.numInsertedOrUpdatedRows ?? 0n)
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03', 'SQLITE_BUSY'])

/**
 * Is this error the store being out of reach (PostgreSQL down or restarting, a connection cut,
 * SQLite locked past its busy timeout) rather than a bad query? The API answers such errors 503.
 */
export function storeUnavailable(error: unknown): boolean {
  const e = error as {code?: unknown; message?: unknown} | null
  if (!e || typeof e !== 'object') return false
  const code = typeof e.code === 'string' ? e.code : ''
  if (CONNECTION_CODES.has(code) || code.startsWith('08')) return true
  const message = typeof e.message === 'string' ? e.message : ''
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is insecure|the database system is (starting up|shutting down)/i.test(message)
}

/** Did a write break a unique constraint (a name taken by a concurrent writer)? Both engines. */
export function uniqueViolation(error: unknown): boolean {
  const code = (error as {code?: unknown} | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
