import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {seedDirectory} from '../helpers/directories.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {cliUser, ownerCli} from '../helpers/session.js'

const err = (stderr: string) => JSON.parse(stderr).error
const EMAIL = 'erase.me.zq7@example.test'

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })
}

/** Where in the data directory (any file, -wal included) a byte string still appears. */
function foundIn(dataDir: string, needle: Buffer): string[] {
  return filesUnder(dataDir).filter((f) => readFileSync(f).includes(needle))
}

/** Distinctive slices of a sealed blob: its random nonce and its MAC. */
const slices = (blob: Buffer) => [blob.subarray(5, 29), blob.subarray(blob.length - 16)]

test('erasure leaves no trace of the user in any file of the data directory, and the audit log keeps only an anonymous record', async (t) => {
  const platform = await startTestPlatform(t)
  const eng = await seedDirectory(platform.ctx.idb, 'eng')
  const owner = await ownerCli(t, platform)
  await owner.json(['projects', 'create', 'shop'])
  const {user, invite} = await owner.json(['users', 'create', '--email', EMAIL, '--name', 'Erin Distinctive', '--directory', 'eng'])
  const erin = cliUser(t, platform)
  await erin.json(['login', '--invite', invite.code, '--password-stdin'], {stdin: 'erin password 1'})
  await erin.json(['whoami'])
  await owner.json(['users', 'update', EMAIL, '--name', 'Erin Renamed'])
  // Policies that name the user: erasure must forget the email without widening either policy.
  const only = await owner.json(['policies', 'create', 'only-erin', '--project', 'shop', '--allow-email', EMAIL.toUpperCase()])
  const notErin = await owner.json(['policies', 'create', 'not-erin', '--project', 'shop', '--allow-email', 'bob@example.test', '--deny-email', EMAIL])
  const db = platform.ctx.idb.db
  // A failed login and a project membership: more rows that name the user.
  t.is((await api(platform.apiUrl, platform.caPem, 'POST', '/v1/sessions', {body: {email: EMAIL, password: 'wrong password'}})).status, 401)
  const ownerToken = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  t.is((await api(platform.apiUrl, platform.caPem, 'POST', '/v1/projects/shop/members', {token: ownerToken, body: {email: EMAIL}})).status, 201)

  // Everything identity.db holds about the user, byte for byte, and the audit entries that name them.
  const row = await db.selectFrom('users').select(['email_bidx', 'doc']).where('id', '=', user.id).executeTakeFirstOrThrow()
  const sessions = await db.selectFrom('sessions').select(['token_hash', 'doc']).where('user_id', '=', user.id).execute()
  const logins = await db.selectFrom('login_history').select('doc').where('user_id', '=', user.id).execute()
  const invites = await db.selectFrom('invites').select('code_hash').where('user_id', '=', user.id).execute()
  const userKey = await db.selectFrom('user_keys').select('doc').where('user_id', '=', user.id).executeTakeFirstOrThrow()
  t.is(sessions.length, 1)
  t.is(logins.length, 2)
  t.is((await db.selectFrom('memberships').selectAll().where('user_id', '=', user.id).where('directory_id', '=', eng).execute()).length, 1)
  const auditRows = (await platform.ctx.cdb.db.selectFrom('audit').select(['id', 'doc']).execute())
    .filter((r) => platform.ctx.cdb.cipher.open('audit', 'doc', r.id, r.doc).includes(user.id))
  t.true(auditRows.length >= 3)
  const needles: Array<[string, Buffer]> = [
    ['email', Buffer.from(EMAIL)], ['name', Buffer.from('Erin Renamed')], ['user id', Buffer.from(user.id)], ['email blind index', row.email_bidx],
    ...slices(row.doc).map((b): [string, Buffer] => ['user row', b]),
    ...slices(userKey.doc).map((b): [string, Buffer] => ['user key row', b]),
    ...sessions.flatMap((s) => [['session token hash', s.token_hash] as [string, Buffer], ...slices(s.doc).map((b): [string, Buffer] => ['session row', b])]),
    ...logins.flatMap((l) => slices(l.doc).map((b): [string, Buffer] => ['login history row', b])),
    ...invites.map((i): [string, Buffer] => ['invite code hash', i.code_hash]),
    ...auditRows.flatMap((a) => slices(a.doc).map((b): [string, Buffer] => ['audit entry naming the user', b])),
  ]
  // The test can fail: before the erasure the sealed bytes are there to be found.
  for (const [what, bytes] of needles.filter(([w]) => !['email', 'name'].includes(w))) t.true(foundIn(platform.dataDir, bytes).length > 0, `${what} present before`)

  const res = await owner.json(['users', 'delete', EMAIL, '--yes'])
  t.is(res.erased.id, user.id)
  t.is(res.removed.sessions, 1)
  t.is(res.removed.loginHistory, 2)
  t.is(res.removed.memberships, 1)
  t.is(res.removed.projectMemberships, 1)
  t.is(res.removed.invites, 1)
  t.deepEqual([...res.policiesUpdated].sort(), [only.id, notErin.id].sort())
  const after = await owner.json(['policies', 'list', '--project', 'shop'])
  t.false(JSON.stringify(after).toLowerCase().includes(EMAIL))
  const onlyAfter = after.items.find((p: {id: string}) => p.id === only.id)
  t.is(onlyAfter.allow.emails.length, 1, 'an allow list is never emptied: empty would let any signed-in user in')
  t.regex(onlyAfter.allow.emails[0], /@erased\.invalid$/)
  const notErinAfter = after.items.find((p: {id: string}) => p.id === notErin.id)
  t.deepEqual(notErinAfter.allow.emails, ['bob@example.test'])
  t.regex(notErinAfter.deny.emails[0], /@erased\.invalid$/)

  for (const [what, bytes] of needles) t.deepEqual(foundIn(platform.dataDir, bytes), [], `${what} must be gone`)
  t.is((await erin.run(['whoami', '--json'])).code, 1)
  const gone = await owner.run(['users', 'get', EMAIL, '--json'])
  t.is(err(gone.stderr).code, 'not_found')

  const audit = await owner.json(['audit', 'list', '--limit', '500'])
  const text = JSON.stringify(audit.items)
  t.false(text.includes(user.id))
  t.false(text.toLowerCase().includes(EMAIL))
  const erasures = audit.items.filter((e: {action: string}) => e.action === 'user.erase')
  t.is(erasures.length, 1)
  t.deepEqual(erasures[0].target, {type: 'user', id: null, name: null})
  const created = audit.items.find((e: {action: string}) => e.action === 'user.create')
  t.deepEqual(created.target, {type: 'user', id: null, name: null})
  t.is(created.details, undefined)
  const accepted = audit.items.find((e: {action: string}) => e.action === 'user.invite.accept')
  t.is(accepted.ip, null)
})

