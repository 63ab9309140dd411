import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import test from 'ava'
import {sql} from 'kysely'
import {CryptoError, sealedWithUserKey} from '../../platform/store/crypto.js'
import {createSession, listSessions} from '../../platform/store/identity/sessions.js'
import {loadUserCipher} from '../../platform/store/identity/user-keys.js'
import {createUser, getUser} from '../../platform/store/identity/users.js'
import {openStores} from '../../platform/store/stores.js'
import {migrateSqliteToPostgres} from '../../platform/store/transfer.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'
import {pgBin, startPostgres, type TestPostgres} from '../helpers/postgres.js'

// Issue 11: on PostgreSQL a DELETE leaves the row's bytes behind (dead tuples, WAL; replicas and
// backups beyond that) and VACUUM promises nothing about them. Erasure destroys the user's data
// key instead, so those copies stay sealed for good. One throwaway cluster for the file.

const run = promisify(execFile)
let pg: TestPostgres
test.before(async () => {
  pg = await startPostgres()
})
test.after.always(async () => {
  await pg?.close()
})

const EMAIL = 'shred.me.k4w@example.test'
const NAME = 'Quintessa Shreddable'
const AGENT = 'agent-shred-9xq'

/** Every file under dir; root (these tests run as root or as the cluster's owner) reads the cluster's. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    const st = statSync(p, {throwIfNoEntry: false})
    if (!st) return [] // a file PostgreSQL removed meanwhile
    return st.isDirectory() ? filesUnder(p) : st.isFile() ? [p] : []
  })
}

/** The files of the cluster (data directory, WAL, server log) holding any of the needles. */
function foundOnDisk(needles: Buffer[]): string[] {
  return filesUnder(pg.root).filter((f) => {
    let bytes: Buffer
    try {
      bytes = readFileSync(f)
    } catch {
      return false
    }
    return needles.some((n) => bytes.includes(n))
  })
}

/** The plaintext forms a value could take: as given, lower and upper case, UTF-8. */
const forms = (v: string) => [...new Set([v, v.toLowerCase(), v.toUpperCase()])].map((x) => Buffer.from(x, 'utf8'))

/** A plain-SQL dump of the database, as an operator's backup would take it. */
async function pgDump(url: string): Promise<string> {
  const db = new URL(url).pathname.slice(1)
  const {stdout} = await run(pgBin('pg_dump'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'mezu', '--no-password', db], {maxBuffer: 256 * 1024 * 1024})
  return stdout
}

/** A bytea as pg_dump writes it (hex). */
const hex = (b: Buffer) => b.toString('hex')
/** Distinctive slices of a sealed blob: its random nonce and its MAC. */
const slices = (blob: Buffer) => [blob.subarray(5, 29), blob.subarray(blob.length - 16)]

