import test from 'ava'
import {api} from '../helpers/api.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {errorOf} from '../helpers/seed-user.js'
import {cliUser, ownerCli} from '../helpers/session.js'

const me = (p: TestPlatform, token: string) => api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token})

async function until<T>(deadlineMs: number, fn: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const end = Date.now() + deadlineMs
  let v = await fn()
  while (!done(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100))
    v = await fn()
  }
  return v
}

// Serial on purpose: each test spawns many CLI processes; one at a time, results arrive steadily
// instead of all at the end of a long CPU-bound stretch (ava's timeout counts time without results).
// Alone, the rotation and expiry tests cannot be stalled by others while they race a clock.
test.serial('after rotation with a grace period the old key works, then fails with token_expired', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {apiKey: oldKey} = await owner.json(['service-accounts', 'create', 'roller', '--scope', 'routes:read'])
  const rotated = await owner.json(['service-accounts', 'rotate-key', 'roller', '--grace', '3s'])
  t.not(rotated.apiKey, oldKey)
  t.truthy(rotated.previousKeyValidUntil)
  t.is((await me(platform, oldKey)).status, 200, 'the old key still works during the grace period')
  t.is((await me(platform, rotated.apiKey)).status, 200)
  const r = await until(15_000, () => me(platform, oldKey), (x) => x.status === 401)
  t.is(r.body.error.code, 'token_expired')
  t.regex(r.body.error.message, /expired/)
  t.is((await me(platform, rotated.apiKey)).status, 200, 'the new key lives on')

  // Without a grace period the old key stops at once.
  const again = await owner.json(['service-accounts', 'rotate-key', 'roller'])
  t.is(again.previousKeyValidUntil, null)
  const dead = await me(platform, rotated.apiKey)
  t.is(dead.status, 401)
  t.is(dead.body.error.code, 'token_revoked')
  t.is((await me(platform, again.apiKey)).status, 200)
})

test.serial('a key of an account created with --expires fails with token_expired once it has passed', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const created = await owner.json(['service-accounts', 'create', 'brief', '--scope', 'routes:read', '--expires', '2s'])
  t.truthy(created.serviceAccount.expiresAt)
  const r = await until(15_000, () => me(platform, created.apiKey), (x) => x.status === 401)
  t.is(r.body.error.code, 'token_expired')
  const ci = cliUser(t, platform, {MEZU_TOKEN: created.apiKey})
  const cli = await ci.run(['routes', 'list', '--json'])
  t.is(cli.code, 1)
  t.is(errorOf(cli.stderr).code, 'token_expired')
  t.regex(errorOf(cli.stderr).message, /expired/)
  t.is((await owner.json(['service-accounts', 'get', 'brief'])).status, 'expired')
})

test.serial('a service account limited to routes:write on project A creates routes there and nothing else', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  for (const p of ['alpha', 'beta']) {
    await owner.json(['projects', 'create', p])
    await owner.json(['envs', 'create', 'production', '--project', p])
  }
  const {apiKey, serviceAccount} = await owner.json(['service-accounts', 'create', 'deployer', '--scope', 'routes:write', '--project', 'alpha'])
  t.is(serviceAccount.projectId, (await owner.json(['projects', 'get', 'alpha'])).id)
  const sa = cliUser(t, platform, {MEZU_TOKEN: apiKey})

  const route = await sa.json(['routes', 'create', '--hostname', 'alpha-web', '--service', 'web', '--project', 'alpha'])
  t.is(route.hostname, 'alpha-web.mezu.localhost')
  t.deepEqual((await sa.json(['routes', 'list'])).items.map((r: {id: string}) => r.id), [route.id])

  const refused: Array<[string[], string]> = [
    [['routes', 'create', '--hostname', 'beta-web', '--service', 'web', '--project', 'beta'], 'not_found'],
    [['projects', 'create', 'gamma'], 'forbidden'],
    [['policies', 'create', 'open', '--public', '--project', 'alpha'], 'forbidden'],
    [['service-accounts', 'list'], 'forbidden'],
    [['service-accounts', 'create', 'twin', '--scope', 'routes:write', '--project', 'alpha'], 'forbidden'],
    [['directories', 'list'], 'forbidden'],
    [['sessions', 'list'], 'forbidden'],
    [['audit', 'list'], 'forbidden'],
  ]
  for (const [args, code] of refused) {
    const r = await sa.run([...args, '--json'])
    t.is(r.code, code === 'invalid_request' ? 2 : 1, args.join(' '))
    t.is(errorOf(r.stderr).code, code, args.join(' '))
  }
  const betaRoutes = await owner.json(['routes', 'list', '--project', 'beta'])
  t.deepEqual(betaRoutes.items, [], 'nothing was created in beta')
  t.deepEqual((await owner.json(['projects'])).items.map((p: {name: string}) => p.name).sort(), ['alpha', 'beta'])
})

