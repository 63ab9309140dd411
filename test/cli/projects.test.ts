import anyTest, {type TestFn} from 'ava'
import {createUser} from '../../platform/store/identity/users.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {type CliUser, ownerCli} from '../helpers/session.js'
import {hookScope} from '../helpers/shared.js'

const test = anyTest as TestFn<{p: TestPlatform}>
const scope = hookScope()

test.before(async (t) => {
  t.context = {p: await startTestPlatform(scope.t)}
})
test.after.always(() => scope.dispose())

/** Runs with --json expecting failure: exit 1, nothing on stdout, a JSON error on stderr. */
async function refused(t: any, u: CliUser, args: string[]): Promise<{code: string; message: string}> {
  const r = await u.run([...args, '--json'])
  // input the API refuses as invalid is a usage error (2), anything else exits 1
  t.is(r.code, JSON.parse(r.stderr).error.code === 'invalid_request' ? 2 : 1, `mezu ${args.join(' ')}: ${r.stderr}`)
  t.is(r.stdout, '')
  return JSON.parse(r.stderr).error
}

test('creates, lists, gets, renames and deletes projects and environments with --json', async (t) => {
  const u = await ownerCli(t, t.context.p)
  const created = await u.json(['projects', 'create', 'shop', '--description', 'web shop'])
  t.is(created.name, 'shop')
  t.is(created.description, 'web shop')
  t.regex(created.id, /^prj_[0-9a-z]{20}$/)

  const env = await u.json(['envs', 'create', 'prod', '--project', 'shop'])
  t.is(env.name, 'prod')
  t.is(env.projectId, created.id)
  t.regex(env.id, /^env_[0-9a-z]{20}$/)
  await u.json(['envs', 'create', 'staging', '--project', created.id])

  // (other tests share this platform, so look for ours only)
  const list = await u.json(['projects', 'list'])
  t.deepEqual(list.items.filter((p: any) => p.id === created.id), [created])
  t.true((await u.json(['projects'])).items.some((p: any) => p.id === created.id), 'the topic alone lists too')

  const got = await u.json(['projects', 'get', 'shop'])
  t.is(got.id, created.id)
  t.deepEqual(got.environments.map((e: any) => e.name), ['prod', 'staging'])
  t.is((await u.json(['projects', 'get', created.id])).name, 'shop', 'ids work where names do')

  const envs = await u.json(['envs', 'list', '--project', 'shop'])
  t.deepEqual(envs.items.map((e: any) => e.name), ['prod', 'staging'])

  const renamed = await u.json(['projects', 'rename', 'shop', 'store'])
  t.is(renamed.name, 'store')
  t.is(renamed.id, created.id)
  t.is((await refused(t, u, ['projects', 'get', 'shop'])).code, 'not_found')

  t.deepEqual(await u.json(['envs', 'delete', 'staging', '--project', 'store']), {deleted: 'staging'})
  t.deepEqual((await u.json(['envs', '--project', 'store'])).items.map((e: any) => e.name), ['prod'])
  t.is((await refused(t, u, ['envs', 'delete', 'staging', '--project', 'store'])).code, 'not_found')

  const human = await u.run(['projects'])
  t.is(human.code, 0)
  t.regex(human.stdout, /NAME[\s\S]*store/)

  // the audit log saw every change, newest first, with who did it
  const audit = await u.json(['audit', 'list', '--action', 'project.'])
  const ours = audit.items.filter((e: any) => e.target.id === created.id)
  t.deepEqual(ours.map((e: any) => e.action), ['project.update', 'project.create'])
  t.true(ours.every((e: any) => e.actor.kind === 'user' && e.actor.id && e.ip === '127.0.0.1'))
})

test('refuses to delete a project with environments unless --force, then deletes it and them', async (t) => {
  const u = await ownerCli(t, t.context.p)
  const project = await u.json(['projects', 'create', 'cart'])
  const env = await u.json(['envs', 'create', 'prod', '--project', 'cart'])
  const err = await refused(t, u, ['projects', 'delete', 'cart'])
  t.is(err.code, 'not_empty')
  t.regex(err.message, /--force/)
  t.is((await u.json(['projects', 'get', 'cart'])).environments.length, 1, 'nothing was deleted')
  const human = await u.run(['projects', 'delete', 'cart'])
  t.is(human.code, 1)
  t.regex(human.stderr, /^Error: .*environment/)

  t.deepEqual(await u.json(['projects', 'delete', 'cart', '--force']), {deleted: 'cart'})
  t.is((await refused(t, u, ['projects', 'get', project.id])).code, 'not_found')
  t.is((await t.context.p.ctx.cdb.db.selectFrom('environments').select('id').where('id', '=', env.id).execute()).length, 0)

  await u.json(['projects', 'create', 'empty'])
  t.deepEqual(await u.json(['projects', 'delete', 'empty']), {deleted: 'empty'}, 'an empty project needs no --force')
})

