import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {parse} from 'csv-parse/sync'
import {api, loginToken} from '../helpers/api.js'
import {seedDirectory} from '../helpers/directories.js'
import {ADMIN_EMAIL, startTestPlatform, type TestPlatform, tempDir} from '../helpers/platform.js'
import {cliUser, ownerCli} from '../helpers/session.js'

const err = (stderr: string) => JSON.parse(stderr).error
const ANN_PASSWORD = 'ann password 1'

async function seedTree(p: TestPlatform): Promise<void> {
  const eng = await seedDirectory(p.ctx.idb, 'eng')
  await seedDirectory(p.ctx.idb, 'backend', eng)
  await seedDirectory(p.ctx.idb, 'sales')
}

const profile = (u: {email: string; name: string; role: string; status: string; directories: string[]}) =>
  ({email: u.email, name: u.name, role: u.role, status: u.status, directories: [...u.directories].sort()})

test('the JSON export is complete, holds no secrets, and imports into a second platform with the same users', async (t) => {
  const a = await startTestPlatform(t)
  await seedTree(a)
  const ownerA = await ownerCli(t, a)
  const ann = await ownerA.json(['users', 'create', '--email', 'ann@example.test', '--name', 'Ann', '--role', 'admin', '--directory', 'eng/backend', '--directory', 'sales'])
  await cliUser(t, a).json(['login', '--invite', ann.invite.code, '--password-stdin'], {stdin: ANN_PASSWORD})
  const annToken = await loginToken(a.apiUrl, a.caPem, 'ann@example.test', ANN_PASSWORD)
  const sa = await api(a.apiUrl, a.caPem, 'POST', '/v1/service-accounts', {token: annToken, body: {name: 'ci', scopes: ['routes:write']}})
  t.is(sa.status, 201)
  await ownerA.json(['users', 'create', '--email', 'bo@example.test', '--name', 'Bo'])
  await ownerA.json(['users', 'create', '--email', 'cy@example.test', '--directory', 'eng'])
  await ownerA.json(['users', 'disable', 'cy@example.test'])

  const file = join(tempDir(t), 'users.json')
  const summary = await ownerA.json(['users', 'export', '--output', file])
  t.is(summary.count, 4)
  t.is(statSync(file).mode & 0o777, 0o600)
  const text = readFileSync(file, 'utf8')
  for (const secret of ['mezu_sa_', 'mezu_sess_', 'mezu_inv_', sa.body.apiKey, annToken, ann.invite.code]) t.false(text.includes(secret), `no ${secret.slice(0, 12)}`)
  const doc = JSON.parse(text)
  t.is(doc.format, 'mezu-users')
  t.is(doc.users.length, 4)
  const annOut = doc.users.find((u: {email: string}) => u.email === 'ann@example.test')
  t.deepEqual(annOut.directories.sort(), ['eng/backend', 'sales'])
  t.regex(annOut.passwordHash, /^\$argon2id\$/)
  t.deepEqual(annOut.serviceAccounts.map((s: {name: string; scopes: string[]}) => [s.name, s.scopes]), [['ci', ['routes:write']]])
  t.is(annOut.sessions.length, 2)
  t.truthy(annOut.sessions[0].ip)
  t.true(annOut.loginHistory.length >= 2)
  t.true(annOut.invites.every((i: {usedAt: string | null}) => !('code' in i)))

  const b = await startTestPlatform(t)
  await seedTree(b)
  const ownerB = await ownerCli(t, b)
  const refused = await ownerB.run(['users', 'import', file, '--json'])
  t.is(err(refused.stderr).code, 'conflict')
  t.regex(err(refused.stderr).message, new RegExp(`line \\d+: a user with email ${ADMIN_EMAIL.replace('.', '\\.')} already exists`))
  const imported = await ownerB.json(['users', 'import', file, '--skip-existing'])
  t.deepEqual(imported.skipped.map((s: {email: string}) => s.email), [ADMIN_EMAIL])
  t.is(imported.created.length, 3)
  // Ann keeps her password; Bo never set one and gets a fresh invitation; Cy stays disabled.
  t.deepEqual(imported.created.map((c: {user: {email: string}; invite: unknown}) => [c.user.email, c.invite !== null]).sort(), [['ann@example.test', false], ['bo@example.test', true], ['cy@example.test', false]])
  await cliUser(t, b).json(['login', '--email', 'ann@example.test', '--password-stdin'], {stdin: ANN_PASSWORD})

  const back = await ownerB.json(['users', 'export'])
  const byEmail = (us: Array<{email: string}>) => Object.fromEntries(us.filter((u) => u.email !== ADMIN_EMAIL).map((u) => [u.email, profile(u as never)]))
  t.deepEqual(byEmail(back.users), byEmail(doc.users))
})

test('the CSV export has one row per user and pages through large user lists', async (t) => {
  const platform = await startTestPlatform(t)
  await seedTree(platform)
  const owner = await ownerCli(t, platform)
  const dir = tempDir(t)
  const many = join(dir, 'many.json')
  writeFileSync(many, JSON.stringify(Array.from({length: 150}, (_, i) => ({email: `user${i}@example.test`, name: `User, ${i}`, directories: i % 2 ? ['eng/backend'] : []}))))
  t.is((await owner.json(['users', 'import', many])).created.length, 150)

  const csvFile = join(dir, 'users.csv')
  const summary = await owner.json(['users', 'export', '--format', 'csv', '--output', csvFile])
  t.is(summary.count, 151)
  t.is(statSync(csvFile).mode & 0o777, 0o600)
  const rows = parse(readFileSync(csvFile, 'utf8'), {columns: true}) as Array<Record<string, string>>
  t.is(rows.length, 151)
  t.is(new Set(rows.map((r) => r.email)).size, 151)
  const u7 = rows.find((r) => r.email === 'user7@example.test')!
  t.like(u7, {name: 'User, 7', role: 'member', status: 'invited', directories: 'eng/backend'})

  // Without --output the CSV streams to stdout.
  const out = await owner.run(['users', 'export', '--format', 'csv'])
  t.is(out.code, 0)
  t.is((parse(out.stdout, {columns: true}) as unknown[]).length, 151)
})

test('exports one user with --user, and refuses an unknown user or format', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const one = await owner.json(['users', 'export', '--user', ADMIN_EMAIL])
  t.is(one.users.length, 1)
  t.is(one.users[0].role, 'owner')
  const unknown = await owner.run(['users', 'export', '--user', 'nobody@example.test', '--json'])
  t.is(err(unknown.stderr).code, 'not_found')
  const format = await owner.run(['users', 'export', '--format', 'xml', '--json'])
  t.is(format.code, 2)
  t.regex(err(format.stderr).message, /--format/)
  const plain = await owner.run(['users', 'export', '--without-credentials'])
  t.is(plain.code, 0)
  t.is(JSON.parse(plain.stdout).users[0].passwordHash, undefined)
})
