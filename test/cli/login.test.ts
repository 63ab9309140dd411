import {existsSync, statSync} from 'node:fs'
import anyTest, {type TestFn} from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {credentialsOf, storedContext} from '../helpers/contexts.js'
import {cliUser} from '../helpers/session.js'
import {hookScope} from '../helpers/shared.js'

const test = anyTest as TestFn<{p: TestPlatform; saKey: string}>
const scope = hookScope()

test.before(async (t) => {
  const p = await startTestPlatform(scope.t)
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const sa = await api(p.apiUrl, p.caPem, 'POST', '/v1/service-accounts', {token: owner, body: {name: 'ci-bot', scopes: ['projects:read']}})
  if (sa.status !== 201) throw new Error(sa.text)
  t.context = {p, saKey: sa.body.apiKey}
})
test.after.always(() => scope.dispose())


test('logs in with --email and --password-stdin, keeps the session in a 0600 file, and whoami shows the user', async (t) => {
  const u = cliUser(t, t.context.p)
  const out = await u.json(['login', '--email', ADMIN_EMAIL, '--password-stdin'], {stdin: ADMIN_PASSWORD + '\n'})
  t.is(out.user.email, ADMIN_EMAIL)
  t.is(out.user.role, 'owner')
  t.is(out.apiUrl, t.context.p.apiUrl)
  const file = credentialsOf(u.env)
  t.is(statSync(file).mode & 0o777, 0o600)
  const creds = storedContext(u.env)
  t.regex(creds.token, /^mezu_sess_/)
  t.is(creds.caPem, t.context.p.caPem)
  const me = await u.json(['whoami'])
  t.is(me.principal.kind, 'user')
  t.is(me.principal.name, ADMIN_EMAIL)
  t.is(me.principal.role, 'owner')
  const human = await u.run(['whoami'])
  t.is(human.code, 0)
  t.true(human.stdout.includes(ADMIN_EMAIL))
})

test('refuses a wrong password and an unknown email alike, and writes no credentials', async (t) => {
  const u = cliUser(t, t.context.p)
  for (const [email, password] of [[ADMIN_EMAIL, 'wrong password'], ['nobody@example.test', ADMIN_PASSWORD]]) {
    const r = await u.run(['login', '--email', email, '--password-stdin', '--json'], {stdin: password})
    t.is(r.code, 1)
    t.is(r.stdout, '')
    t.deepEqual(JSON.parse(r.stderr), {error: {code: 'invalid_credentials', message: 'email or password is wrong'}})
  }
  t.false(existsSync(credentialsOf(u.env)))
  const who = await u.run(['whoami', '--json'])
  t.is(who.code, 1)
  t.is(JSON.parse(who.stderr).error.code, 'not_logged_in')
})

test('logout revokes the session on the platform: the old token then gets 401', async (t) => {
  const {p} = t.context
  const u = cliUser(t, p)
  await u.json(['login', '--email', ADMIN_EMAIL, '--password-stdin'], {stdin: ADMIN_PASSWORD})
  const token = storedContext(u.env).token
  t.is((await api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token})).status, 200)
  const out = await u.json(['logout'])
  t.true(out.revoked)
  const after = await api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token})
  t.is(after.status, 401)
  t.is(after.body.error.code, 'token_revoked')
  t.truthy(after.headers['www-authenticate'])
  const creds = storedContext(u.env)
  t.is(creds.token, undefined, 'the token is forgotten locally')
  t.is(statSync(credentialsOf(u.env)).mode & 0o777, 0o600)
  const who = await u.run(['whoami', '--json'])
  t.is(who.code, 1)
  t.is(JSON.parse(who.stderr).error.code, 'not_logged_in')
  const again = await u.run(['logout', '--json'])
  t.is(again.code, 1)
  t.is(JSON.parse(again.stderr).error.code, 'not_logged_in')
})

test('logout revokes the stored session even when MEZU_TOKEN holds another token', async (t) => {
  const {p, saKey} = t.context
  const u = cliUser(t, p)
  await u.json(['login', '--email', ADMIN_EMAIL, '--password-stdin'], {stdin: ADMIN_PASSWORD})
  const token = storedContext(u.env).token
  const out = await u.json(['logout'], {env: {MEZU_TOKEN: saKey}})
  t.true(out.revoked)
  t.is((await api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token})).status, 401)
  t.is((await api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token: saKey})).status, 200, 'the service-account key is untouched')
})

