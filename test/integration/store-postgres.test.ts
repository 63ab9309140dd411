import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import test from 'ava'
import {announce} from '../../platform/control/context.js'
import {ChangeFeed, type ChangeEvent} from '../../platform/control/feed.js'
import {PostgresFeedListener} from '../../platform/control/pg-feed.js'
import {configVersion} from '../../platform/store/config/meta.js'
import {transaction} from '../../platform/store/db.js'
import {openStores, type Stores} from '../../platform/store/stores.js'
import {api, loginToken} from '../helpers/api.js'
import {mezu} from '../helpers/cli.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'
import {startPlatformProcess} from '../helpers/platform-process.js'
import {startOrigin} from '../helpers/origin.js'
import {startPostgres, type TestPostgres} from '../helpers/postgres.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, startWarpgate} from '../helpers/tunnel.js'
import pino from 'pino'

// PostgreSQL-only promises of issue 11: several control planes on one database, crash safety,
// outages, and the cross-process change feed. One throwaway cluster for the file.

let pg: TestPostgres
test.before(async () => {
  pg = await startPostgres()
})
test.after.always(async () => {
  await pg?.close()
})

const masterKey = () => `v1:${randomBytes(32).toString('base64')}`
const silent = pino({level: 'silent'})

async function startOnPostgres(t: Parameters<typeof startPlatformProcess>[0], url: string, key: string) {
  const dir = tempDir(t)
  const p = await startPlatformProcess(t, join(dir, 'data'), undefined, {args: ['--store', url], env: {MEZU_MASTER_KEY: key}})
  const token = await loginToken(p.summary.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = (method: string, path: string, body?: unknown) => api(p.summary.apiUrl, p.caPem, method, path, {token, body})
  return {p, call, dir}
}

test.serial('two control-plane processes on one PostgreSQL: concurrent writers lose nothing and unique names hold', async (t) => {
  const url = await pg.createDatabase()
  const key = masterKey()
  const a = await startOnPostgres(t, url, key)
  const b = await startOnPostgres(t, url, key)
  t.not(a.p.summary.apiUrl, b.p.summary.apiUrl)

  // distinct names from both sides at once: every one lands
  const distinct = await Promise.all(Array.from({length: 24}, (_, i) => (i % 2 ? a : b).call('POST', '/v1/projects', {name: `proj-${i}`})))
  t.deepEqual(distinct.map((r) => r.status), Array(24).fill(201))
  // the same name from both sides at once: exactly one wins, the other is a conflict
  for (let i = 0; i < 8; i++) {
    const [ra, rb] = await Promise.all([a.call('POST', '/v1/projects', {name: `same-${i}`}), b.call('POST', '/v1/projects', {name: `same-${i}`})])
    t.deepEqual([ra.status, rb.status].sort(), [201, 409], `same-${i}: ${ra.text} / ${rb.text}`)
  }
  // read-modify-write on one row from both sides: environments added concurrently to one project all stay
  const envs = await Promise.all(Array.from({length: 16}, (_, i) => (i % 2 ? a : b).call('POST', '/v1/projects/proj-0/environments', {name: `env-${i}`})))
  t.deepEqual(envs.map((r) => r.status), Array(16).fill(201))

  // two projects claiming one new hostname through different processes: one wins, the host has one owner
  t.is((await a.call('POST', '/v1/projects/proj-1/environments', {name: 'prod'})).status, 201)
  t.is((await b.call('POST', '/v1/projects/proj-2/environments', {name: 'prod'})).status, 201)
  for (let round = 0; round < 6; round++) {
    const [ra, rb] = await Promise.all([
      a.call('POST', '/v1/routes', {project: 'proj-1', hostname: `contested-${round}`, path: '/a', service: 'web'}),
      b.call('POST', '/v1/routes', {project: 'proj-2', hostname: `contested-${round}`, path: '/b', service: 'web'}),
    ])
    t.deepEqual([ra.status, rb.status].sort(), [201, 409], `${ra.text} / ${rb.text}`)
  }

  for (const side of [a, b]) {
    const list = await side.call('GET', '/v1/projects?limit=100')
    t.is(list.status, 200)
    t.is(list.body.items.length, 24 + 8, 'both processes see every project')
    const e = await side.call('GET', '/v1/projects/proj-0/environments?limit=100')
    t.is(e.body.items.filter((x: {name: string}) => x.name.startsWith('env-')).length, 16)
  }
  // local commands know where this data directory's stores are
  const status = await mezu(['platform', 'status', '--data-dir', join(a.dir, 'data'), '--json'])
  t.true(status.json().initialized, status.stdout)
  const backup = await mezu(['platform', 'backup', '--data-dir', join(a.dir, 'data'), '--output', join(a.dir, 'x.mezubak'), '--json'], {env: {MEZU_MASTER_KEY: key}})
  t.is(backup.code, 1)
  t.regex(JSON.parse(backup.stderr).error.message, /are in PostgreSQL \(postgres:\/\/mezu@127\.0\.0\.1:\d+\/\w+\); back them up with pg_dump/)
  const audit = await a.call('GET', '/v1/audit?limit=100&action=project.create')
  t.is(audit.status, 200, audit.text)
  t.is(audit.body.items.filter((x: {action: string}) => x.action === 'project.create').length, 32, 'one audit entry per project created, none for the refused')
})

test.serial('SIGKILL of the platform during writes: every acknowledged write is there after a restart', async (t) => {
  const url = await pg.createDatabase()
  const key = masterKey()
  const first = await startOnPostgres(t, url, key)
  const acknowledged: string[] = []
  let stop = false
  const writers = Array.from({length: 3}, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const name = `w${w}-${i}`
      try {
        const r = await first.call('POST', '/v1/projects', {name})
        if (r.status === 201) acknowledged.push(name)
      } catch {
        return // the connection died with the process
      }
    }
  })
  while (acknowledged.length < 30) await new Promise((r) => setTimeout(r, 20))
  await first.p.kill('SIGKILL')
  stop = true
  await Promise.all(writers)
  const second = await startOnPostgres(t, url, key)
  const names = new Set<string>()
  for (let cursor: string | null = null, first = true; first || cursor; first = false) {
    const r = await second.call('GET', `/v1/projects?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
    t.is(r.status, 200)
    for (const p of r.body.items) names.add(p.name)
    cursor = r.body.nextCursor
  }
  const lost = acknowledged.filter((n) => !names.has(n))
  t.deepEqual(lost, [], `${acknowledged.length} acknowledged writes`)
})

test.serial('PostgreSQL restarted under load: the API answers 503 store_unavailable, then recovers without a platform restart', async (t) => {
  const url = await pg.createDatabase()
  const {p, call} = await startOnPostgres(t, url, masterKey())
  t.is((await call('POST', '/v1/projects', {name: 'before'})).status, 201)
  // a steady load of reads and writes across the outage: every answer is a success or a 503, never a 500 or a hang
  const statuses = new Map<string, number>()
  const created: string[] = []
  let stop = false
  const load = Array.from({length: 3}, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const write = i % 2 === 0
      const name = `load-${w}-${i}`
      const r = write ? await call('POST', '/v1/projects', {name}) : await call('GET', '/v1/projects?limit=5')
      const key = `${r.status} ${r.body?.error?.code ?? ''}`.trim()
      statuses.set(key, (statuses.get(key) ?? 0) + 1)
      if (write && r.status === 201) created.push(name)
      if (r.status === 503) await new Promise((res) => setTimeout(res, 50))
    }
  })
  await new Promise((r) => setTimeout(r, 300))
  await pg.stop()
  try {
    const down = await call('GET', '/v1/projects')
    t.is(down.status, 503, down.text)
    t.is(down.body.error.code, 'store_unavailable')
    t.is(down.headers['retry-after'], '2')
    const ready = await api(p.summary.apiUrl, p.caPem, 'GET', '/readyz')
    t.is(ready.status, 503)
    t.deepEqual(ready.body.failing, ['store'])
    await new Promise((r) => setTimeout(r, 500))
  } finally {
    await pg.start()
  }
  let after = await call('POST', '/v1/projects', {name: 'after'})
  for (let i = 0; i < 50 && after.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 200))
    after = await call('POST', '/v1/projects', {name: 'after'})
  }
  t.is(after.status, 201, after.text)
  await new Promise((r) => setTimeout(r, 300))
  stop = true
  await Promise.all(load)
  const kinds = [...statuses.keys()].sort()
  t.true(kinds.every((k) => ['200', '201', '503 store_unavailable'].includes(k)), JSON.stringify(Object.fromEntries(statuses)))
  t.true((statuses.get('503 store_unavailable') ?? 0) > 0, 'the load met the outage')
  t.true((statuses.get('201') ?? 0) > 0)
  // no acknowledged write is lost
  const names = new Set<string>()
  for (let cursor: string | null = null, first = true; first || cursor; first = false) {
    const r = await call('GET', `/v1/projects?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
    for (const x of r.body.items) names.add(x.name)
    cursor = r.body.nextCursor
  }
  t.deepEqual(created.filter((n) => !names.has(n)), [])
  t.true(names.has('before') && names.has('after'))
  t.is((await api(p.summary.apiUrl, p.caPem, 'GET', '/readyz')).status, 200)
  t.is(p.child.exitCode, null, 'the platform kept running')
})