test('refuses to erase without --yes when there is no terminal, and nothing changes', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['users', 'create', '--email', 'keep@example.test'])
  for (const args of [['users', 'delete', 'keep@example.test'], ['users', 'delete', 'keep@example.test', '--json']]) {
    const r = await owner.run(args)
    t.is(r.code, 1)
    t.regex(r.stderr, /not_confirmed|--yes/)
  }
  const r = await owner.run(['users', 'delete', 'keep@example.test', '--json'])
  t.is(err(r.stderr).code, 'not_confirmed')
  t.is((await owner.json(['users', 'get', 'keep@example.test'])).status, 'invited')
})

test('refuses to erase your own account or the last active owner', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const self = await owner.run(['users', 'delete', ADMIN_EMAIL, '--yes', '--json'])
  t.is(err(self.stderr).code, 'conflict')
  const {invite} = await owner.json(['users', 'create', '--email', 'adm@example.test', '--role', 'admin'])
  const admin = cliUser(t, platform)
  await admin.json(['login', '--invite', invite.code, '--password-stdin'], {stdin: 'admin password'})
  const byAdmin = await admin.run(['users', 'delete', ADMIN_EMAIL, '--yes', '--json'])
  t.is(err(byAdmin.stderr).code, 'forbidden')
  t.is((await owner.json(['users', 'get', ADMIN_EMAIL])).status, 'active')
})
