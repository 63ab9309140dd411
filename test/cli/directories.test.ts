import test from 'ava'
import {directoryIdsOfUser, directoryPath, listMemberships, loadDirectoryTree} from '../../platform/store/identity/directories.js'
import {startTestPlatform} from '../helpers/platform.js'
import {errorOf, seedUser} from '../helpers/seed-user.js'
import {ownerCli} from '../helpers/session.js'

// Serial on purpose: each test spawns many CLI processes; one at a time, results arrive steadily
// instead of all at the end of a long CPU-bound stretch (ava's timeout counts time without results).
test.serial('a member of eng/platform is in eng for policy purposes, and not in a sibling', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  const ada = await seedUser(platform, 'ada@example.test')
  const eng = await cli.json(['directories', 'create', 'eng'])
  const plat = await cli.json(['directories', 'create', 'platform', '--parent', 'eng'])
  const sales = await cli.json(['directories', 'create', 'sales'])
  t.is(plat.path, 'eng/platform')
  t.is(plat.parentId, eng.id)

  const added = await cli.json(['directories', 'add-member', 'eng/platform', 'ada@example.test'])
  t.is(added.memberCount, 1)
  const members = await cli.json(['directories', 'members', 'eng/platform'])
  t.deepEqual(members.items.map((m: {email: string}) => m.email), ['ada@example.test'])
  t.deepEqual((await cli.json(['directories', 'members', 'eng'])).items, [], 'eng has no direct members')

  const tree = await loadDirectoryTree(platform.ctx.idb)
  const groups = directoryIdsOfUser(tree, await listMemberships(platform.ctx.idb), ada.id)
  t.deepEqual(groups, [eng.id, plat.id].sort())
  t.false(groups.includes(sales.id))
  t.is(directoryPath(tree, plat.id), 'eng/platform')
  t.is(directoryPath(tree, 'dir_00000000000000000000'), undefined)

  // Moving platform to the top takes its members out of eng.
  const moved = await cli.json(['directories', 'move', 'eng/platform', '--root'])
  t.is(moved.path, 'platform')
  t.deepEqual(directoryIdsOfUser(await loadDirectoryTree(platform.ctx.idb), await listMemberships(platform.ctx.idb), ada.id), [plat.id])

  await cli.json(['directories', 'remove-member', 'platform', 'ada@example.test'])
  t.deepEqual(directoryIdsOfUser(await loadDirectoryTree(platform.ctx.idb), await listMemberships(platform.ctx.idb), ada.id), [])
})

test.serial('refuses to move a directory under itself or one of its descendants', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await cli.json(['directories', 'create', 'eng'])
  await cli.json(['directories', 'create', 'platform', '--parent', 'eng'])
  await cli.json(['directories', 'create', 'sre', '--parent', 'eng/platform'])
  const before = await cli.json(['directories', 'list'])

  for (const target of ['eng', 'eng/platform', 'eng/platform/sre']) {
    const r = await cli.run(['directories', 'move', 'eng', '--parent', target, '--json'])
    t.is(r.code, 1, target)
    t.is(errorOf(r.stderr).code, 'conflict')
    t.regex(errorOf(r.stderr).message, /inside itself/)
  }
  t.deepEqual(await cli.json(['directories', 'list']), before, 'the tree is unchanged')

  // A legal move still works: sre up to the top, then under eng.
  t.is((await cli.json(['directories', 'move', 'eng/platform/sre', '--parent', 'eng'])).path, 'eng/sre')
})