async function openOnPostgres(t: Parameters<typeof tempDir>[0], url: string, key: string): Promise<Stores> {
  const s = await openStores(tempDir(t), {masterKey: key, create: true, store: {url}})
  t.teardown(() => s.close())
  return s
}

/** Two control planes' stores on one new database; B listens for A's changes and records what its feed gets. */
async function twoControlPlanes(t: Parameters<typeof tempDir>[0]): Promise<{a: Stores; seen: ChangeEvent[]}> {
  const url = await pg.createDatabase()
  const key = masterKey()
  const a = await openOnPostgres(t, url, key)
  const b = await openOnPostgres(t, url, key)
  const feedB = new ChangeFeed()
  const listener = new PostgresFeedListener(b.postgres!, feedB, () => configVersion(b.ctx), await configVersion(b.ctx), silent)
  await listener.start()
  t.teardown(() => listener.close())
  const seen: ChangeEvent[] = []
  feedB.subscribe((e) => {
    seen.push(e)
  })
  return {a, seen}
}

test.serial('the cross-process change feed delivers every committed change once, in order, and nothing that rolled back', async (t) => {
  const {a, seen} = await twoControlPlanes(t)
  const feedA = new ChangeFeed()
  const ctxA = {cdb: a.ctx, feed: feedA}
  const committed: number[] = []
  for (let i = 0; i < 40; i++) {
    if (i % 8 === 3) {
      // a change that fails after announcing: rolled back, never delivered
      await t.throwsAsync(transaction(a.ctx, async (onCommit) => {
        await announce(ctxA, onCommit, {kind: 'route', id: `rolled-${i}`, action: 'created'})
        throw new Error('validation failed after the write')
      }), {message: 'validation failed after the write'})
      continue
    }
    const e = await transaction(a.ctx, (onCommit) => announce(ctxA, onCommit, {kind: 'route', id: `r-${i}`, action: 'created'}))
    committed.push(e.version)
  }
  for (let i = 0; i < 100 && seen.length < committed.length; i++) await new Promise((r) => setTimeout(r, 50))
  t.deepEqual(seen.map((e) => e.version), committed, 'each committed version once, in commit order')
  t.false(seen.some((e) => e.id?.startsWith('rolled-')))
  t.true(seen.every((e) => e.kind === 'route'))
  t.deepEqual(committed, committed.map((_, i) => committed[0]! + i), 'versions are consecutive: the rolled-back bumps left no gap')
})

