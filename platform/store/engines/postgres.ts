import {readFileSync} from 'node:fs'
import {Kysely, PostgresDialect} from 'kysely'
import pg from 'pg'
import {migratePostgres} from '../migrate.js'
import {configMigrations} from '../migrations/config/index.js'
import {identityMigrations} from '../migrations/identity/index.js'
import type {Schema} from '../schema.js'

export const IDENTITY_SCHEMA = 'identity'
export const CONFIG_SCHEMA = 'config'

const INT8 = 20
const NUMERIC = 1700

// Timestamps are BIGINT milliseconds, far below 2^53; pg returns int8 as a string unless told.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v)
    return pg.types.getTypeParser(oid, format as 'text')
  },
} as pg.CustomTypesConfig

export interface PostgresEngine {
  root: Kysely<Schema>
  pool: pg.Pool
  /** A new client outside the pool (the change-feed listener holds one of its own). */
  connect(): Promise<pg.Client>
  schemaVersions(): Promise<{identity: number; config: number}>
  /** One round trip on the pool (readiness). */
  ping(): Promise<void>
  close(): Promise<void>
}

/** The URL with its password hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://…'
  }
}

/** Reads a store URL and an optional password file into pg's client config; bad input is named. */
export function clientConfig(url: string, passwordFile?: string): pg.ClientConfig {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new Error(`the store URL is not a URL (expected postgres://USER@HOST:PORT/DATABASE)`)
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error(`the store URL must start with postgres:// (got ${u.protocol}//)`)
  let password: string | undefined
  if (passwordFile) {
    try {
      password = readFileSync(passwordFile, 'utf8').trim()
    } catch (error) {
      throw new Error(`cannot read the store password file ${passwordFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
    if (!password) throw new Error(`the store password file ${passwordFile} is empty`)
  }
  return {
    connectionString: url,
    ...(password !== undefined ? {password} : {}),
    options: `-c search_path=${IDENTITY_SCHEMA},${CONFIG_SCHEMA}`,
    types,
    application_name: 'mezu',
    connectionTimeoutMillis: 5_000,
  }
}

/**
 * Opens the PostgreSQL engine: both stores are schemas of one database, so one transaction covers
 * a change to both. Migrations run before the pool serves anything; `beforeMigrate` sees a client
 * first (the master-key check must refuse a foreign database before anything is written).
 */
export async function openPostgresEngine(url: string, opts: {passwordFile?: string; beforeMigrate?: (client: pg.PoolClient) => Promise<void>} = {}): Promise<PostgresEngine> {
  const config = clientConfig(url, opts.passwordFile)
  const pool = new pg.Pool({...config, max: 10, idleTimeoutMillis: 30_000})
  // A client losing its server must not crash the process: an idle one is reported to the pool,
  // one in use (a query or transaction running) emits 'error' on itself, where nothing else
  // listens; the query in flight rejects on its own and the API answers 503.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  try {
    const client = await pool.connect()
    try {
      await opts.beforeMigrate?.(client)
      await migratePostgres(client, IDENTITY_SCHEMA, identityMigrations, `${IDENTITY_SCHEMA} schema`)
      await migratePostgres(client, CONFIG_SCHEMA, configMigrations, `${CONFIG_SCHEMA} schema`)
    } finally {
      client.release()
    }
  } catch (error) {
    await pool.end().catch(() => {})
    const e = error as Error & {code?: string}
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') throw new Error(`cannot reach PostgreSQL at ${redactUrl(url)} (${e.message})`)
    throw error
  }
  const root = new Kysely<Schema>({dialect: new PostgresDialect({pool})})
  return {
    root,
    pool,
    async connect() {
      const c = new pg.Client(config)
      c.on('error', () => {})
      await c.connect()
      return c
    },
    async schemaVersions() {
      const v = async (s: string) => (await pool.query<{version: number}>(`SELECT version FROM ${s}.schema_version`)).rows[0]?.version ?? 0
      return {identity: await v(IDENTITY_SCHEMA), config: await v(CONFIG_SCHEMA)}
    },
    async ping() {
      await pool.query('SELECT 1')
    },
    async close() {
      await root.destroy()
    },
  }
}
