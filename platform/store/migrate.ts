import type Database from 'better-sqlite3'
import type pg from 'pg'

/**
 * One schema step, written once in portable SQL: SQLite's spelling, which `portableSql` turns
 * into PostgreSQL's (BLOB → BYTEA, INTEGER → BIGINT for millisecond timestamps, ifnull → coalesce).
 * Never edit one that has shipped; add the next.
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

export type Engine = 'sqlite' | 'postgres'

export class SchemaError extends Error {
  override name = 'SchemaError'
}

export function portableSql(sql: string, engine: Engine): string {
  if (engine === 'sqlite') return sql
  return sql.replace(/\bBLOB\b/g, 'BYTEA').replace(/\bINTEGER\b/g, 'BIGINT').replace(/\bifnull\(/g, 'coalesce(')
}

function checkNumbering(migrations: readonly Migration[], label: string): void {
  for (const [i, m] of migrations.entries()) {
    if (m.version !== i + 1) throw new SchemaError(`${label} migration ${m.name} is numbered ${m.version}, expected ${i + 1}`)
  }
}

export function refuseNewer(current: number, latest: number, label: string): void {
  if (current > latest) throw new SchemaError(`${label} has schema version ${current}, newer than this mezu understands (${latest}); upgrade mezu`)
}

/** SQLite: the version is PRAGMA user_version of the store's own file; one IMMEDIATE transaction per step. */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[], label: string): number {
  checkNumbering(migrations, label)
  const current = sqliteSchemaVersion(db)
  refuseNewer(current, migrations.length, label)
  for (const m of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(m.sql)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  return migrations.length
}

export function sqliteSchemaVersion(db: Database.Database, schema = 'main'): number {
  return db.pragma(`${schema}.user_version`, {simple: true}) as number
}

/**
 * PostgreSQL: each store is a schema with a one-row `schema_version` table. Steps run in one
 * transaction under an advisory lock, so two control planes starting together migrate once.
 */
export async function migratePostgres(client: pg.PoolClient, schema: string, migrations: readonly Migration[], label: string): Promise<number> {
  checkNumbering(migrations, label)
  await client.query('BEGIN')
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('mezu-migrate'))`)
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_version (version INTEGER NOT NULL)`)
    const {rows} = await client.query<{version: number}>(`SELECT version FROM ${schema}.schema_version`)
    if (rows.length === 0) await client.query(`INSERT INTO ${schema}.schema_version (version) VALUES (0)`)
    const current = rows[0]?.version ?? 0
    refuseNewer(current, migrations.length, label)
    await client.query(`SET LOCAL search_path TO ${schema}`)
    for (const m of migrations.slice(current)) await client.query(portableSql(m.sql, 'postgres'))
    await client.query(`UPDATE ${schema}.schema_version SET version = $1`, [migrations.length])
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
  return migrations.length
}
