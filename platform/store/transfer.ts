import {FieldCipher} from './crypto.js'
import {openPostgresEngine, redactUrl} from './engines/postgres.js'
import {openSqliteEngine} from './engines/sqlite.js'
import {loadMasterKeys} from './master-key.js'
import type {Executor, Schema} from './schema.js'
import {openKeyring, keyringRowsSqlite, type StoreLocation} from './stores.js'

/** The target database already holds data; nothing was copied. */
export class TargetNotEmptyError extends Error {
  override name = 'TargetNotEmptyError'
}

/**
 * Tables in an order that satisfies every foreign key (parents first); `meta` is not copied row by
 * row: the target's version counter is set to the source's. Directories reference each other and
 * are copied parents first. Sign-in callback codes are not copied: they last a minute and the
 * source is stopped, so none of them can be redeemed any more.
 */
const COPY_ORDER = [
  'keyring', 'users', 'directories', 'memberships', 'project_members', 'service_accounts', 'api_keys', 'sessions', 'login_history', 'invites', 'user_keys',
  'ca', 'signing_keys', 'projects', 'environments', 'policies', 'routes', 'warpgates', 'audit', 'acme_accounts', 'acme_certificates', 'edges',
] as const satisfies ReadonlyArray<keyof Schema>

type Table = (typeof COPY_ORDER)[number]
const BATCH = 200

export interface TransferReport {
  from: string
  to: string
  tables: Record<string, number>
  configVersion: number
}

async function rowsOf(db: Executor, table: Table): Promise<Array<Record<string, unknown>>> {
  const rows = (await db.selectFrom(table).selectAll().execute()) as Array<Record<string, unknown>>
  return table === 'directories' ? parentsFirst(rows) : rows
}

function parentsFirst(rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const byId = new Map(rows.map((r) => [r.id as string, r]))
  const out: Array<Record<string, unknown>> = []
  const placed = new Set<string>()
  const place = (r: Record<string, unknown>, depth: number) => {
    if (placed.has(r.id as string) || depth > 64) return
    const parent = r.parent_id ? byId.get(r.parent_id as string) : undefined
    if (parent) place(parent, depth + 1)
    placed.add(r.id as string)
    out.push(r)
  }
  for (const r of rows) place(r, 0)
  return out
}

/**
 * `mezu platform migrate`: copies a stopped SQLite platform into an empty PostgreSQL database. Rows
 * are copied as stored (sealed with the same master key, which never enters the database), in one
 * target transaction, then counted on both sides; a non-empty target is refused before anything
 * is written, and a failed copy leaves the target as it was.
 */
export async function migrateSqliteToPostgres(dataDir: string, to: StoreLocation & {url: string}, masterKey?: string): Promise<TransferReport> {
  // The master key must open the source: the migrated platform will need the same key.
  const keys = loadMasterKeys(dataDir, masterKey)
  const cipher = await FieldCipher.create(keys.keys, keys.current.version)
  const source = openSqliteEngine(dataDir, {create: false, beforeMigrate: (identity) => {
    if (!openKeyring(keyringRowsSqlite(identity), cipher)) throw new Error(`${dataDir} has no keyring; it is not an initialised platform`)
  }})
  try {
    const target = await openPostgresEngine(to.url, {passwordFile: to.passwordFile})
    try {
      for (const table of COPY_ORDER) {
        const any = await target.root.selectFrom(table).select(({fn}) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
        if (Number(any.n) > 0) throw new TargetNotEmptyError(`the target database already holds ${table} rows; migrate only into an empty database (nothing was copied)`)
      }
      const tables: Record<string, number> = {}
      let configVersion = 0
      // one read transaction on the source, so the copy is one consistent state
      await source.root.transaction().execute(async (src) => {
        await target.root.transaction().execute(async (dst) => {
          for (const table of COPY_ORDER) {
            const rows = await rowsOf(src, table)
            for (let i = 0; i < rows.length; i += BATCH) await dst.insertInto(table).values(rows.slice(i, i + BATCH) as never).execute()
            tables[table] = rows.length
          }
          configVersion = (await src.selectFrom('meta').select('value').where('key', '=', 'config_version').executeTakeFirstOrThrow()).value
          await dst.updateTable('meta').set({value: configVersion}).where('key', '=', 'config_version').execute()
        })
      })
      for (const table of COPY_ORDER) {
        const n = Number((await target.root.selectFrom(table).select(({fn}) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
        if (n !== tables[table]) throw new Error(`verification failed: ${table} has ${tables[table]} rows in ${dataDir} but ${n} in the target`)
      }
      return {from: dataDir, to: redactUrl(to.url), tables, configVersion}
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
}
