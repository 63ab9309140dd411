import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {seedDirectory} from '../helpers/directories.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {cliUser, ownerCli} from '../helpers/session.js'

const err = (stderr: string) => JSON.parse(stderr).error

test('refuses a file with bad rows, naming every bad line, and imports nothing', async (t) => {
  const platform = await startTestPlatform(t)
  await seedDirectory(platform.ctx.idb, 'eng')
  const owner = await ownerCli(t, platform)
  const dir = tempDir(t)
  const csv = join(dir, 'people.csv')
  writeFileSync(csv, [
    'email,name,role,directories',
    'good@example.test,Good,member,eng',
    'not-an-email,Bad,member,',
    'role@example.test,Role,emperor,',
    'dir@example.test,Dir,member,eng;nowhere',
    'GOOD@example.test,Twice,admin,',
    'fine@example.test,Fine,,',
  ].join('\n') + '\n')
  const r = await owner.run(['users', 'import', csv, '--json'])
  t.is(r.code, 2, 'bad rows are the user\'s input: a usage error')
  const e = err(r.stderr)
  t.is(e.code, 'invalid_request')
  t.regex(e.message, /nothing was imported/)
  t.regex(e.message, /line 3: email is not an email address/)
  t.regex(e.message, /line 4: role must be owner, admin or member/)
  t.regex(e.message, /line 5: directory "nowhere" does not exist/)
  t.regex(e.message, /line 6: email good@example\.test appears twice \(also line 2\)/)
  t.notRegex(e.message, /line 2:|line 7:/)
  t.deepEqual(e.problems, [
    {line: 3, field: 'email', message: 'email is not an email address'},
    {line: 4, field: 'role', message: 'role must be owner, admin or member'},
    {line: 5, field: 'directories', message: 'directory "nowhere" does not exist'},
    {line: 6, field: 'email', message: 'email good@example.test appears twice (also line 2)'},
  ], 'under --json the problems come as a list of {line, field, message}')
  t.deepEqual((await owner.json(['users'])).items.map((u: {email: string}) => u.email), ['owner@example.test'])

  const json = join(dir, 'people.json')
  writeFileSync(json, '[\n  {"email": "a@example.test"},\n  {\n    "email": "b@example.test",\n    "role": "chief"\n  }\n]\n')
  const rj = await owner.run(['users', 'import', json, '--json'])
  t.is(rj.code, 2)
  t.like(err(rj.stderr).problems[0], {line: 3, field: 'role'})
  t.regex(err(rj.stderr).message, /line 3: role must be/)
  t.is((await owner.json(['users'])).items.length, 1)

  const columns = join(dir, 'columns.csv')
  writeFileSync(columns, 'email,nickname\nx@example.test,X\n')
  const rc = await owner.run(['users', 'import', columns, '--json'])
  t.is(rc.code, 1)
  t.is(err(rc.stderr).code, 'bad_input')
  t.regex(err(rc.stderr).message, /line 1: unknown column\(s\) nickname/)

  const missing = await owner.run(['users', 'import', join(dir, 'nope.csv'), '--json'])
  t.is(err(missing.stderr).code, 'bad_input')
})

test('imports a good CSV: users are invited, in their directories, and their codes work', async (t) => {
  const platform = await startTestPlatform(t)
  const eng = await seedDirectory(platform.ctx.idb, 'eng')
  await seedDirectory(platform.ctx.idb, 'backend', eng)
  const owner = await ownerCli(t, platform)
  const csv = join(tempDir(t), 'people.csv')
  writeFileSync(csv, 'email,name,role,directories\nann@example.test,Ann,admin,eng/backend\n"bo@example.test","Bo, Jr.",,eng;eng/backend\n')
  const res = await owner.json(['users', 'import', csv])
  t.is(res.created.length, 2)
  t.deepEqual(res.created.map((c: {line: number}) => c.line), [2, 3])
  t.true(res.created.every((c: {user: {status: string}; invite: {code: string}}) => c.user.status === 'invited' && c.invite.code.startsWith('mezu_inv_')))
  const bo = await owner.json(['users', 'get', 'bo@example.test'])
  t.is(bo.name, 'Bo, Jr.')
  t.is(bo.role, 'member')
  t.deepEqual(bo.directories.map((d: {path: string}) => d.path).sort(), ['eng', 'eng/backend'])
  const ann = res.created.find((c: {user: {email: string}}) => c.user.email === 'ann@example.test')
  await cliUser(t, platform).json(['login', '--invite', ann.invite.code, '--password-stdin'], {stdin: 'ann password 1'})
  t.is((await owner.json(['users', 'get', 'ann@example.test'])).status, 'active')

  // The same file again: every row exists now.
  const again = await owner.run(['users', 'import', csv, '--json'])
  t.is(err(again.stderr).code, 'conflict')
  t.regex(err(again.stderr).message, /line 2: a user with email ann@example\.test already exists/)
  const skipped = await owner.json(['users', 'import', csv, '--skip-existing'])
  t.is(skipped.created.length, 0)
  t.is(skipped.skipped.length, 2)
})

test('imports a good JSON array; a disabled user stays disabled and gets no invitation', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const json = join(tempDir(t), 'people.json')
  writeFileSync(json, JSON.stringify([{email: 'cy@example.test', name: 'Cy', role: 'admin'}, {email: 'di@example.test', status: 'disabled'}], null, 2))
  const res = await owner.json(['users', 'import', json])
  t.deepEqual(res.created.map((c: {user: {email: string; status: string; role: string}; invite: unknown}) => [c.user.email, c.user.status, c.user.role, c.invite !== null]), [
    ['cy@example.test', 'invited', 'admin', true],
    ['di@example.test', 'disabled', 'member', false],
  ])
  t.is((await owner.json(['users'])).items.length, 3)
})
