import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Config, Help} from '@oclif/core'
import test from 'ava'
import {createCa} from '../../platform/pki/ca.js'
import {mezu} from '../helpers/cli.js'
import {tempDir} from '../helpers/platform.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, any>}

/** Command ids as oclif derives them from src/commands (a topic's index.ts is the topic itself). */
function commandIdsFromSources(): string[] {
  const dir = join(ROOT, 'src', 'commands')
  const ids: string[] = []
  const walk = (d: string) => {
    for (const entry of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        ids.push(relative(dir, p).replace(/\.ts$/, '').replace(/\/index$/, '').split('/').join(':'))
      }
    }
  }
  walk(dir)
  return ids.sort()
}

/** Runs with --json expecting a failure: the error is one JSON object on stderr, stdout is empty. */
async function jsonError(t: any, args: string[], exit: number, env: NodeJS.ProcessEnv = {}) {
  const r = await mezu([...args, '--json'], {env})
  t.is(r.code, exit, `mezu ${args.join(' ')}: ${r.stderr}`)
  t.is(r.stdout, '', 'nothing on stdout')
  const body = JSON.parse(r.stderr)
  t.deepEqual(Object.keys(body), ['error'])
  t.is(typeof body.error.code, 'string')
  t.is(typeof body.error.message, 'string')
  return body.error as {code: string; message: string}
}

test('the manifest lists exactly the commands under src/commands', (t) => {
  const sources = commandIdsFromSources()
  t.true(sources.length >= 20, `found ${sources.length} command files`)
  t.deepEqual(Object.keys(manifest.commands).sort(), sources)
})

test('every command has a summary, examples, --json, and shows the examples in its help', async (t) => {
  const config = await Config.load(ROOT)
  const help = new (class extends Help {
    helpFor(c: Parameters<Help['formatCommand']>[0]) {
      return this.formatCommand(c)
    }
  })(config, {stripAnsi: true})
  for (const [id, cmd] of Object.entries(manifest.commands)) {
    t.true((cmd.summary ?? '').length > 0, `${id} has a summary`)
    t.true(Array.isArray(cmd.examples) && cmd.examples.length > 0, `${id} has examples`)
    t.truthy(cmd.flags.json, `${id} takes --json`)
    const command = config.findCommand(id)
    t.truthy(command, id)
    const text = help.helpFor(command!)
    t.regex(text, /EXAMPLES\n\s+\$ mezu /, `${id} help shows examples`)
  }
  const real = await mezu(['projects', 'create', '--help'])
  t.is(real.code, 0)
  t.regex(real.stdout, /EXAMPLES[\s\S]*\$ mezu projects create shop/)
  const root = await mezu(['--help'])
  t.is(root.code, 0)
  for (const topic of ['platform', 'projects', 'envs', 'audit', 'login']) t.true(root.stdout.includes(topic), topic)
})

test('usage errors exit 2 with a JSON error on stderr and nothing on stdout', async (t) => {
  const unknownFlag = await jsonError(t, ['projects', 'list', '--bogus'], 2)
  t.is(unknownFlag.code, 'usage')
  t.regex(unknownFlag.message, /--bogus/)
  const missingArg = await jsonError(t, ['projects', 'create'], 2)
  t.is(missingArg.code, 'usage')
  t.regex(missingArg.message, /name/i)
  const missingFlag = await jsonError(t, ['platform', 'init', '--data-dir', join(tempDir(t), 'd')], 2)
  t.is(missingFlag.code, 'usage')
  t.regex(missingFlag.message, /admin-email/)
  const badInt = await jsonError(t, ['platform', 'start', '--api-port', 'seventy'], 2)
  t.regex(badInt.message, /api-port/)
  const extra = await jsonError(t, ['projects', 'get', 'one', 'two'], 2)
  t.is(extra.code, 'usage')
  const unknown = await jsonError(t, ['projects', 'frobnicate'], 2)
  t.is(unknown.code, 'usage')
  t.regex(unknown.message, /projects frobnicate/)
  const unknownHuman = await mezu(['frobnicate'])
  t.is(unknownHuman.code, 2)
  t.regex(unknownHuman.stderr, /^Error: "frobnicate" is not a mezu command/)

  const human = await mezu(['projects', 'create'])
  t.is(human.code, 2)
  t.is(human.stdout, '')
  t.regex(human.stderr, /^Error: /)
  t.regex(human.stderr, /See 'mezu projects create --help'/)
  t.notRegex(human.stderr, /\n\s+at /)
})

test('other errors exit 1', async (t) => {
  const config = tempDir(t)
  const noUrl = await jsonError(t, ['projects', 'list'], 1, {MEZU_CONFIG_DIR: config})
  t.is(noUrl.code, 'no_api_url')
  t.regex(noUrl.message, /--api-url/)
  const noCa = await jsonError(t, ['projects', 'list', '--api-url', 'https://127.0.0.1:1'], 1, {MEZU_CONFIG_DIR: config})
  t.is(noCa.code, 'ca_untrusted')
  const badCa = await jsonError(t, ['projects', 'list', '--api-url', 'https://127.0.0.1:1', '--ca-file', join(config, 'missing.pem')], 1, {MEZU_CONFIG_DIR: config})
  t.is(badCa.code, 'bad_input')
  const human = await mezu(['projects', 'list'], {env: {MEZU_CONFIG_DIR: config}})
  t.is(human.code, 1)
  t.regex(human.stderr, /^Error: no platform address/)
  const caFile = join(config, 'ca.pem')
  writeFileSync(caFile, (await createCa()).certPem)
  const down = await jsonError(t, ['projects', 'list', '--api-url', 'https://127.0.0.1:1', '--ca-file', caFile], 1, {MEZU_CONFIG_DIR: config, MEZU_TOKEN: 'mezu_sess_' + 'a'.repeat(43)})
  t.is(down.code, 'network')
  t.regex(down.message, /127\.0\.0\.1:1/)
})

test('never prompts without a terminal: a missing value is an error naming its flag', async (t) => {
  const dir = tempDir(t)
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, (await createCa()).certPem)
  const env = {MEZU_CONFIG_DIR: dir}
  // with CI set (the helper sets CI=1) and stdin not a terminal
  const err = await jsonError(t, ['login', '--api-url', 'https://127.0.0.1:1', '--ca-file', caFile], 2, env)
  t.is(err.code, 'missing_value')
  t.regex(err.message, /--email/)
  const human = await mezu(['login', '--api-url', 'https://127.0.0.1:1', '--ca-file', caFile], {env})
  t.is(human.code, 2)
  t.regex(human.stderr, /missing --email/)
  // without CI, stdin still is not a terminal
  const noCi = await jsonError(t, ['login', '--api-url', 'https://127.0.0.1:1', '--ca-file', caFile, '--email', 'a@b.test'], 2, {...env, CI: ''})
  t.is(noCi.code, 'missing_value')
  t.regex(noCi.message, /--password-stdin/)
  const noUrl = await jsonError(t, ['login', '--ca-file', caFile, '--email', 'a@b.test'], 2, env)
  t.regex(noUrl.message, /--api-url/)
})
