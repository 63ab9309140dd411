import test from 'ava'
import {api} from '../helpers/api.js'
import {startTestPlatform} from '../helpers/platform.js'
import {cliUser, ownerCli} from '../helpers/session.js'

const PASSWORD = 'a new password for ada'

test('an invited user sets a password with the code, is logged in, and can log in again', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const created = await owner.json(['users', 'create', '--email', 'Ada@Example.test', '--name', 'Ada', '--role', 'admin'])
  t.is(created.user.email, 'ada@example.test')
  t.is(created.user.status, 'invited')
  t.regex(created.invite.code, /^mezu_inv_[A-Za-z0-9_-]{43}$/)
  t.true(created.invite.link.startsWith(`https://auth.${platform.domain}:`))
  t.true(created.invite.link.endsWith(`/invite?code=${created.invite.code}`))
  t.true(Date.parse(created.invite.expiresAt) > Date.now())

  // An invited user has no password yet: a password login is refused.
  const early = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/sessions', {body: {email: 'ada@example.test', password: PASSWORD}})
  t.is(early.status, 401)

  const ada = cliUser(t, platform)
  const accepted = await ada.json(['login', '--invite', created.invite.code, '--password-stdin'], {stdin: PASSWORD})
  t.is(accepted.user.email, 'ada@example.test')
  const me = await ada.json(['whoami'])
  t.is(me.principal.name, 'ada@example.test')
  t.is(me.principal.role, 'admin')

  const again = cliUser(t, platform)
  await again.json(['login', '--email', 'ada@example.test', '--password-stdin'], {stdin: PASSWORD})
  const shown = await owner.json(['users', 'get', 'ada@example.test'])
  t.is(shown.status, 'active')
  t.deepEqual(shown.lastLogins.map((l: {method: string; result: string}) => `${l.method}:${l.result}`), ['password:success', 'invite:success', 'password:wrong-password'])
  t.truthy(shown.lastLogins[0].ip)
  t.is(shown.activeSessions, 2)
})

test('refuses a code that was already used, and tells it apart from an unknown one', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {invite} = await owner.json(['users', 'create', '--email', 'bob@example.test'])
  await cliUser(t, platform).json(['login', '--invite', invite.code, '--password-stdin'], {stdin: PASSWORD})

  const reuse = await cliUser(t, platform).run(['login', '--invite', invite.code, '--password-stdin', '--json'], {stdin: 'another password'})
  t.is(reuse.code, 1)
  t.is(JSON.parse(reuse.stderr).error.code, 'invite_used')
  t.regex(JSON.parse(reuse.stderr).error.message, /already used/)
  // The second attempt changed nothing: the first password still works.
  const r = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/sessions', {body: {email: 'bob@example.test', password: PASSWORD}})
  t.is(r.status, 201)

  const unknown = await cliUser(t, platform).run(['login', '--invite', 'mezu_inv_' + 'x'.repeat(43), '--password-stdin', '--json'], {stdin: PASSWORD})
  t.is(unknown.code, 1)
  t.is(JSON.parse(unknown.stderr).error.code, 'not_found')
  t.regex(JSON.parse(unknown.stderr).error.message, /not known/)
})

test('refuses an expired code, and a new invitation replaces it', async (t) => {
  const platform = await startTestPlatform(t, {inviteTtlMs: 1})
  const owner = await ownerCli(t, platform)
  const {invite} = await owner.json(['users', 'create', '--email', 'cy@example.test'])
  const r = await cliUser(t, platform).run(['login', '--invite', invite.code, '--password-stdin', '--json'], {stdin: PASSWORD})
  t.is(r.code, 1)
  t.is(JSON.parse(r.stderr).error.code, 'invite_expired')
  t.is((await owner.json(['users', 'get', 'cy@example.test'])).status, 'invited')
})

test('a re-issued invitation voids the earlier code', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const first = await owner.json(['users', 'create', '--email', 'dee@example.test'])
  const second = await owner.json(['users', 'invite', 'dee@example.test'])
  t.not(first.invite.code, second.invite.code)
  const old = await cliUser(t, platform).run(['login', '--invite', first.invite.code, '--password-stdin', '--json'], {stdin: PASSWORD})
  t.is(JSON.parse(old.stderr).error.code, 'invite_expired')
  await cliUser(t, platform).json(['login', '--invite', second.invite.code, '--password-stdin'], {stdin: PASSWORD})
  const again = await owner.run(['users', 'invite', 'dee@example.test', '--json'])
  t.is(again.code, 1)
  t.is(JSON.parse(again.stderr).error.code, 'conflict')
})

test('refuses a new password shorter than 8 characters, on the CLI and at the API', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {invite} = await owner.json(['users', 'create', '--email', 'eve@example.test'])
  const cli = await cliUser(t, platform).run(['login', '--invite', invite.code, '--password-stdin', '--json'], {stdin: 'short'})
  t.is(cli.code, 1)
  t.regex(JSON.parse(cli.stderr).error.message, /at least 8/)
  const raw = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/invites/accept', {body: {code: invite.code, password: 'short'}})
  t.is(raw.status, 400)
  t.is(raw.body.error.field, 'password')
  // The refused attempts did not use the code up.
  await cliUser(t, platform).json(['login', '--invite', invite.code, '--password-stdin'], {stdin: PASSWORD})
})

test('without a terminal, login --invite without --password-stdin names the flag', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {invite} = await owner.json(['users', 'create', '--email', 'fay@example.test'])
  const r = await cliUser(t, platform).run(['login', '--invite', invite.code, '--json'])
  t.is(r.code, 2)
  t.regex(JSON.parse(r.stderr).error.message, /--password-stdin/)
})
