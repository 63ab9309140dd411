import test from 'ava'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {cliUser, ownerCli} from '../helpers/session.js'

const err = (stderr: string) => JSON.parse(stderr).error

test('refuses a duplicate email (in any letter case) with 409 conflict', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['users', 'create', '--email', 'ann@example.test'])
  const r = await owner.run(['users', 'create', '--email', 'ANN@example.test', '--json'])
  t.is(r.code, 1)
  t.is(err(r.stderr).code, 'conflict')
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const raw = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/users', {token, body: {email: 'ann@EXAMPLE.test'}})
  t.is(raw.status, 409)
  t.is(raw.body.error.field, 'email')
  t.is((await owner.json(['users'])).items.length, 2)
})

test('refuses a bad email and a bad role, naming them', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const badEmail = await owner.run(['users', 'create', '--email', 'not an email', '--json'])
  t.is(badEmail.code, 2, 'input the API refuses as invalid is a usage error')
  t.is(err(badEmail.stderr).code, 'invalid_request')
  t.regex(err(badEmail.stderr).message, /email/)
  const badRole = await owner.run(['users', 'create', '--email', 'x@example.test', '--role', 'emperor', '--json'])
  t.is(badRole.code, 2)
  t.regex(err(badRole.stderr).message, /role/)
  t.is((await owner.json(['users'])).items.length, 1)
})

test('refuses an unknown user on get, update, disable, enable and delete', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  for (const args of [['get', 'nobody@example.test'], ['update', 'nobody@example.test', '--name', 'N'], ['disable', 'nobody@example.test'], ['enable', 'nobody@example.test'], ['delete', 'nobody@example.test', '--yes']]) {
    const r = await owner.run(['users', ...args, '--json'])
    t.is(r.code, 1, args.join(' '))
    t.is(err(r.stderr).code, 'not_found', args.join(' '))
    t.regex(err(r.stderr).message, /nobody@example\.test/)
  }
})

test('only an owner may create or promote owners, and the last active owner cannot be demoted', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {invite} = await owner.json(['users', 'create', '--email', 'adm@example.test', '--role', 'admin'])
  const admin = cliUser(t, platform)
  await admin.json(['login', '--invite', invite.code, '--password-stdin'], {stdin: 'admin password 1'})

  const created = await admin.json(['users', 'create', '--email', 'm@example.test'])
  t.is(created.user.role, 'member')
  const owners = await admin.run(['users', 'create', '--email', 'o@example.test', '--role', 'owner', '--json'])
  t.is(err(owners.stderr).code, 'forbidden')
  const promote = await admin.run(['users', 'update', 'm@example.test', '--role', 'owner', '--json'])
  t.is(err(promote.stderr).code, 'forbidden')
  const touchOwner = await admin.run(['users', 'disable', ADMIN_EMAIL, '--json'])
  t.is(err(touchOwner.stderr).code, 'forbidden')

  const demote = await owner.run(['users', 'update', ADMIN_EMAIL, '--role', 'admin', '--json'])
  t.is(err(demote.stderr).code, 'conflict')
  t.regex(err(demote.stderr).message, /last active owner/)
  const disable = await owner.run(['users', 'disable', ADMIN_EMAIL, '--json'])
  t.is(err(disable.stderr).code, 'conflict')
  t.is((await owner.json(['users', 'get', ADMIN_EMAIL])).role, 'owner')

  // A member cannot read or write users at all.
  const {invite: mi} = await owner.json(['users', 'invite', 'm@example.test'])
  const member = cliUser(t, platform)
  await member.json(['login', '--invite', mi.code, '--password-stdin'], {stdin: 'member password'})
  t.is(err((await member.run(['users', '--json'])).stderr).code, 'forbidden')
  t.is(err((await member.run(['users', 'create', '--email', 'z@example.test', '--json'])).stderr).code, 'forbidden')
})

test('updates name, email and role; the new email logs in', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {invite} = await owner.json(['users', 'create', '--email', 'old@example.test'])
  await cliUser(t, platform).json(['login', '--invite', invite.code, '--password-stdin'], {stdin: 'password one'})
  const u = await owner.json(['users', 'update', 'old@example.test', '--email', 'new@example.test', '--name', 'New', '--role', 'admin'])
  t.like(u, {email: 'new@example.test', name: 'New', role: 'admin', status: 'active'})
  await cliUser(t, platform).json(['login', '--email', 'new@example.test', '--password-stdin'], {stdin: 'password one'})
  const gone = await owner.run(['users', 'get', 'old@example.test', '--json'])
  t.is(err(gone.stderr).code, 'not_found')
  const none = await owner.run(['users', 'update', 'new@example.test', '--json'])
  t.is(none.code, 2)
})

test('a service account with users:write may create users but not owners; one with users:read may not create', async (t) => {
  const platform = await startTestPlatform(t)
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const writer = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/service-accounts', {token, body: {name: 'hr-sync', scopes: ['users:write']}})
  const reader = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/service-accounts', {token, body: {name: 'hr-read', scopes: ['users:read']}})
  const asWriter = cliUser(t, platform, {MEZU_TOKEN: writer.body.apiKey})
  const created = await asWriter.json(['users', 'create', '--email', 'sa-made@example.test', '--role', 'admin'])
  t.is(created.user.role, 'admin')
  const owner = await asWriter.run(['users', 'create', '--email', 'sa-owner@example.test', '--role', 'owner', '--json'])
  t.is(err(owner.stderr).code, 'forbidden')
  const asReader = cliUser(t, platform, {MEZU_TOKEN: reader.body.apiKey})
  t.is((await asReader.json(['users'])).items.length, 2)
  const denied = await asReader.run(['users', 'create', '--email', 'r@example.test', '--json'])
  t.is(err(denied.stderr).code, 'forbidden')
  t.regex(err(denied.stderr).message, /users:write/)
})