test.serial('revoking an account makes its key fail with 401 token_revoked; deleting it makes the key unknown', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {apiKey} = await owner.json(['service-accounts', 'create', 'bot', '--scope', 'routes:read'])
  const sa = cliUser(t, platform, {MEZU_TOKEN: apiKey})
  await sa.json(['routes', 'list'])
  const revoked = await owner.json(['service-accounts', 'revoke', 'bot'])
  t.is(revoked.status, 'revoked')
  const r = await sa.run(['routes', 'list', '--json'])
  t.is(r.code, 1)
  t.is(errorOf(r.stderr).code, 'token_revoked')
  t.regex(errorOf(r.stderr).message, /revoked/)
  const raw = await me(platform, apiKey)
  t.is(raw.status, 401)
  t.is(raw.body.error.code, 'token_revoked')

  await owner.json(['service-accounts', 'delete', 'bot'])
  t.is((await me(platform, apiKey)).body.error.code, 'unauthenticated')
  t.deepEqual((await owner.json(['service-accounts', 'list'])).items, [])
})

test.serial('the API key is printed once at creation and never by list or get', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const created = await owner.json(['service-accounts', 'create', 'ci', '--scope', 'routes:write', '--scope', 'projects:read', '--description', 'the CI job'])
  t.regex(created.apiKey, /^\S{20,}$/)
  t.deepEqual(created.serviceAccount.scopes, ['routes:write', 'projects:read'])
  const human = await owner.run(['service-accounts', 'get', 'ci'])
  const list = await owner.run(['service-accounts', 'list', '--json'])
  const got = await owner.run(['service-accounts', 'get', created.serviceAccount.id, '--json'])
  for (const r of [human, list, got]) {
    t.is(r.code, 0)
    t.false(r.stdout.includes(created.apiKey))
  }
  t.is(got.json().description, 'the CI job')
})

test.serial('refuses bad input with a clear error and writes nothing', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['service-accounts', 'create', 'taken', '--scope', 'routes:read'])
  const cases: Array<[string[], string, RegExp]> = [
    [['service-accounts', 'create', 'old', '--scope', 'routes:read', '--expires', '2020-01-01'], 'invalid_request', /expires is in the past/],
    [['service-accounts', 'create', 'odd', '--scope', 'routes:read', '--expires', 'soon'], 'invalid_request', /expires must be a duration/],
    [['service-accounts', 'create', 'wide', '--scope', 'everything:read'], 'invalid_request', /unknown scope "everything:read"/],
    [['service-accounts', 'create', 'taken', '--scope', 'routes:read'], 'conflict', /already exists/],
    [['service-accounts', 'create', 'lost', '--scope', 'routes:read', '--project', 'nowhere'], 'not_found', /nowhere/],
    [['service-accounts', 'rotate-key', 'taken', '--grace', 'a while'], 'invalid_request', /grace/],
    [['service-accounts', 'get', 'ghost'], 'not_found', /ghost/],
  ]
  for (const [args, code, message] of cases) {
    const r = await owner.run([...args, '--json'])
    t.is(r.code, code === 'invalid_request' ? 2 : 1, args.join(' '))
    t.is(errorOf(r.stderr).code, code, args.join(' '))
    t.regex(errorOf(r.stderr).message, message, args.join(' '))
  }
  const missingScope = await owner.run(['service-accounts', 'create', 'bare', '--json'])
  t.is(missingScope.code, 2)
  const names = (await owner.json(['service-accounts', 'list'])).items.map((a: {name: string}) => a.name)
  t.deepEqual(names, ['taken'], 'no account was created by a refused command')
})

test.serial('a project-scoped account that manages accounts sees only those of its own project', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  for (const p of ['alpha', 'beta']) await owner.json(['projects', 'create', p])
  const {apiKey} = await owner.json(['service-accounts', 'create', 'alpha-admin', '--scope', 'service-accounts:write', '--scope', 'routes:read', '--project', 'alpha'])
  await owner.json(['service-accounts', 'create', 'beta-bot', '--scope', 'routes:read', '--project', 'beta'])
  const sa = cliUser(t, platform, {MEZU_TOKEN: apiKey})
  const child = await sa.json(['service-accounts', 'create', 'alpha-bot', '--scope', 'routes:read', '--project', 'alpha'])
  t.truthy(child.apiKey)
  t.deepEqual((await sa.json(['service-accounts', 'list'])).items.map((a: {name: string}) => a.name).sort(), ['alpha-admin', 'alpha-bot'])
  for (const args of [['service-accounts', 'get', 'beta-bot'], ['service-accounts', 'revoke', 'beta-bot']]) {
    const r = await sa.run([...args, '--json'])
    t.is(errorOf(r.stderr).code, 'not_found', args.join(' '))
  }
  t.is((await owner.json(['service-accounts', 'get', 'beta-bot'])).status, 'active')
})
