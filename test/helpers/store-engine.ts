import {spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import type {ExecutionContext} from 'ava'
import Database from 'better-sqlite3'
import pg from 'pg'
import {clientConfig} from '../../platform/store/engines/postgres.js'
import {startPostgres, type TestPostgres} from './postgres.js'

/**
 * The store engine this test run uses: SQLite files by default; `MEZU_TEST_STORE=postgres` runs the
 * same tests on PostgreSQL (one throwaway cluster per test worker, one database per platform).
 */
export const TEST_STORE = process.env.MEZU_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'

let shared: Promise<TestPostgres> | undefined

/** This worker's cluster, started on first use and stopped when the worker exits. */
export function sharedPostgres(): Promise<TestPostgres> {
  shared ??= startPostgres().then((pg) => {
    process.once('exit', () => {
      // exit handlers must be synchronous: stop the cluster with pg_ctl directly
      const args = ['-D', pg.dataDir, '-m', 'immediate', '-w', 'stop']
      if (process.getuid?.() === 0) spawnSync('runuser', ['-u', 'postgres', '--', pg.pgCtl, ...args])
      else spawnSync(pg.pgCtl, args)
      rmSync(pg.root, {recursive: true, force: true})
    })
    return pg
  })
  return shared
}

/** A fresh store location for one platform: a new PostgreSQL database, or undefined (SQLite in the data dir). */
export async function testStoreLocation(): Promise<{url: string} | undefined> {
  if (TEST_STORE !== 'postgres') return undefined
  return {url: await (await sharedPostgres()).createDatabase()}
}

/**
 * A connection of its own to a running platform's stores, which sees only committed data (a
 * read-only SQLite connection, or a PostgreSQL client): what it reads proves a commit happened.
 */
export async function committedReader(t: ExecutionContext, platform: {dataDir: string; config: {store: {url?: string}}}): Promise<{configVersion(): Promise<number>; rowsWithId(table: string, id: string): Promise<number>}> {
  const url = platform.config.store.url
  if (url) {
    const client = new pg.Client(clientConfig(url))
    await client.connect()
    t.teardown(() => client.end())
    return {
      configVersion: async () => Number((await client.query(`SELECT value FROM meta WHERE key = 'config_version'`)).rows[0].value),
      rowsWithId: async (table, id) => Number((await client.query(`SELECT count(*) AS n FROM ${table} WHERE id = $1`, [id])).rows[0].n),
    }
  }
  const config = new Database(join(platform.dataDir, 'config.db'), {readonly: true})
  t.teardown(() => config.close())
  return {
    configVersion: async () => (config.prepare(`SELECT value FROM meta WHERE key = 'config_version'`).get() as {value: number}).value,
    rowsWithId: async (table, id) => (config.prepare(`SELECT count(*) AS n FROM ${table} WHERE id = ?`).get(id) as {n: number}).n,
  }
}