test.serial('refuses to delete a directory with sub-directories or members unless forced', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await seedUser(platform, 'bob@example.test')
  await cli.json(['directories', 'create', 'eng'])
  await cli.json(['directories', 'create', 'platform', '--parent', 'eng'])
  await cli.json(['directories', 'create', 'ops'])
  await cli.json(['directories', 'add-member', 'ops', 'bob@example.test'])

  for (const d of ['eng', 'ops']) {
    const r = await cli.run(['directories', 'delete', d, '--json'])
    t.is(r.code, 1)
    t.is(errorOf(r.stderr).code, 'not_empty')
    t.regex(errorOf(r.stderr).message, /--force/)
  }
  t.is((await cli.json(['directories', 'list'])).items.length, 3, 'nothing was deleted')

  await cli.json(['directories', 'delete', 'eng', '--force'])
  await cli.json(['directories', 'delete', 'ops', '--force'])
  t.deepEqual((await cli.json(['directories', 'list'])).items, [])
  t.deepEqual(await listMemberships(platform.ctx.idb), [], 'memberships went with the directory')

  // An empty directory needs no force.
  await cli.json(['directories', 'create', 'empty'])
  await cli.json(['directories', 'delete', 'empty'])
  t.deepEqual((await cli.json(['directories', 'list'])).items, [])
})

test.serial('renames within the tree and refuses a sibling with the same name', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await cli.json(['directories', 'create', 'eng'])
  await cli.json(['directories', 'create', 'platform', '--parent', 'eng'])
  await cli.json(['directories', 'create', 'web', '--parent', 'eng'])
  const renamed = await cli.json(['directories', 'rename', 'eng/web', 'frontend'])
  t.is(renamed.path, 'eng/frontend')
  t.is((await cli.json(['directories', 'get', renamed.id])).path, 'eng/frontend')

  for (const args of [['directories', 'rename', 'eng/frontend', 'Platform'], ['directories', 'create', 'platform', '--parent', 'eng']]) {
    const r = await cli.run([...args, '--json'])
    t.is(r.code, 1)
    t.is(errorOf(r.stderr).code, 'conflict')
  }
  // The same name elsewhere in the tree is fine.
  t.is((await cli.json(['directories', 'create', 'platform'])).path, 'platform')
})

test.serial('refuses unknown directories, unknown users and bad names without writing anything', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await cli.json(['directories', 'create', 'eng'])
  const before = await cli.json(['directories', 'list'])
  const cases: Array<[string[], string, RegExp]> = [
    [['directories', 'get', 'eng/nope'], 'not_found', /eng\/nope/],
    [['directories', 'create', 'x', '--parent', 'missing'], 'not_found', /parent directory "missing"/],
    [['directories', 'add-member', 'eng', 'nobody@example.test'], 'not_found', /nobody@example.test/],
    [['directories', 'add-member', 'missing', 'owner@example.test'], 'not_found', /missing/],
    [['directories', 'create', 'has space'], 'invalid_request', /name/],
    [['directories', 'move', 'eng', '--parent', 'missing'], 'not_found', /missing/],
  ]
  for (const [args, code, message] of cases) {
    const r = await cli.run([...args, '--json'])
    t.is(r.code, code === 'invalid_request' ? 2 : 1, args.join(' '))
    t.is(errorOf(r.stderr).code, code, args.join(' '))
    t.regex(errorOf(r.stderr).message, message)
    t.is(r.stdout, '', 'nothing on stdout')
  }
  const usage = await cli.run(['directories', 'move', 'eng', '--json'])
  t.is(usage.code, 2, 'move without a destination is a usage error')
  t.deepEqual(await cli.json(['directories', 'list']), before)
  t.deepEqual(await listMemberships(platform.ctx.idb), [])
})

test.serial('every directory change is audited and bumps the configuration version', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  const events: Array<{kind: string; action: string}> = []
  const off = platform.ctx.feed.subscribe((e) => {
    events.push(e)
  })
  t.teardown(off)
  await seedUser(platform, 'cy@example.test')
  await cli.json(['directories', 'create', 'eng'])
  await cli.json(['directories', 'add-member', 'eng', 'cy@example.test'])
  await cli.json(['directories', 'rename', 'eng', 'engineering'])
  await cli.json(['directories', 'delete', 'engineering', '--force'])
  t.deepEqual(events.map((e) => `${e.kind}.${e.action}`), ['directory.created', 'directory.updated', 'directory.updated', 'directory.deleted'])
  const audit = await cli.json(['audit', 'list', '--limit', '10'])
  const actions = audit.items.map((e: {action: string}) => e.action)
  for (const a of ['directory.create', 'directory.member.add', 'directory.update', 'directory.delete']) t.true(actions.includes(a), a)
})
