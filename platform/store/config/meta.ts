import {sql} from 'kysely'
import type {StoreCtx} from '../db.js'

/** The configuration version the edge follows; bumped in the same transaction as the change. */
export async function bumpConfigVersion(c: StoreCtx): Promise<number> {
  const r = await c.db.updateTable('meta').set({value: sql`value + 1`}).where('key', '=', 'config_version').returning('value').executeTakeFirstOrThrow()
  return r.value
}

export async function configVersion(c: StoreCtx): Promise<number> {
  return (await c.db.selectFrom('meta').select('value').where('key', '=', 'config_version').executeTakeFirstOrThrow()).value
}

/** The channel that carries committed changes to the other control planes on one PostgreSQL. */
export const CHANGE_CHANNEL = 'mezu_changes'

/**
 * Records a configuration change inside the current transaction: bumps the version and, on
 * PostgreSQL, queues a notification (ids only, far below NOTIFY's 8 kB) that PostgreSQL delivers
 * to every listener at commit, in commit order, and never for a transaction that rolled back.
 */
export async function recordChange(c: StoreCtx, change: {kind: string; id: string | null; action: string}, origin: string): Promise<number> {
  const version = await bumpConfigVersion(c)
  if (c.handle.engine === 'postgres') await sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify({...change, version, origin})})`.execute(c.db)
  return version
}
