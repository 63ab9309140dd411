import anyTest, {type TestFn} from 'ava'
import {seedDirectory} from '../helpers/directories.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {type CliUser, ownerCli} from '../helpers/session.js'
import {hookScope} from '../helpers/shared.js'

const test = anyTest as TestFn<{p: TestPlatform; cli: CliUser}>
const scope = hookScope()

test.before(async (t) => {
  const p = await startTestPlatform(scope.t)
  await seedDirectory(p.ctx.idb, 'eng')
  const cli = await ownerCli(scope.t, p)
  await cli.json(['users', 'create', '--email', 'ada@example.test', '--role', 'admin', '--directory', 'eng'])
  await cli.json(['users', 'create', '--email', 'bob@example.test', '--role', 'member', '--directory', 'eng'])
  await cli.json(['users', 'create', '--email', 'cy@example.test', '--role', 'member'])
  await cli.json(['users', 'disable', 'bob@example.test'])
  t.context = {p, cli}
})
test.after.always(() => scope.dispose())

const emails = (r: {items: Array<{email: string}>}) => r.items.map((u) => u.email)

test('mezu audit lists the audit log like every other topic, and takes the list flags', async (t) => {
  const {cli} = t.context
  const r = await cli.run(['audit', '--limit', '2'])
  t.is(r.code, 0, r.stderr)
  t.notRegex(r.stdout, /USAGE|COMMANDS/, 'not the topic help')
  const lines = r.stdout.trimEnd().split('\n')
  t.is(lines[0], 'TIME\tACTOR\tACTION\tTARGET\tFROM')
  t.is(lines.length, 3, 'a header and two entries')
  const json = await cli.json(['audit', '--limit', '2', '--action', 'user.'])
  t.is(json.items.length, 2)
  t.true(json.items.every((e: {action: string}) => e.action.startsWith('user.')))
  t.deepEqual((await cli.json(['audit', 'list', '--limit', '2', '--action', 'user.'])).items, json.items, 'audit list stays as an alias')
})

test('users list filters by role, status and directory, and --limit caps the list', async (t) => {
  const {cli} = t.context
  t.deepEqual(emails(await cli.json(['users', 'list'])), ['owner@example.test', 'ada@example.test', 'bob@example.test', 'cy@example.test'])
  t.deepEqual(emails(await cli.json(['users', 'list', '--role', 'member'])), ['bob@example.test', 'cy@example.test'])
  t.deepEqual(emails(await cli.json(['users', 'list', '--status', 'invited'])), ['ada@example.test', 'cy@example.test'])
  t.deepEqual(emails(await cli.json(['users', 'list', '--directory', 'eng'])), ['ada@example.test', 'bob@example.test'])
  t.deepEqual(emails(await cli.json(['users', 'list', '--role', 'member', '--directory', 'eng', '--status', 'disabled'])), ['bob@example.test'])
  t.deepEqual(emails(await cli.json(['users', 'list', '--limit', '2'])), ['owner@example.test', 'ada@example.test'])
  t.deepEqual(emails(await cli.json(['users', 'list', '--role', 'member', '--limit', '1'])), ['bob@example.test'])
  t.deepEqual(emails(await cli.json(['users', '--role', 'owner'])), ['owner@example.test'], 'on the topic itself too')
})

test('the API pages filtered users with a cursor and refuses a bad filter, naming it', async (t) => {
  const {p, cli} = t.context
  const {api, loginToken} = await import('../helpers/api.js')
  const {ADMIN_EMAIL, ADMIN_PASSWORD} = await import('../helpers/platform.js')
  const token = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const first = await api(p.apiUrl, p.caPem, 'GET', '/v1/users?role=member&limit=1', {token})
  t.is(first.status, 200)
  t.deepEqual(emails(first.body), ['bob@example.test'])
  t.truthy(first.body.nextCursor)
  const second = await api(p.apiUrl, p.caPem, 'GET', `/v1/users?role=member&limit=1&cursor=${first.body.nextCursor}`, {token})
  t.deepEqual(emails(second.body), ['cy@example.test'])
  t.is(second.body.nextCursor, null)
  const bad = await api(p.apiUrl, p.caPem, 'GET', '/v1/users?status=sleeping', {token})
  t.is(bad.status, 400)
  t.is(bad.body.error.code, 'invalid_request')
  t.regex(bad.body.error.message, /status/)
  const nowhere = await cli.run(['users', 'list', '--directory', 'nowhere', '--json'])
  t.is(nowhere.code, 2, 'a directory that does not exist is the user\'s input: a usage error')
  t.like(JSON.parse(nowhere.stderr).error, {code: 'invalid_request', message: 'directory "nowhere" does not exist'})
})
