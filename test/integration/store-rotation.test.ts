import {existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import Database from 'better-sqlite3'
import {buildConfig} from '../../platform/config.js'
import {startPlatform} from '../../platform/server.js'
import {FieldCipher, randomKey, sealedWithUserKey} from '../../platform/store/crypto.js'
import {decodeMasterKey, encodeMasterKey, writePendingKey} from '../../platform/store/master-key.js'
import {rotateMasterKey} from '../../platform/store/rotate.js'
import {api, loginToken} from '../helpers/api.js'
import {mezu} from '../helpers/cli.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir, type TestPlatform} from '../helpers/platform.js'

/**
 * Every sealed doc of both stores: table, row id (user_keys rows are keyed by user_id), the key
 * version in its header, and whether its user's own key sealed it (then the version is not a
 * master-key version and a rotation leaves the doc alone).
 */
function sealedDocs(dataDir: string): Array<{table: string; id: string; version: number; byUserKey: boolean; doc: Buffer}> {
  const out: Array<{table: string; id: string; version: number; byUserKey: boolean; doc: Buffer}> = []
  for (const file of ['identity.db', 'config.db']) {
    const db = new Database(join(dataDir, file), {readonly: true})
    try {
      const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{name: string}>).map((r) => r.name)
      for (const table of tables) {
        const cols = (db.pragma(`table_info(${table})`) as Array<{name: string}>).map((c) => c.name)
        if (!cols.includes('doc')) continue
        const key = cols.includes('id') ? 'id' : 'user_id'
        for (const row of db.prepare(`SELECT ${key} AS id, doc FROM ${table}`).all() as Array<{id: string; doc: Buffer}>) {
          out.push({table, id: row.id, version: FieldCipher.blobVersion(row.doc), byUserKey: sealedWithUserKey(row.doc), doc: row.doc})
        }
      }
    } finally {
      db.close()
    }
  }
  return out
}

/** The docs sealed with the master key (user data keys among them): what a rotation re-seals. */
const blobVersions = (dataDir: string) => sealedDocs(dataDir).filter((b) => !b.byUserKey)
const userSealed = (dataDir: string) => sealedDocs(dataDir).filter((b) => b.byUserKey).map((b) => `${b.table}/${b.id}/${b.doc.toString('hex')}`).sort()
const versionsOf = (dataDir: string) => [...new Set(blobVersions(dataDir).map((b) => b.version))].sort()

/** Writes data of every kind, so a rotation has users, sessions, keys, projects, envs, edges, CA and audit to reseal. */
async function populate(p: TestPlatform) {
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = (method: string, path: string, body?: unknown) => api(p.apiUrl, p.caPem, method, path, {token: owner, body})
  t_ok(await call('POST', '/v1/projects', {name: 'shop', description: 'the shop'}))
  t_ok(await call('POST', '/v1/projects/shop/environments', {name: 'prod'}))
  const sa = await call('POST', '/v1/service-accounts', {name: 'deployer', scopes: ['projects:read']})
  t_ok(sa)
  t_ok(await call('POST', '/v1/edges', {name: 'fra-1'}))
  return {owner, apiKey: sa.body.apiKey as string}
}

function t_ok(r: {status: number; text: string}) {
  if (r.status >= 300) throw new Error(`${r.status} ${r.text}`)
}

/** Everything written by populate() reads back through a freshly started platform. */
async function readsEverything(t: any, p: TestPlatform, tokens: {owner: string; apiKey: string}) {
  const call = (method: string, path: string, token: string) => api(p.apiUrl, p.caPem, method, path, {token})
  t.is((await call('GET', '/v1/me', tokens.owner)).body.principal.name, ADMIN_EMAIL)
  t.truthy(await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD))
  const shop = await call('GET', '/v1/projects/shop', tokens.owner)
  t.is(shop.body.description, 'the shop')
  t.deepEqual((await call('GET', '/v1/projects/shop/environments', tokens.owner)).body.items.map((e: any) => e.name), ['prod'])
  t.is((await call('GET', '/v1/projects', tokens.apiKey)).status, 200, 'the API key still works')
  t.true((await call('GET', '/v1/audit', tokens.owner)).body.items.some((e: any) => e.action === 'project.create'))
  t.is((await call('GET', '/v1/edges/fra-1', tokens.owner)).body.status, 'pending')
}

test('a rotation reseals every field with the new key version, and a restart reads everything', async (t) => {
  const p = await startTestPlatform(t)
  const tokens = await populate(p)
  await p.stop()
  const dataDir = p.config.dataDir
  const oldKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim()
  t.deepEqual(versionsOf(dataDir), [1])
  const total = blobVersions(dataDir).length
  t.true(blobVersions(dataDir).some((b) => b.table === 'user_keys'), 'user keys are sealed with the master key')
  const personal = userSealed(dataDir)
  t.true(['users', 'sessions', 'login_history'].every((table) => personal.some((p) => p.startsWith(`${table}/`))), 'personal docs are sealed with user keys')

  const r = await rotateMasterKey(dataDir, undefined)
  t.is(r.version, 2)
  t.is(r.resealed, total)
  t.is(r.newKey, undefined, 'a key kept in a file is never printed')
  t.deepEqual(versionsOf(dataDir), [2])
  t.is(blobVersions(dataDir).length, total)
  t.deepEqual(userSealed(dataDir), personal, 'docs sealed with user keys are left byte for byte as they were: only the keys were re-wrapped')
  const newKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim()
  t.regex(newKey, /^v2:/)
  t.not(newKey, oldKey)
  t.is(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600)
  t.false(existsSync(join(dataDir, 'master.key.next')))

  const p2 = await p.restart()
  await readsEverything(t, p2, tokens)
  await p2.stop()

  // the old key opens nothing any more
  await t.throwsAsync(startPlatform(buildConfig({dataDir, masterKey: oldKey, apiPort: 0})), {message: /does not open|version 2/})
})