test('refuses duplicate names (in any letter case) with conflict', async (t) => {
  const u = await ownerCli(t, t.context.p)
  await u.json(['projects', 'create', 'dup'])
  let err = await refused(t, u, ['projects', 'create', 'DUP'])
  t.is(err.code, 'conflict')
  t.regex(err.message, /DUP/)
  await u.json(['projects', 'create', 'dup2'])
  t.is((await refused(t, u, ['projects', 'rename', 'dup2', 'dup'])).code, 'conflict')
  await u.json(['envs', 'create', 'prod', '--project', 'dup'])
  err = await refused(t, u, ['envs', 'create', 'prod', '--project', 'dup'])
  t.is(err.code, 'conflict')
  await u.json(['envs', 'create', 'prod', '--project', 'dup2'])
  t.pass('the same environment name in another project is fine')
  t.is((await refused(t, u, ['projects', 'create', 'bad name!'])).code, 'invalid_request')
})

test('`mezu use shop/prod` makes later commands default to that project', async (t) => {
  const u = await ownerCli(t, t.context.p)
  await u.json(['projects', 'create', 'usable'])
  await u.json(['envs', 'create', 'prod', '--project', 'usable'])
  const err = await refused(t, u, ['envs'])
  t.is(err.code, 'no_scope')
  t.regex(err.message, /--project/)

  const used = await u.json(['use', 'usable/prod'])
  t.is(used.project.name, 'usable')
  t.is(used.environment.name, 'prod')
  t.deepEqual((await u.json(['envs'])).items.map((e: any) => e.name), ['prod'])
  const me = await u.json(['whoami'])
  t.is(me.project, 'usable')
  t.is(me.env, 'prod')
  await u.json(['envs', 'create', 'staging'])
  t.deepEqual((await u.json(['envs', 'list'])).items.map((e: any) => e.name), ['prod', 'staging'])

  t.is((await refused(t, u, ['use', 'usable/nope'])).code, 'not_found')
  t.is((await refused(t, u, ['use', 'nope'])).code, 'not_found')
  t.is((await u.json(['whoami'])).project, 'usable', 'a failed use changes nothing')
  const bad = await u.run(['use', 'a/b/c', '--json'])
  t.is(bad.code, 2)
  // MEZU_PROJECT wins over `mezu use`
  await u.json(['projects', 'create', 'other'])
  t.deepEqual((await u.json(['envs'], {env: {MEZU_PROJECT: 'other'}})).items, [])
})

test('project members are listed, added and removed', async (t) => {
  const {p} = t.context
  const u = await ownerCli(t, p)
  await createUser(p.ctx.idb, {email: 'dev@example.test', name: 'dev', role: 'member', status: 'active', passwordHash: null})
  await u.json(['projects', 'create', 'team'])
  const owner = (await u.json(['whoami'])).principal
  t.deepEqual((await u.json(['projects', 'members', 'team'])).items.map((m: any) => m.email), [owner.name], 'the creator is a member')
  const added = await u.json(['projects', 'add-member', 'team', 'dev@example.test'])
  t.is(added.email, 'dev@example.test')
  t.is(added.passwordHash, undefined)
  t.deepEqual((await u.json(['projects', 'members', 'team'])).items.map((m: any) => m.email).sort(), ['dev@example.test', owner.name].sort())
  t.deepEqual(await u.json(['projects', 'remove-member', 'team', 'dev@example.test']), {project: 'team', removed: 'dev@example.test'})
  t.deepEqual((await u.json(['projects', 'members', 'team'])).items.map((m: any) => m.email), [owner.name])
  t.is((await refused(t, u, ['projects', 'remove-member', 'team', 'dev@example.test'])).code, 'not_found')
  t.is((await refused(t, u, ['projects', 'add-member', 'team', 'ghost@example.test'])).code, 'not_found')
  t.is((await refused(t, u, ['projects', 'add-member', 'nope', 'dev@example.test'])).code, 'not_found')
})
