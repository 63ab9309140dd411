import test from 'ava'
import type {ChangeEvent} from '../../platform/control/feed.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {errorOf, seedUser} from '../helpers/seed-user.js'
import {ownerCli} from '../helpers/session.js'

const PW = 'a long enough password'

/** Polls until `check` says yes or the deadline passes; returns the last answer. */
async function until<T>(deadlineMs: number, fn: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const end = Date.now() + deadlineMs
  let v = await fn()
  while (!done(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100))
    v = await fn()
  }
  return v
}

const me = (p: TestPlatform, token: string) => api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token})

// Serial on purpose: each test spawns many CLI processes; one at a time, results arrive steadily
// instead of all at the end of a long CPU-bound stretch (ava's timeout counts time without results).
test.serial('revoking one session by id ends it at once and publishes a session feed event', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await seedUser(platform, 'ada@example.test', {password: PW})
  const token = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW)
  const other = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW)
  t.is((await me(platform, token)).status, 200)

  const listed = await cli.json(['sessions', 'list', '--user', 'ada@example.test'])
  t.is(listed.items.length, 2)
  for (const s of listed.items) {
    t.is(s.ip, '127.0.0.1')
    t.is(s.userEmail, 'ada@example.test')
    t.truthy(s.lastUsedAt)
    t.false('token' in s)
  }
  const mine = (await me(platform, token)).body.principal.sessionId as string

  const events: ChangeEvent[] = []
  t.teardown(platform.ctx.feed.subscribe((e) => events.push(e)))
  const r = await cli.json(['sessions', 'revoke', mine])
  t.deepEqual(r.revoked, [mine])
  const after = await me(platform, token)
  t.is(after.status, 401)
  t.is(after.body.error.code, 'token_revoked')
  t.is((await me(platform, other)).status, 200, 'the other session lives on')
  t.deepEqual(events.map((e) => [e.kind, e.id, e.action]), [['session', mine, 'revoked']])

  const again = await cli.run(['sessions', 'revoke', mine, '--json'])
  t.is(again.code, 1)
  t.is(errorOf(again.stderr).code, 'conflict')
})

test.serial('revoke --user ends every session of that user; --all spares only the caller', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await seedUser(platform, 'ada@example.test', {password: PW})
  await seedUser(platform, 'bob@example.test', {password: PW})
  const ada = [await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW), await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW)]
  const bob = await loginToken(platform.apiUrl, platform.caPem, 'bob@example.test', PW)

  const events: ChangeEvent[] = []
  t.teardown(platform.ctx.feed.subscribe((e) => events.push(e)))
  const byUser = await cli.json(['sessions', 'revoke', '--user', 'ada@example.test'])
  t.is(byUser.revoked.length, 2)
  t.is(events.filter((e) => e.kind === 'session' && e.action === 'revoked').length, 2, 'one event per revoked session')
  for (const tok of ada) t.is((await me(platform, tok)).body.error.code, 'token_revoked')
  t.is((await me(platform, bob)).status, 200)

  const all = await cli.json(['sessions', 'revoke', '--all'])
  t.truthy(all.kept)
  t.is(all.revoked.length, 1)
  t.is((await me(platform, bob)).body.error.code, 'token_revoked')
  const left = await cli.json(['sessions', 'list'])
  t.deepEqual(left.items.map((s: {id: string}) => s.id), [all.kept], 'the owner is still logged in')
})

test.serial('a member sees and revokes only their own sessions', async (t) => {
  const platform = await startTestPlatform(t)
  await seedUser(platform, 'ada@example.test', {password: PW})
  const owner = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const ada = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW)
  const list = await api(platform.apiUrl, platform.caPem, 'GET', '/v1/sessions', {token: ada})
  t.is(list.status, 200)
  t.is(list.body.items.length, 1)
  const ownerSession = (await me(platform, owner)).body.principal.sessionId
  const del = await api(platform.apiUrl, platform.caPem, 'DELETE', `/v1/sessions/${ownerSession}`, {token: ada})
  t.is(del.status, 404, 'another user\'s session is not within reach')
  const others = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/sessions/revoke', {token: ada, body: {user: 'owner@example.test'}})
  t.is(others.status, 403)
  t.is((await me(platform, owner)).status, 200)
})

test.serial('refuses a revoke without exactly one target, and unknown users and sessions', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  for (const args of [['sessions', 'revoke'], ['sessions', 'revoke', 'ses_00000000000000000000', '--all'], ['sessions', 'revoke', '--user', 'a@b.c', '--all']]) {
    const r = await cli.run([...args, '--json'])
    t.is(r.code, 2, args.join(' '))
    t.is(errorOf(r.stderr).code, 'usage')
  }
  const unknownUser = await cli.run(['sessions', 'revoke', '--user', 'nobody@example.test', '--json'])
  t.is(unknownUser.code, 1)
  t.is(errorOf(unknownUser.stderr).code, 'not_found')
  const unknownSession = await cli.run(['sessions', 'revoke', 'ses_00000000000000000000', '--json'])
  t.is(errorOf(unknownSession.stderr).code, 'not_found')
  t.is((await cli.json(['sessions', 'list'])).items.length, 1, 'the owner\'s session is untouched')
})

// Runs alone (serial), so password hashing in other tests cannot stall the clock it races.
test.serial('a session unused for longer than the idle timeout expires', async (t) => {
  const platform = await startTestPlatform(t, {sessionIdleMs: 1500})
  const ada = await seedUser(platform, 'ada@example.test', {password: PW})
  const token = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW)
  t.is((await me(platform, token)).status, 200)
  // Watch through the owner's session: using ada's token would keep it alive.
  const owner = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const active = () => api(platform.apiUrl, platform.caPem, 'GET', `/v1/sessions?user=${ada.id}`, {token: owner})
  const listed = await until(15_000, active, (x) => x.status !== 200 || x.body.items.length === 0)
  t.is(listed.status, 200)
  t.deepEqual(listed.body.items, [], 'the idle session left the active list')
  const r = await me(platform, token)
  t.is(r.status, 401)
  t.is(r.body.error.code, 'token_expired')
})

// Runs alone (serial), so password hashing in other tests cannot stall the clock it races.
test.serial('a session in use still ends at its maximum age', async (t) => {
  const platform = await startTestPlatform(t, {sessionMaxAgeMs: 2000, sessionIdleMs: 60_000})
  await seedUser(platform, 'ada@example.test', {password: PW})
  const token = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW)
  let ok = 0
  const r = await until(15_000, async () => {
    const x = await me(platform, token)
    if (x.status === 200) ok++
    return x
  }, (x) => x.status === 401)
  t.true(ok >= 1, 'it worked while young')
  t.is(r.body.error.code, 'token_expired')
})

// Runs alone (serial), so password hashing in other tests cannot stall the clock it races.
test.serial('a session in regular use outlives the idle timeout', async (t) => {
  const platform = await startTestPlatform(t, {sessionIdleMs: 2000})
  await seedUser(platform, 'ada@example.test', {password: PW})
  const token = await loginToken(platform.apiUrl, platform.caPem, 'ada@example.test', PW)
  const started = Date.now()
  // Use it every ~150 ms for over two idle periods: it must never expire meanwhile.
  while (Date.now() - started < 5000) {
    const x = await me(platform, token)
    t.is(x.status, 200)
    if (x.status !== 200) return
    await new Promise((r) => setTimeout(r, 150))
  }
})
