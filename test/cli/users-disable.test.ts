import test from 'ava'
import type {ChangeEvent} from '../../platform/control/feed.js'
import {api, loginToken} from '../helpers/api.js'
import {startTestPlatform} from '../helpers/platform.js'
import {cliUser, ownerCli} from '../helpers/session.js'

const PASSWORD = 'ada password 123'
const err = (stderr: string) => JSON.parse(stderr).error

test('disabling a user revokes all their sessions at once and tells the edge; enabling lets them log in again', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {user, invite} = await owner.json(['users', 'create', '--email', 'ada@example.test'])
  const ada = cliUser(t, platform)
  await ada.json(['login', '--invite', invite.code, '--password-stdin'], {stdin: PASSWORD})
  const apiToken = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PASSWORD)
  t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/v1/me', {token: apiToken})).status, 200)

  const events: ChangeEvent[] = []
  const unsubscribe = platform.ctx.feed.subscribe((e) => events.push(e))
  t.teardown(unsubscribe)
  const disabled = await owner.json(['users', 'disable', 'ada@example.test'])
  t.is(disabled.user.status, 'disabled')
  t.is(disabled.revokedSessions, 2)
  t.true(events.some((e) => e.kind === 'user' && e.id === user.id && e.action === 'revoked'))

  const me = await api(platform.apiUrl, platform.caPem, 'GET', '/v1/me', {token: apiToken})
  t.is(me.status, 401)
  t.is(me.body.error.code, 'token_revoked')
  const cli = await ada.run(['whoami', '--json'])
  t.is(cli.code, 1)
  t.is(err(cli.stderr).code, 'token_revoked')
  const login = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/sessions', {body: {email: 'ada@example.test', password: PASSWORD}})
  t.is(login.status, 401)
  t.regex(login.body.error.message, /disabled/)
  const shown = await owner.json(['users', 'get', 'ada@example.test'])
  t.is(shown.activeSessions, 0)
  t.is(shown.lastLogins[0].result, 'refused-disabled')

  const enabled = await owner.json(['users', 'enable', 'ada@example.test'])
  t.is(enabled.user.status, 'active')
  // Revoked sessions stay revoked; a fresh login works.
  t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/v1/me', {token: apiToken})).status, 401)
  const fresh = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PASSWORD)
  t.is((await api(platform.apiUrl, platform.caPem, 'GET', '/v1/me', {token: fresh})).status, 200)

  const audit = await owner.json(['audit', 'list', '--action', 'user.'])
  const actions = audit.items.map((e: {action: string}) => e.action)
  t.true(actions.includes('user.disable'))
  t.true(actions.includes('user.enable'))
})

test('enabling a disabled user who never set a password puts them back to invited', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['users', 'create', '--email', 'bo@example.test'])
  t.is((await owner.json(['users', 'disable', 'bo@example.test'])).user.status, 'disabled')
  t.is((await owner.json(['users', 'enable', 'bo@example.test'])).user.status, 'invited')
  const list = await owner.json(['users', 'list'])
  t.deepEqual(list.items.map((u: {email: string; status: string}) => `${u.email}:${u.status}`).sort(), ['bo@example.test:invited', 'owner@example.test:active'])
})