test('--token-stdin logs in with a service-account key', async (t) => {
  const u = cliUser(t, t.context.p)
  const out = await u.json(['login', '--token-stdin'], {stdin: t.context.saKey + '\n'})
  t.is(out.principal.kind, 'service-account')
  t.is(out.principal.name, 'ci-bot')
  const creds = storedContext(u.env)
  t.is(creds.tokenKind, 'api-key')
  t.is(statSync(credentialsOf(u.env)).mode & 0o777, 0o600)
  const me = await u.json(['whoami'])
  t.is(me.principal.kind, 'service-account')
  t.deepEqual(me.principal.scopes, ['projects:read'])
})

test('--token-stdin refuses an unknown key and saves nothing', async (t) => {
  const u = cliUser(t, t.context.p)
  const r = await u.run(['login', '--token-stdin', '--json'], {stdin: 'mezu_sa_' + 'x'.repeat(43)})
  t.is(r.code, 1)
  t.is(JSON.parse(r.stderr).error.code, 'unauthenticated')
  t.false(existsSync(credentialsOf(u.env)))
})

test('--invite given no value is a usage error naming the flag (exit 2), with or without --json, and saves nothing', async (t) => {
  const u = cliUser(t, t.context.p)
  for (const args of [['login', '--invite', '--json'], ['login', '--json', '--invite'], ['login', '--invite', '--password-stdin', '--json']]) {
    const r = await u.run(args, {stdin: 'a long enough password'})
    t.is(r.code, 2, args.join(' '))
    t.is(r.stdout, '')
    const err = JSON.parse(r.stderr).error
    t.is(err.code, 'usage')
    t.regex(err.message, /--invite/)
  }
  const plain = await u.run(['login', '--invite'])
  t.is(plain.code, 2)
  t.regex(plain.stderr, /^Error: .*--invite/m)
  t.regex(plain.stderr, /See 'mezu login --help'/)
  t.false(existsSync(credentialsOf(u.env)))
})

test('login without --ca-file and no terminal refuses, naming --ca-file, and pins nothing', async (t) => {
  const u = cliUser(t, t.context.p, {MEZU_CA_FILE: ''})
  const r = await u.run(['login', '--email', ADMIN_EMAIL, '--password-stdin', '--json'], {stdin: ADMIN_PASSWORD})
  t.is(r.code, 1)
  t.is(r.stdout, '')
  const err = JSON.parse(r.stderr).error
  t.is(err.code, 'ca_untrusted')
  t.true(err.message.includes('--ca-file'))
  t.false(existsSync(credentialsOf(u.env)))
})

test('a CA file that did not sign the platform certificate is refused', async (t) => {
  const u = cliUser(t, t.context.p, {MEZU_CA_FILE: ''})
  const other = await startTestPlatform(t)
  const r = await u.run(['login', '--ca-file', other.caPath, '--email', ADMIN_EMAIL, '--password-stdin', '--json'], {stdin: ADMIN_PASSWORD})
  t.is(r.code, 1)
  t.is(JSON.parse(r.stderr).error.code, 'ca_untrusted')
  t.false(existsSync(credentialsOf(u.env)))
})

test('MEZU_TOKEN wins over the stored login, and works with no login at all', async (t) => {
  const {p, saKey} = t.context
  const u = cliUser(t, p)
  await u.json(['login', '--email', ADMIN_EMAIL, '--password-stdin'], {stdin: ADMIN_PASSWORD})
  const me = await u.json(['whoami'], {env: {MEZU_TOKEN: saKey}})
  t.is(me.principal.kind, 'service-account')
  t.is(me.principal.name, 'ci-bot')
  t.is((await u.json(['whoami'])).principal.name, ADMIN_EMAIL)

  const fresh = cliUser(t, p, {MEZU_TOKEN: saKey})
  const m2 = await fresh.json(['whoami'])
  t.is(m2.principal.name, 'ci-bot')
  const bad = await fresh.run(['whoami', '--json'], {env: {MEZU_TOKEN: 'mezu_sess_' + 'y'.repeat(43)}})
  t.is(bad.code, 1)
  t.is(JSON.parse(bad.stderr).error.code, 'unauthenticated')
})
