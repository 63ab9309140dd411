import test from 'ava'
import {mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {mezu} from '../helpers/cli.js'
import {startTestPlatform} from '../helpers/platform.js'
import {errorOf} from '../helpers/seed-user.js'
import {ownerCli} from '../helpers/session.js'

const README = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md')

/** The `mezu …` command lines of the README's "Use from CI" section, in order. */
function ciCommands(): string[][] {
  const text = readFileSync(README, 'utf8')
  const start = text.indexOf('## Use from CI')
  const end = text.indexOf('\n## ', start + 1)
  if (start === -1) throw new Error('README has no "Use from CI" section')
  const section = text.slice(start, end === -1 ? undefined : end)
  const lines: string[][] = []
  let inCode = false
  for (const line of section.split('\n')) {
    if (line.startsWith('```')) {
      inCode = !inCode
      continue
    }
    const m = inCode ? /^\s*(?:- run: )?mezu (.+)$/.exec(line) : null
    if (m) lines.push(m[1].trim().split(/\s+/))
  }
  return lines
}

test('the README\'s CI recipe works as written: a service account created once, then routes created with only env vars', async (t) => {
  const [setup, ...job] = ciCommands()
  t.deepEqual(setup.slice(0, 2), ['service-accounts', 'create'])
  t.true(job.length >= 1)
  t.true(job.every((args) => args.includes('--json')), 'every CI command asks for JSON')

  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['projects', 'create', 'shop'])
  await owner.json(['envs', 'create', 'production', '--project', 'shop'])
  const created = (await owner.run(setup)).json()
  t.is(created.serviceAccount.name, 'ci-deployer')
  t.truthy(created.apiKey)

  // The CI job: an empty config dir (no login), CI=1 and no terminal, only the three variables.
  const configDir = mkdtempSync(join(tmpdir(), 'mezu-ci-'))
  const env = {MEZU_CONFIG_DIR: configDir, MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath, MEZU_TOKEN: created.apiKey}
  const outputs = []
  for (const args of job) {
    const r = await mezu(args, {env})
    t.is(r.code, 0, `mezu ${args.join(' ')}: ${r.stderr}`)
    t.is(r.stderr, '', 'nothing asked, nothing complained about')
    outputs.push(r.json())
  }
  const route = outputs[0]
  t.is(route.hostname, 'shop-preview.mezu.localhost')
  t.is(route.service, 'web')
  t.regex(route.url, /^https:\/\/shop-preview\.mezu\.localhost(:\d+)?\/$/)
  t.is(outputs[1].id, route.id, 'routes get finds what routes create made')
  t.deepEqual(readdirSync(configDir), [], 'the job wrote no credentials')

  // The key reaches nothing beyond its scopes.
  const beyond = await mezu(['projects', 'create', 'other', '--json'], {env})
  t.is(beyond.code, 1)
  t.is(errorOf(beyond.stderr).code, 'forbidden')
  // Without the token the same job fails clearly instead of prompting.
  const noToken = await mezu(job[0], {env: {...env, MEZU_TOKEN: ''}})
  t.is(noToken.code, 1)
  t.is(errorOf(noToken.stderr).code, 'not_logged_in')
})
