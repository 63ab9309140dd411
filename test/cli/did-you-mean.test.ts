import test from 'ava'
import {mezu} from '../helpers/cli.js'
import {mezuOnPty} from '../helpers/pty.js'
import {tempDir} from '../helpers/platform.js'

const env = (t: any) => ({MEZU_CONFIG_DIR: tempDir(t)})

test('a mistyped command names the closest one and exits 2, without prompting in CI', async (t) => {
  const r = await mezu(['rotues'], {env: env(t)})
  t.is(r.code, 2)
  t.is(r.stdout, '')
  t.is(r.stderr, 'Error: "rotues" is not a mezu command; did you mean "mezu routes"?\n')
})

test('a mistyped subcommand is fixed inside its topic, and a mistyped topic before a right subcommand', async (t) => {
  const sub = await mezu(['projects', 'lsit'], {env: env(t)})
  t.is(sub.code, 2)
  t.regex(sub.stderr, /did you mean "mezu projects list"\?/)
  const topic = await mezu(['rotues', 'create'], {env: env(t)})
  t.is(topic.code, 2)
  t.regex(topic.stderr, /did you mean "mezu routes create"\?/)
})

test('under --json the unknown command is a usage error object on stderr with the suggestion', async (t) => {
  const r = await mezu(['rotues', '--json'], {env: env(t)})
  t.is(r.code, 2)
  t.is(r.stdout, '')
  t.deepEqual(JSON.parse(r.stderr), {error: {code: 'usage', message: '"rotues" is not a mezu command; did you mean "mezu routes"?', suggestion: 'routes'}})
})

test('nothing close is suggested for a word far from every command', async (t) => {
  const r = await mezu(['frobnicate'], {env: env(t)})
  t.is(r.code, 2)
  t.notRegex(r.stderr, /did you mean/)
  t.regex(r.stderr, /^Error: "frobnicate" is not a mezu command; see 'mezu --help'/)
})

test('a mistyped flag names the closest flag of that command, with and without --json', async (t) => {
  const human = await mezu(['audit', '--limt', '5'], {env: env(t)})
  t.is(human.code, 2)
  t.regex(human.stderr, /^Error: unknown flag --limt for mezu audit; did you mean --limit\?\n/)
  const json = await mezu(['users', 'list', '--stauts', 'active', '--json'], {env: env(t)})
  t.is(json.code, 2)
  t.is(json.stdout, '')
  t.deepEqual(JSON.parse(json.stderr), {error: {code: 'usage', message: 'unknown flag --stauts for mezu users; did you mean --status?'}})
})

test('an unknown flag with nothing close lists the flags the command takes', async (t) => {
  const r = await mezu(['routes', 'list', '--bogus', '--json'], {env: env(t)})
  t.is(r.code, 2)
  const e = JSON.parse(r.stderr).error
  t.is(e.code, 'usage')
  t.is(e.message, 'unknown flag --bogus for mezu routes; it takes --project, --env and the global flags')
})

test('at a terminal a person is asked, and yes runs the suggested command', async (t) => {
  const env = {MEZU_CONFIG_DIR: tempDir(t)}
  const yes = mezuOnPty(['rotues'], env)
  await yes.waitFor(/"rotues" is not a mezu command\. Did you mean "mezu routes"\?/)
  yes.type('y\r')
  const ran = await yes.done
  // `mezu routes` ran: with nothing configured it asks for a platform address
  t.regex(ran.output, /no platform address/)
  t.is(ran.code, 1)
  const no = mezuOnPty(['rotues'], env)
  await no.waitFor(/Did you mean "mezu routes"\?/)
  no.type('n\r')
  const refused = await no.done
  t.is(refused.code, 2)
  t.notRegex(refused.output, /no platform address/)
})
