import {spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
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
