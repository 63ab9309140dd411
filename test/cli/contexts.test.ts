import {existsSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {loginToken} from '../helpers/api.js'
import {mezu} from '../helpers/cli.js'
import {credentialsOf, storedContexts} from '../helpers/contexts.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'

const hostOf = (url: string) => new URL(url).host

test('two platforms logged in at once: login adds contexts, context use switches, MEZU_CONTEXT picks one per command, remove forgets', async (t) => {
  const [a, b] = await Promise.all([startTestPlatform(t), startTestPlatform(t)])
  const env = {MEZU_CONFIG_DIR: tempDir(t)}
  const run = (args: string[], extra: NodeJS.ProcessEnv = {}, stdin?: string) => mezu(args, {env: {...env, ...extra}, stdin})
  const json = async (args: string[], extra: NodeJS.ProcessEnv = {}, stdin?: string) => {
    const r = await run([...args, '--json'], extra, stdin)
    if (r.code !== 0) t.fail(`mezu ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.json()
  }
  const mode = () => statSync(credentialsOf(env)).mode & 0o777

  const first = await json(['login', '--api-url', a.apiUrl, '--ca-file', a.caPath, '--email', ADMIN_EMAIL, '--password-stdin'], {}, ADMIN_PASSWORD)
  t.is(first.context, hostOf(a.apiUrl), 'named by the API host by default')
  t.is(mode(), 0o600)
  const second = await json(['login', '--api-url', b.apiUrl, '--ca-file', b.caPath, '--email', ADMIN_EMAIL, '--password-stdin', '--context', 'bee'], {}, ADMIN_PASSWORD)
  t.is(second.context, 'bee')
  t.is(mode(), 0o600)

  const list = await json(['context', 'list'])
  t.is(list.current, 'bee', 'the last login is current')
  t.deepEqual(list.items.map((c: any) => [c.name, c.current, c.apiUrl, c.loggedIn, c.principal]), [
    [hostOf(a.apiUrl), false, a.apiUrl, true, ADMIN_EMAIL],
    ['bee', true, b.apiUrl, true, ADMIN_EMAIL],
  ])
  t.false(JSON.stringify(list).includes('mezu_sess_'), 'no token in the list')
  const human = await run(['context'])
  t.regex(human.stdout, /^CURRENT\tNAME\tAPI URL\tUSER\tPROJECT\n\t127\.0\.0\.1:\d+\t/)
  t.regex(human.stdout, /\n\*\tbee\t/)

  await json(['projects', 'create', 'on-b'])
  const names = async (extra: NodeJS.ProcessEnv = {}) => (await json(['projects'], extra)).items.map((p: {name: string}) => p.name)
  t.deepEqual(await names(), ['on-b'])
  t.deepEqual(await names({MEZU_CONTEXT: hostOf(a.apiUrl)}), [], 'MEZU_CONTEXT talks to the other platform for one command')
  t.is((await json(['context', 'list'])).current, 'bee', 'MEZU_CONTEXT changed nothing stored')

  const used = await json(['context', 'use', hostOf(a.apiUrl)])
  t.like(used, {name: hostOf(a.apiUrl), current: true, apiUrl: a.apiUrl})
  t.deepEqual(await names(), [])
  await json(['projects', 'create', 'on-a'])
  await json(['use', 'on-a'])
  t.is((await json(['whoami'])).project, 'on-a')
  t.is((await json(['whoami'], {MEZU_CONTEXT: 'bee'})).project, null, 'each context has its own project')
  t.is(mode(), 0o600)

  const unknown = await run(['projects', '--json'], {MEZU_CONTEXT: 'nope'})
  t.is(unknown.code, 1)
  t.like(JSON.parse(unknown.stderr).error, {code: 'unknown_context'})
  t.regex(JSON.parse(unknown.stderr).error.message, /"nope"/)
  const badUse = await run(['context', 'use', 'nope', '--json'])
  t.is(badUse.code, 1)
  t.is(JSON.parse(badUse.stderr).error.code, 'unknown_context')

  // logout drops the current context's token only
  const aToken = storedContexts(env).contexts[hostOf(a.apiUrl)].token
  const out = await json(['logout'])
  t.like(out, {context: hostOf(a.apiUrl), revoked: true})
  const afterLogout = storedContexts(env)
  t.is(afterLogout.contexts[hostOf(a.apiUrl)].token, undefined)
  t.truthy(afterLogout.contexts[hostOf(a.apiUrl)].caPem, 'the pinned CA stays')
  t.regex(afterLogout.contexts.bee.token, /^mezu_sess_/)
  t.not(aToken, undefined)
  const whoA = await run(['whoami', '--json'])
  t.is(JSON.parse(whoA.stderr).error.code, 'not_logged_in')
  t.deepEqual(await names({MEZU_CONTEXT: 'bee'}), ['on-b'])

  const removed = await json(['context', 'remove', 'bee'])
  t.like(removed, {name: 'bee', current: false})
  t.deepEqual((await json(['context', 'list'])).items.map((c: {name: string}) => c.name), [hostOf(a.apiUrl)])
  t.false(JSON.stringify(storedContexts(env)).includes(b.apiUrl), 'nothing of the removed context is left')
  await json(['context', 'remove', hostOf(a.apiUrl)])
  t.deepEqual(await json(['context', 'list']), {current: null, items: []})
  t.is(mode(), 0o600)
  const nowhere = await run(['projects', '--json'])
  t.is(JSON.parse(nowhere.stderr).error.code, 'no_api_url')
})

test('a credentials file from before contexts is migrated on first use, project included, still 0600', async (t) => {
  const p = await startTestPlatform(t)
  const dir = tempDir(t)
  const token = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  writeFileSync(join(dir, 'credentials.json'), JSON.stringify({apiUrl: p.apiUrl, caPem: p.caPem, token, principal: ADMIN_EMAIL, tokenKind: 'session'}), {mode: 0o600})
  writeFileSync(join(dir, 'config.json'), JSON.stringify({apiUrl: p.apiUrl, project: 'shop', env: 'prod'}), {mode: 0o600})
  const r = await mezu(['whoami', '--json'], {env: {MEZU_CONFIG_DIR: dir}})
  t.is(r.code, 0, r.stderr)
  t.like(r.json(), {apiUrl: p.apiUrl, context: hostOf(p.apiUrl), project: 'shop', env: 'prod', principal: {name: ADMIN_EMAIL}})
  const file = storedContexts({MEZU_CONFIG_DIR: dir})
  t.is(file.version, 2)
  t.is(file.current, hostOf(p.apiUrl))
  t.like(file.contexts[hostOf(p.apiUrl)], {apiUrl: p.apiUrl, caPem: p.caPem, token, tokenKind: 'session', project: 'shop', env: 'prod'})
  t.is(statSync(join(dir, 'credentials.json')).mode & 0o777, 0o600)
  t.false(existsSync(join(dir, 'config.json')), 'the old settings file is folded in and removed')
})

test('logging in again updates the context of that platform, whatever its name; MEZU_CONTEXT names the one to add', async (t) => {
  const p = await startTestPlatform(t)
  const env = {MEZU_CONFIG_DIR: tempDir(t)}
  const login = async (extra: string[] = [], more: NodeJS.ProcessEnv = {}) => {
    const r = await mezu(['login', '--api-url', p.apiUrl, '--ca-file', p.caPath, '--email', ADMIN_EMAIL, '--password-stdin', '--json', ...extra], {env: {...env, ...more}, stdin: ADMIN_PASSWORD})
    t.is(r.code, 0, r.stderr)
    return r.json()
  }
  await login(['--context', 'work'])
  const firstToken = storedContexts(env).contexts.work.token
  t.is((await login()).context, 'work')
  t.deepEqual(Object.keys(storedContexts(env).contexts), ['work'])
  t.not(storedContexts(env).contexts.work.token, firstToken, 'the new session replaced the old one')
  t.is((await login([], {MEZU_CONTEXT: 'spare'})).context, 'spare')
  const file = storedContexts(env)
  t.deepEqual(Object.keys(file.contexts), ['work', 'spare'])
  t.is(file.current, 'spare')
})
