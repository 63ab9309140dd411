import {join} from 'node:path'
import Database from 'better-sqlite3'
import test from 'ava'
import {CONFIG_DB, IDENTITY_DB} from '../../platform/store/stores.js'
import {api} from '../helpers/api.js'
import {startTestPlatform} from '../helpers/platform.js'
import {httpGet} from '../helpers/prometheus.js'

test('/readyz answers 200 when every check passes and 503 naming the store another connection holds the write lock of; /healthz stays 200', async (t) => {
  const platform = await startTestPlatform(t, {metricsAddr: '127.0.0.1:0'})
  const readyz = platform.metricsUrl!.replace('/metrics', '/readyz')
  const both = async () => {
    const fromApi = await api(platform.apiUrl, platform.caPem, 'GET', '/readyz')
    const fromMetrics = await httpGet(readyz)
    t.is(fromApi.status, fromMetrics.status)
    return {status: fromApi.status, body: fromApi.body as {ready: boolean; failing: string[]; checks: Record<string, {ok: boolean; message?: string}>}, metrics: JSON.parse(fromMetrics.text)}
  }
  const healthy = await both()
  t.is(healthy.status, 200)
  t.deepEqual(healthy.body.failing, [])
  t.deepEqual(Object.keys(healthy.body.checks).sort(), ['config-feed', 'config-store', 'edge', 'identity-store', 'tunnel'])

  for (const [file, check] of [[CONFIG_DB, 'config-store'], [IDENTITY_DB, 'identity-store']] as const) {
    // What makes a store unwritable for a process that already has it open: another writer
    // holding the lock (chmod does not stop root, and an open descriptor outlives it anyway).
    const other = new Database(join(platform.dataDir, file))
    t.teardown(() => other.close())
    other.exec('BEGIN EXCLUSIVE')
    const locked = await both()
    t.is(locked.status, 503)
    t.deepEqual(locked.body.failing, [check])
    t.deepEqual(locked.metrics.failing, [check])
    t.false(locked.body.checks[check].ok)
    t.regex(locked.body.checks[check].message ?? '', new RegExp(`${file.replace('.', '\\.')} cannot be written: database is locked`))
    t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/healthz')).status, 200, 'alive all the same')
    t.is((await httpGet(platform.metricsUrl!.replace('/metrics', '/healthz'))).status, 200)
    other.exec('ROLLBACK')
    other.close()
    t.is((await both()).status, 200, `ready again once ${file} is released`)
  }
})

test('/readyz names a store whose file is made read-only (as a user other than root, whom chmod does not stop)', async (t) => {
  if (process.getuid?.() === 0) {
    t.log('running as root: access(2) ignores the mode bits, so only the lock test above applies here')
    t.pass()
    return
  }
  const {chmodSync} = await import('node:fs')
  const platform = await startTestPlatform(t)
  const file = join(platform.dataDir, CONFIG_DB)
  chmodSync(file, 0o444)
  t.teardown(() => chmodSync(file, 0o644))
  const r = await api(platform.apiUrl, platform.caPem, 'GET', '/readyz')
  t.is(r.status, 503)
  t.deepEqual(r.body.failing, ['config-store'])
  t.regex(r.body.checks['config-store'].message, /config\.db is not writable \(EACCES\)/)
})
