import {configMigrations} from '../../platform/store/migrations/config/index.js'
import {identityMigrations} from '../../platform/store/migrations/identity/index.js'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'
import test, {type ExecutionContext} from 'ava'
import Database from 'better-sqlite3'
import {CryptoError, sealedWithUserKey} from '../../platform/store/crypto.js'
import {transaction} from '../../platform/store/db.js'
import {eraseIdentity} from '../../platform/store/identity/erasure.js'
import {loginHistory, recordLogin} from '../../platform/store/identity/login-history.js'
import {createSession, listSessions} from '../../platform/store/identity/sessions.js'
import {loadUserCipher, upgradeToUserKeys} from '../../platform/store/identity/user-keys.js'
import {createUser, emailIndex, getUser, updateUser} from '../../platform/store/identity/users.js'
import {openStores, type Stores} from '../../platform/store/stores.js'
import {tempDir} from '../helpers/platform.js'

// Per-user keys on the SQLite stores, below the API: which key seals what, how docs written
// before user keys (master-sealed) keep opening, and the upgrade that runs when the stores open.

const masterKey = `v1:${randomBytes(32).toString('base64')}`

async function open(t: ExecutionContext, dataDir: string, create = false): Promise<Stores> {
  const s = await openStores(dataDir, {masterKey, create})
  t.teardown(() => s.close())
  return s
}

const PERSONAL = ['users', 'sessions', 'login_history'] as const

/** Every personal doc of the user, as stored. */
async function docsOf(s: Stores, userId: string): Promise<Array<{table: string; id: string; doc: Buffer}>> {
  const db = s.ctx.db
  return [
    ...(await db.selectFrom('users').select(['id', 'doc']).where('id', '=', userId).execute()).map((r) => ({table: 'users', ...r})),
    ...(await db.selectFrom('sessions').select(['id', 'doc']).where('user_id', '=', userId).execute()).map((r) => ({table: 'sessions', ...r})),
    ...(await db.selectFrom('login_history').select(['id', 'doc']).where('user_id', '=', userId).execute()).map((r) => ({table: 'login_history', ...r})),
  ]
}

const login = {ip: '192.0.2.7', userAgent: 'agent-legacy', method: 'password', client: 'api', result: 'success'}

/** What a store written before user keys holds: a user, a session and a login, sealed with the master key. */
async function writeLegacyUser(s: Stores, id: string, email: string): Promise<void> {
  const c = s.ctx
  const now = Date.now()
  await c.db.insertInto('users').values({id, email_bidx: emailIndex(c, email), created_at: now, updated_at: now, doc: c.cipher.sealJson('users', id, {email, name: 'Legacy Person', role: 'member', status: 'active', passwordHash: null})}).execute()
  await c.db.insertInto('sessions').values({id: `ses_${id.slice(4)}`, user_id: id, token_hash: randomBytes(32), created_at: now, last_used_at: now, expires_at: now + 3_600_000, doc: c.cipher.sealJson('sessions', `ses_${id.slice(4)}`, {ip: login.ip, userAgent: login.userAgent, client: 'api'})}).execute()
  await c.db.insertInto('login_history').values({id: `lgn_${id.slice(4)}`, user_id: id, at: now, doc: c.cipher.sealJson('login_history', `lgn_${id.slice(4)}`, {ip: login.ip, userAgent: login.userAgent, method: login.method, client: login.client, result: login.result})}).execute()
}

test('new personal docs are sealed with the user key, and a failed login of no user with the master key', async (t) => {
  const s = await open(t, tempDir(t), true)
  const c = s.ctx
  const u = await createUser(c, {email: 'new@example.test', name: 'New Person', role: 'member', status: 'active', passwordHash: null})
  await createSession(c, u.id, {ip: '192.0.2.1', userAgent: 'agent-new', client: 'api'}, 3_600_000)
  await recordLogin(c, u.id, {...login, userAgent: 'agent-new'})
  await recordLogin(c, null, {...login, result: 'wrong-password'})
  const docs = await docsOf(s, u.id)
  t.deepEqual(docs.map((d) => d.table).sort(), ['login_history', 'sessions', 'users'])
  t.true(docs.every((d) => sealedWithUserKey(d.doc)))
  const key = (await loadUserCipher(c, u.id))!
  t.is(key.openJson<{name: string}>('users', u.id, docs.find((d) => d.table === 'users')!.doc).name, 'New Person')
  t.throws(() => c.cipher.openJson('users', u.id, docs[0]!.doc), {instanceOf: CryptoError})
  const anonymous = await c.db.selectFrom('login_history').select(['id', 'doc']).where('user_id', 'is', null).executeTakeFirstOrThrow()
  t.false(sealedWithUserKey(anonymous.doc), 'a login that names no user has no user key to be sealed with')
  t.is(c.cipher.openJson<{result: string}>('login_history', anonymous.id, anonymous.doc).result, 'wrong-password')
  t.is((await updateUser(c, u.id, {name: 'Renamed'}))!.name, 'Renamed')
  t.true(sealedWithUserKey((await c.db.selectFrom('users').select('doc').where('id', '=', u.id).executeTakeFirstOrThrow()).doc))
})

