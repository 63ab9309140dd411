import anyTest, {type TestFn} from 'ava'
import {mezuOnPty} from '../helpers/pty.js'
import {startTestPlatform} from '../helpers/platform.js'
import {type CliUser, ownerCli} from '../helpers/session.js'
import {hookScope} from '../helpers/shared.js'

const test = anyTest as TestFn<{cli: CliUser; ids: Record<string, string>}>
const scope = hookScope()
const BOX = /[┌┐└┘│─]/

test.before(async (t) => {
  const platform = await startTestPlatform(scope.t)
  const cli = await ownerCli(scope.t, platform)
  const shop = await cli.json(['projects', 'create', 'shop', '--description', 'the\tshop'])
  const blog = await cli.json(['projects', 'create', 'blog'])
  t.context = {cli, ids: {shop: shop.id, blog: blog.id}}
})
test.after.always(() => scope.dispose())

test('in a pipe a table is tab-separated rows with a header row and no box drawing', async (t) => {
  const r = await t.context.cli.run(['projects', 'list'])
  t.is(r.code, 0, r.stderr)
  t.notRegex(r.stdout, BOX)
  const lines = r.stdout.trimEnd().split('\n').map((l) => l.split('\t'))
  t.deepEqual(lines[0], ['NAME', 'ID', 'DESCRIPTION', 'CREATED'])
  t.deepEqual(lines.slice(1).map((l) => l.slice(0, 3)), [['shop', t.context.ids.shop, 'the shop'], ['blog', t.context.ids.blog, '']], 'a tab inside a value becomes a space; nothing is an empty field')
  t.true(lines.every((l) => l.length === 4), 'every row has every column')
})

test('--no-headers leaves out the header row; --plain is the same as a pipe', async (t) => {
  const bare = await t.context.cli.run(['projects', 'list', '--no-headers'])
  t.is(bare.code, 0, bare.stderr)
  t.deepEqual(bare.stdout.trimEnd().split('\n').map((l) => l.split('\t')[0]), ['shop', 'blog'])
  const plain = await t.context.cli.run(['projects', 'list', '--plain'])
  const piped = await t.context.cli.run(['projects', 'list'])
  t.is(plain.stdout.replace(/\t[^\t\n]*ago\n/g, '\n'), piped.stdout.replace(/\t[^\t\n]*ago\n/g, '\n'))
})

test('--json is unchanged by --plain and --no-headers', async (t) => {
  const json = await t.context.cli.json(['projects', 'list', '--plain', '--no-headers'])
  t.deepEqual(json.items.map((p: {name: string}) => p.name), ['shop', 'blog'])
})

test('an empty list prints nothing in a pipe (not "(none)"), and just the header without --no-headers', async (t) => {
  const users = await t.context.cli.run(['users', 'list', '--status', 'disabled'])
  t.is(users.stdout, 'EMAIL\tNAME\tROLE\tSTATUS\tCREATED\n')
  const none = await t.context.cli.run(['users', 'list', '--status', 'disabled', '--no-headers'])
  t.is(none.stdout, '')
})

test('at a terminal people get a drawn table; --plain and --no-headers work there too', async (t) => {
  const tty = mezuOnPty(['projects', 'list'], t.context.cli.env)
  const drawn = await tty.done
  t.is(drawn.code, 0, drawn.output)
  t.regex(drawn.output, BOX)
  t.regex(drawn.output, /NAME\s+│?\s*ID/)
  const plain = await mezuOnPty(['projects', 'list', '--plain', '--no-headers'], t.context.cli.env).done
  t.notRegex(plain.output, BOX)
  t.notRegex(plain.output, /NAME/)
  t.regex(plain.output, /shop\t/)
})