test('an interrupted rotation leaves a readable store, and running rotate again finishes it', async (t) => {
  const p = await startTestPlatform(t)
  const tokens = await populate(p)
  await p.stop()
  const dataDir = p.config.dataDir
  const old = decodeMasterKey(readFileSync(join(dataDir, 'master.key'), 'utf8'), 'master.key')

  // What a rotation killed half-way leaves: the next key on disk, some rows resealed with it.
  const next = {version: 2, key: await randomKey()}
  writePendingKey(dataDir, next)
  const from = await FieldCipher.create([old], 1)
  const to = await FieldCipher.create([old, next], 2)
  const db = new Database(join(dataDir, 'config.db'))
  for (const row of db.prepare('SELECT id, doc FROM projects').all() as Array<{id: string; doc: Buffer}>) {
    db.prepare('UPDATE projects SET doc = ? WHERE id = ?').run(to.seal('projects', 'doc', row.id, from.openBytes('projects', 'doc', row.id, row.doc)), row.id)
  }
  db.close()
  t.deepEqual(versionsOf(dataDir), [1, 2], 'the store is half-way')

  const mid = await p.restart()
  await readsEverything(t, mid, tokens)
  const written = await api(mid.apiUrl, mid.caPem, 'POST', '/v1/projects', {token: tokens.owner, body: {name: 'during'}})
  t.is(written.status, 201, 'and writable')
  await mid.stop()

  const r = await rotateMasterKey(dataDir, undefined)
  t.is(r.version, 2, 'it finishes with the key it started, not a third one')
  t.deepEqual(versionsOf(dataDir), [2])
  t.is(readFileSync(join(dataDir, 'master.key'), 'utf8').trim(), encodeMasterKey(next))
  t.false(existsSync(join(dataDir, 'master.key.next')))
  const done = await mid.restart()
  await readsEverything(t, done, tokens)
  t.is((await api(done.apiUrl, done.caPem, 'GET', '/v1/projects/during', {token: tokens.owner})).status, 200)
})

test('with MEZU_MASTER_KEY the new key is returned once and nothing is left on disk', async (t) => {
  const envKey = encodeMasterKey({version: 1, key: await randomKey()})
  const dir = tempDir(t)
  const p = await startTestPlatform(t, {masterKey: envKey}, dir)
  const tokens = await populate(p)
  await p.stop()
  const dataDir = p.config.dataDir
  t.false(existsSync(join(dataDir, 'master.key')), 'the key was never written to disk')

  const r = await rotateMasterKey(dataDir, envKey)
  t.regex(r.newKey ?? '', /^v2:[A-Za-z0-9+/]{43}=$/)
  t.deepEqual(versionsOf(dataDir), [2])
  t.false(existsSync(join(dataDir, 'master.key')))
  t.false(existsSync(join(dataDir, 'master.key.next')))

  await t.throwsAsync(startPlatform(buildConfig({dataDir, masterKey: envKey, apiPort: 0})), {message: /does not open|version 2/})
  const p2 = await startTestPlatform(t, {masterKey: r.newKey}, dir)
  await readsEverything(t, p2, tokens)
})

test('`mezu platform rotate-key` refuses while the platform runs, and rotates once it is stopped', async (t) => {
  const p = await startTestPlatform(t)
  const tokens = await populate(p)
  const dataDir = p.config.dataDir
  const keyBefore = readFileSync(join(dataDir, 'master.key'), 'utf8')
  const running = await mezu(['platform', 'rotate-key', '--data-dir', dataDir, '--json'])
  t.is(running.code, 1)
  t.is(running.stdout, '')
  const err = JSON.parse(running.stderr).error
  t.is(err.code, 'platform')
  t.regex(err.message, /running/)
  t.is(readFileSync(join(dataDir, 'master.key'), 'utf8'), keyBefore)
  t.false(existsSync(join(dataDir, 'master.key.next')))
  await p.stop()
  t.deepEqual(versionsOf(dataDir), [1])

  const r = await mezu(['platform', 'rotate-key', '--data-dir', dataDir, '--json'])
  t.is(r.code, 0, r.stderr)
  const out = r.json()
  t.is(out.version, 2)
  t.true(out.resealed > 0)
  t.is(out.newMasterKey, undefined)
  t.deepEqual(versionsOf(dataDir), [2])
  const p2 = await p.restart()
  await readsEverything(t, p2, tokens)
})
