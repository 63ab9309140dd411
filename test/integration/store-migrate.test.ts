import {join} from 'node:path'
import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {mezu} from '../helpers/cli.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'
import {startPostgres, type TestPostgres} from '../helpers/postgres.js'

// `mezu platform migrate`: a platform that started on SQLite moves to PostgreSQL and keeps
// everything, down to the sessions its users are logged in with.

let pg: TestPostgres
test.before(async () => {
  pg = await startPostgres()
})
test.after.always(async () => {
  await pg?.close()
})

test.serial('platform migrate copies a SQLite platform into PostgreSQL: same users, sessions, routes and version; a non-empty target and a running source are refused', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  // SQLite explicitly (store: {}), whatever engine the run is on
  const sqlite = await startTestPlatform(t, {store: {}}, dir)
  const owner = await loginToken(sqlite.apiUrl, sqlite.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = (base: {apiUrl: string; caPem: string}, method: string, path: string, body?: unknown, token = owner) => api(base.apiUrl, base.caPem, method, path, {token, body})
  t.is((await call(sqlite, 'POST', '/v1/projects', {name: 'shop'})).status, 201)
  t.is((await call(sqlite, 'POST', '/v1/projects/shop/environments', {name: 'prod'})).status, 201)
  t.is((await call(sqlite, 'POST', '/v1/projects/shop/policies', {name: 'open', public: true})).status, 201)
  t.is((await call(sqlite, 'POST', '/v1/routes', {project: 'shop', env: 'prod', hostname: 'shop.mezu.localhost', service: 'shop', policy: 'open'})).status, 201)
  t.is((await call(sqlite, 'POST', '/v1/edges', {name: 'fra-1'})).status, 201)
  const ada = await call(sqlite, 'POST', '/v1/users', {email: 'ada@example.test', name: 'Ada', role: 'member'})
  t.is(ada.status, 201, ada.text)
  const before = {
    projects: (await call(sqlite, 'GET', '/v1/projects')).body.items,
    routes: (await call(sqlite, 'GET', '/v1/routes?project=shop')).body.items,
    users: (await call(sqlite, 'GET', '/v1/users')).body.items,
    audit: (await call(sqlite, 'GET', '/v1/audit?limit=100')).body.items,
    edges: (await call(sqlite, 'GET', '/v1/edges')).body.items,
  }
  const url = await pg.createDatabase()

  // while the source runs, nothing is copied
  const running = await mezu(['platform', 'migrate', '--from', dataDir, '--to', url, '--json'])
  t.is(running.code, 1, running.stderr)
  t.regex(JSON.parse(running.stderr).error.message, /is running \(pid \d+\); stop it first/)
  await sqlite.stop()

  const bad = await mezu(['platform', 'migrate', '--from', dataDir, '--to', 'mysql://x@y/z', '--json'])
  t.is(bad.code, 2)
  t.regex(JSON.parse(bad.stderr).error.message, /--to must be a URL like postgres:\/\//)

  const moved = await mezu(['platform', 'migrate', '--from', dataDir, '--to', url, '--json'])
  t.is(moved.code, 0, moved.stderr)
  const report = moved.json()
  t.is(report.tables.users, 2)
  t.is(report.tables.routes, 1)
  t.is(report.tables.sessions, 1, 'the owner\'s session moves too')
  t.is(report.tables.edges, 1)
  t.true(report.configVersion > 0)
  t.notRegex(report.to, /password/)

  const again = await mezu(['platform', 'migrate', '--from', dataDir, '--to', url, '--json'])
  t.is(again.code, 1)
  t.is(JSON.parse(again.stderr).error.code, 'target_not_empty')

  // the same data directory (its master key) with the store on PostgreSQL
  const onPg = await startTestPlatform(t, {store: {url}}, dir)
  t.is(onPg.init, undefined, 'the migrated database counts as initialised')
  t.is((await call(onPg, 'GET', '/v1/me')).status, 200, 'a session from before the move still works')
  t.deepEqual((await call(onPg, 'GET', '/v1/projects')).body.items, before.projects)
  t.deepEqual((await call(onPg, 'GET', '/v1/routes?project=shop')).body.items.map((r: {id: string; hostname: string}) => [r.id, r.hostname]), before.routes.map((r: {id: string; hostname: string}) => [r.id, r.hostname]))
  t.deepEqual((await call(onPg, 'GET', '/v1/users')).body.items, before.users)
  t.deepEqual((await call(onPg, 'GET', '/v1/edges')).body.items, before.edges)
  const audit = (await call(onPg, 'GET', '/v1/audit?limit=100')).body.items
  t.deepEqual(audit.slice(-before.audit.length), before.audit)
  t.is(onPg.edgeSource.get().routes.length, 1, 'the edge serves the migrated route')
  // and it keeps working: a write lands on PostgreSQL
  t.is((await call(onPg, 'POST', '/v1/projects', {name: 'after-move'})).status, 201)
  t.true(await loginToken(onPg.apiUrl, onPg.caPem, ADMIN_EMAIL, ADMIN_PASSWORD).then(() => true))
})