test('a store from before user keys: its master-sealed docs open, and opening it again gives every user a key and re-seals their docs, once', async (t) => {
  const dataDir = tempDir(t)
  const first = await open(t, dataDir, true)
  await writeLegacyUser(first, 'usr_legacy0000000000000001', 'legacy1@example.test')
  await writeLegacyUser(first, 'usr_legacy0000000000000002', 'legacy2@example.test')
  // legacy docs open as they are (a user without a key reads through the master key)
  t.is((await getUser(first.ctx, 'usr_legacy0000000000000001'))!.email, 'legacy1@example.test')
  t.is((await listSessions(first.ctx, {userId: 'usr_legacy0000000000000001'}))[0]!.userAgent, 'agent-legacy')
  t.is((await loginHistory(first.ctx, 'usr_legacy0000000000000001'))[0]!.userAgent, 'agent-legacy')
  await first.close()
  // make it a schema-1 store, as an older mezu left it: no user_keys table (nor the later users index and callback codes)
  const raw = new Database(join(dataDir, 'identity.db'))
  raw.exec('DROP TABLE user_keys')
  raw.exec('DROP INDEX users_created')
  raw.exec('DROP TABLE callback_codes')
  raw.pragma('user_version = 1')
  raw.close()
  const legacy = ['usr_legacy0000000000000001', 'usr_legacy0000000000000002']

  const s = await open(t, dataDir)
  t.deepEqual(await s.schemaVersions(), {identity: identityMigrations.length, config: configMigrations.length})
  for (const id of legacy) {
    const docs = await docsOf(s, id)
    t.is(docs.length, 3)
    t.true(docs.every((d) => sealedWithUserKey(d.doc)), `${id}: every personal doc re-sealed with the user key`)
    const key = (await loadUserCipher(s.ctx, id))!
    t.truthy(key, `${id} has a key`)
    t.is(key.openJson<{userAgent: string}>('sessions', docs.find((d) => d.table === 'sessions')!.id, docs.find((d) => d.table === 'sessions')!.doc).userAgent, 'agent-legacy')
  }
  t.is((await getUser(s.ctx, legacy[1]!))!.name, 'Legacy Person')
  t.is((await listSessions(s.ctx, {userId: legacy[0]}))[0]!.ip, '192.0.2.7')
  t.is((await loginHistory(s.ctx, legacy[0]!))[0]!.result, 'success')

  // idempotent: nothing left to do, and nothing changes
  const before = await s.ctx.db.selectFrom('user_keys').selectAll().orderBy('user_id').execute()
  t.deepEqual(await upgradeToUserKeys(s.ctx), {users: 0, docs: 0})
  t.deepEqual(await s.ctx.db.selectFrom('user_keys').selectAll().orderBy('user_id').execute(), before)
  t.deepEqual(before.map((k) => k.user_id), legacy)
})

test('a key created in a transaction that rolls back never reaches the cache; an erasure wipes the cached key once it commits', async (t) => {
  const s = await open(t, tempDir(t), true)
  const c = s.ctx
  let rolledBack: string | undefined
  await t.throwsAsync(transaction(c, async () => {
    rolledBack = (await createUser(c, {email: 'gone@example.test', name: 'Gone', role: 'member', status: 'active', passwordHash: null})).id
    throw new Error('validation failed after the write')
  }), {message: 'validation failed after the write'})
  t.is(c.userCiphers.get(rolledBack!), undefined)
  t.is(await c.db.selectFrom('user_keys').select('user_id').where('user_id', '=', rolledBack!).executeTakeFirst(), undefined)

  const u = await createUser(c, {email: 'erased@example.test', name: 'Erased', role: 'member', status: 'active', passwordHash: null})
  const key = c.userCiphers.get(u.id)!
  t.truthy(key, 'cached once the creating transaction committed')
  const doc = (await c.db.selectFrom('users').select('doc').where('id', '=', u.id).executeTakeFirstOrThrow()).doc
  t.is(key.openJson<{name: string}>('users', u.id, doc).name, 'Erased')
  await transaction(c, async () => {
    await eraseIdentity(c, u.id)
    t.is(c.userCiphers.get(u.id), key, 'still there until the erasure commits (it could roll back)')
  })
  t.is(c.userCiphers.get(u.id), undefined)
  t.is(await loadUserCipher(c, u.id), undefined)
  t.throws(() => key.openJson('users', u.id, doc), {message: /destroyed/}, 'the in-memory key is wiped')
  t.throws(() => c.cipher.openJson('users', u.id, doc), {instanceOf: CryptoError})
})