test.serial('erasing a user on PostgreSQL destroys their key: no plaintext anywhere, and the sealed rows left behind open with nothing the platform holds', async (t) => {
  const url = await pg.createDatabase()
  const p = await startTestPlatform(t, {store: {url}})
  const c = p.ctx.idb
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const created = await api(p.apiUrl, p.caPem, 'POST', '/v1/users', {token: owner, body: {email: EMAIL, name: NAME}})
  t.is(created.status, 201, created.text)
  const userId: string = created.body.user.id
  const accepted = await api(p.apiUrl, p.caPem, 'POST', '/v1/invites/accept', {body: {code: created.body.invite.code, password: 'shred password 1'}, headers: {'user-agent': AGENT}})
  t.is(accepted.status, 201, accepted.text)
  const login = await api(p.apiUrl, p.caPem, 'POST', '/v1/sessions', {body: {email: EMAIL, password: 'shred password 1'}, headers: {'user-agent': AGENT}})
  t.is(login.status, 201, login.text)
  t.is((await api(p.apiUrl, p.caPem, 'POST', '/v1/sessions', {body: {email: EMAIL, password: 'wrong password'}, headers: {'user-agent': AGENT}})).status, 401)

  // What the database holds about the user, sealed; and their key.
  const userDoc = (await c.db.selectFrom('users').select('doc').where('id', '=', userId).executeTakeFirstOrThrow()).doc
  const keyDoc = (await c.db.selectFrom('user_keys').select('doc').where('user_id', '=', userId).executeTakeFirstOrThrow()).doc
  const sessions = await c.db.selectFrom('sessions').select(['id', 'doc']).where('user_id', '=', userId).execute()
  const logins = await c.db.selectFrom('login_history').select(['id', 'doc']).where('user_id', '=', userId).execute()
  t.is(sessions.length, 2)
  t.is(logins.length, 3, 'the invitation, the login and the failed login')
  t.true([userDoc, ...sessions.map((s) => s.doc), ...logins.map((l) => l.doc)].every(sealedWithUserKey), 'every personal doc is sealed with the user key')
  const key = (await loadUserCipher(c, userId))!
  t.like(key.openJson<{email: string; name: string}>('users', userId, userDoc), {email: EMAIL, name: NAME}, 'before: the user key opens the doc')
  t.is(key.openJson<{userAgent: string}>('sessions', sessions[0]!.id, sessions[0]!.doc).userAgent, AGENT)
  t.throws(() => c.cipher.openJson('users', userId, userDoc), {instanceOf: CryptoError}, 'the master key alone never opened it')

  const plaintext = [...forms(EMAIL), ...forms(NAME), ...forms(AGENT)]
  const sealedRows = [userDoc, ...sessions.map((s) => s.doc), ...logins.map((l) => l.doc)]
  // The searches are real: before the erasure the sealed bytes are found, in the dump and on disk.
  const before = await pgDump(url)
  for (const blob of [...sealedRows, keyDoc]) t.true(before.includes(hex(blob)), 'the dump holds every sealed row before')
  t.true(before.includes(userId), 'and the user id in plain text')
  await sql`CHECKPOINT`.execute(c.db) // the heap files too, not only the WAL
  t.true(foundOnDisk(slices(userDoc)).length > 0, 'the user row is on disk before')
  for (const text of plaintext) t.false(before.includes(text.toString('utf8')), `no plaintext ${text} in the dump`)
  t.deepEqual(foundOnDisk(plaintext), [], 'no plaintext in any file of the cluster')

  const erased = await api(p.apiUrl, p.caPem, 'DELETE', `/v1/users/${EMAIL}`, {token: owner})
  t.is(erased.status, 200, erased.text)
  t.like(erased.body.removed, {sessions: 2, loginHistory: 3})

  const after = await pgDump(url)
  for (const blob of [...sealedRows, keyDoc]) t.false(after.includes(hex(blob)), 'no sealed row of the user, nor their key, in a dump taken after')
  for (const text of plaintext) t.false(after.includes(text.toString('utf8')), `no plaintext ${text} in the dump after`)
  t.deepEqual(foundOnDisk(plaintext), [], 'no plaintext in any file of the cluster after')

  // The rows' ciphertext outlives the DELETE on disk (WAL, dead tuples): exactly why the key had
  // to go. Nothing the platform holds opens it any more.
  t.true(foundOnDisk(slices(userDoc)).length > 0, 'the deleted row is still on disk (VACUUM is not relied on)')
  t.is(await c.db.selectFrom('user_keys').select('user_id').where('user_id', '=', userId).executeTakeFirst(), undefined, 'no key for the user in the store')
  t.is(await loadUserCipher(c, userId), undefined)
  t.is(c.userCiphers.get(userId), undefined, 'none in memory')
  t.throws(() => key.openJson('users', userId, userDoc), {message: /destroyed/}, 'the key this process had in memory is wiped')
  t.throws(() => c.cipher.openJson('users', userId, userDoc), {instanceOf: CryptoError}, 'the master key does not open it')
  const remaining = await c.db.selectFrom('user_keys').select(['user_id', 'doc']).execute()
  t.true(remaining.length > 0, 'other users keep their keys')
  for (const k of remaining) {
    t.throws(() => c.cipher.openUserKey(k.user_id, k.doc).openJson('users', userId, userDoc), {instanceOf: CryptoError}, `${k.user_id}'s key does not open it`)
  }
  // Copies of the key row itself (sealed with the master key) may also outlive the DELETE on disk:
  // only a master-key rotation that destroys the old key makes those unusable (see the report).
  t.log(`key row still on disk after the erasure: ${foundOnDisk(slices(keyDoc)).length > 0}`)
})

test.serial('`mezu platform migrate` copies the user keys: users migrated from SQLite read back on PostgreSQL', async (t) => {
  const masterKey = `v1:${randomBytes(32).toString('base64')}`
  const dataDir = tempDir(t)
  const source = await openStores(dataDir, {masterKey, create: true})
  const u = await createUser(source.ctx, {email: EMAIL, name: NAME, role: 'member', status: 'active', passwordHash: null})
  await createSession(source.ctx, u.id, {ip: '192.0.2.9', userAgent: AGENT, client: 'api'}, 3_600_000)
  await source.close()
  const url = await pg.createDatabase()
  const report = await migrateSqliteToPostgres(dataDir, {url}, masterKey)
  t.is(report.tables.user_keys, 1)
  const target = await openStores(tempDir(t), {masterKey, store: {url}})
  t.teardown(() => target.close())
  t.like(await getUser(target.ctx, u.id), {email: EMAIL, name: NAME})
  t.is((await listSessions(target.ctx, {userId: u.id}))[0]!.userAgent, AGENT)
})
