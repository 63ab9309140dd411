import {join} from 'node:path'
import test from 'ava'
import {mezu} from '../helpers/cli.js'
import {tempDir} from '../helpers/platform.js'

/**
 * Each usage error: one plain sentence naming the flag or argument and what it accepts, exit 2,
 * and the same sentence as {"error":{"code":"usage"}} on stderr under --json (stdout empty).
 */
async function usage(t: any, args: string[], sentence: string) {
  const env = {MEZU_CONFIG_DIR: tempDir(t)}
  const human = await mezu(args, {env})
  t.is(human.code, 2, `mezu ${args.join(' ')}: ${human.stderr}`)
  t.is(human.stdout, '')
  t.true(human.stderr.startsWith(`Error: ${sentence}\n`), human.stderr)
  t.regex(human.stderr, /\nSee 'mezu [a-z -]+ --help'\.\n$/)
  const json = await mezu([...args, '--json'], {env})
  t.is(json.code, 2)
  t.is(json.stdout, '')
  t.deepEqual(JSON.parse(json.stderr), {error: {code: 'usage', message: sentence}})
  t.false(sentence.includes('\n'), 'one line')
  t.notRegex(sentence, /following error|Parsing --|Expected an|Nonexistent/, 'none of the flag parser\'s own words')
}

test('a missing required flag names the flag and what it is', async (t) => {
  await usage(t, ['platform', 'init', '--data-dir', join(tempDir(t), 'd')], 'missing required flag --admin-email (email of the first owner account)')
})

test('a value outside a flag\'s options names the flag, the accepted values and what was given', async (t) => {
  await usage(t, ['users', 'list', '--role', 'emperor'], '--role must be one of owner, admin, member, got "emperor"')
})

test('a flag that wants a whole number says so, with its bounds', async (t) => {
  await usage(t, ['audit', '--limit', 'many'], '--limit must be a whole number, got "many"')
  await usage(t, ['audit', '--limit', '0'], '--limit must be a whole number of at least 1, got "0"')
  await usage(t, ['audit', '--limit', '9999'], '--limit must be a whole number of at most 500, got "9999"')
})

test('an unknown flag names the flag and the command', async (t) => {
  await usage(t, ['projects', 'list', '--bogus'], 'unknown flag --bogus for mezu projects; it takes only the global flags')
})

test('too many arguments names the extra one and what the command takes', async (t) => {
  await usage(t, ['projects', 'get', 'one', 'two'], 'too many arguments: "two" not expected; mezu projects get takes one argument (PROJECT)')
})

test('a missing argument names it, with its description and the usage', async (t) => {
  await usage(t, ['projects', 'create'], 'missing argument NAME (project name): mezu projects create NAME')
})

test('flags that exclude each other are named together', async (t) => {
  const env = {MEZU_CONFIG_DIR: tempDir(t)}
  const r = await mezu(['login', '--web', '--token-stdin', '--json'], {env})
  t.is(r.code, 2)
  const e = JSON.parse(r.stderr).error
  t.is(e.code, 'usage')
  t.regex(e.message, /^--(web|token-stdin) cannot be used together with --(web|token-stdin); give one of them/)
})