test.serial('a listener that lost its connection resyncs: changes made meanwhile reach the feed as one resync', async (t) => {
  const {a, seen} = await twoControlPlanes(t)
  const ctxA = {cdb: a.ctx, feed: new ChangeFeed()}
  // cut every connection of the listener's database role from the server side
  await pg.stopImmediate()
  await pg.start()
  // writes land while the listener is still reconnecting (its backoff starts at 100 ms)
  let last = 0
  for (let i = 0; i < 5; i++) {
    for (let attempt = 0; ; attempt++) {
      try {
        last = (await transaction(a.ctx, (onCommit) => announce(ctxA, onCommit, {kind: 'policy', id: `p-${i}`, action: 'updated'}))).version
        break
      } catch (error) {
        if (attempt > 50) throw error
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
  for (let i = 0; i < 100 && !seen.some((e) => e.version >= last); i++) await new Promise((r) => setTimeout(r, 50))
  t.true(seen.some((e) => e.version >= last), `the feed caught up to version ${last}: ${JSON.stringify(seen)}`)
  const versions = seen.map((e) => e.version)
  t.deepEqual(versions, [...versions].sort((x, y) => x - y), 'never backwards')
  t.is(new Set(versions).size, versions.length, 'no version twice')
})

test.serial('rotate-key on PostgreSQL re-wraps the sealed keys and fields; the platform starts with the new key and reads everything', async (t) => {
  const url = await pg.createDatabase()
  const dir = tempDir(t)
  const p = await startTestPlatform(t, {store: {url}}, dir)
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.is((await api(p.apiUrl, p.caPem, 'POST', '/v1/projects', {token: owner, body: {name: 'kept'}})).status, 201)
  await p.stop()
  const r = await mezu(['platform', 'rotate-key', '--data-dir', p.dataDir, '--store', url, '--json'])
  t.is(r.code, 0, r.stderr)
  t.is(r.json().version, 2)
  t.true(r.json().resealed > 0)
  const again = await startTestPlatform(t, {store: {url}}, dir)
  const token = await loginToken(again.apiUrl, again.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const projects = await api(again.apiUrl, again.caPem, 'GET', '/v1/projects', {token})
  t.deepEqual(projects.body.items.map((x: {name: string}) => x.name), ['kept'])
})

test.serial('while PostgreSQL is down the edge keeps serving its last snapshot', async (t) => {
  const url = await pg.createDatabase()
  const platform = await startTestPlatform(t, {store: {url}})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'steady.mezu.localhost', service: 'steady'})
  await startWarpgate(t, platform, scope, 'steady', origin.url)
  t.is((await edgeRequest(platform, 'steady.mezu.localhost', '/hello')).status, 200)
  await pg.stop()
  try {
    t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/readyz')).status, 503, 'not ready: the store is away')
    for (let i = 0; i < 20; i++) {
      const r = await edgeRequest(platform, 'steady.mezu.localhost', '/hello')
      t.is(r.status, 200, `request ${i}: ${r.text}`)
    }
  } finally {
    await pg.start()
  }
})
