import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import test, {type ExecutionContext} from 'ava'
import {BIN, mezu, WARPGATE_BIN} from '../helpers/cli.js'
import {type RegistryAnswer, startFakeRegistry} from '../helpers/npm-registry.js'
import {tempDir} from '../helpers/platform.js'
import {mezuOnPty} from '../helpers/pty.js'

const CURRENT = (JSON.parse(readFileSync(join(dirname(BIN), '..', 'package.json'), 'utf8')) as {version: string}).version
const NEXT = CURRENT.replace(/^(\d+)\.(\d+)\..*$/, (_, major: string, minor: string) => `${major}.${Number(minor) + 1}.0`)
const NOTICE = /A new release of mezu is available/
const DAY = 24 * 60 * 60 * 1000

/** A config dir holding one context, so `mezu context list` prints a row to find before the notice. */
function configDir(t: ExecutionContext): string {
  const dir = tempDir(t)
  const contexts = {'a.example:7443': {apiUrl: 'https://a.example:7443'}}
  writeFileSync(join(dir, 'credentials.json'), JSON.stringify({version: 2, current: 'a.example:7443', contexts}), {mode: 0o600})
  return dir
}

async function setup(t: ExecutionContext, answer: RegistryAnswer) {
  const registry = await startFakeRegistry(t, answer)
  const dir = configDir(t)
  const env = {MEZU_CONFIG_DIR: dir, MEZU_UPDATE_REGISTRY: registry.url, MEZU_NO_UPDATE_NOTIFIER: ''}
  return {registry, dir, env, statePath: join(dir, 'update-check.json')}
}

/** Runs on a terminal and fails the test if mezu has not exited by the deadline. */
async function onPty(args: string[], env: NodeJS.ProcessEnv, opts: {bin?: string} = {}, deadlineMs = 30_000) {
  const run = mezuOnPty(args, env, opts)
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`mezu ${args.join(' ')} still running after ${deadlineMs} ms:\n${run.output()}`)), deadlineMs)
  })
  try {
    return await Promise.race([run.done, deadline])
  } finally {
    clearTimeout(timer)
  }
}

test('on a terminal a newer release is announced once, after the output, and the answer is kept for a day', async (t) => {
  const {registry, env, statePath} = await setup(t, {version: NEXT})
  const first = await onPty(['context', 'list'], env)
  t.is(first.code, 0, first.output)
  t.deepEqual(registry.requests, ['/mezusphere/latest'])
  t.true(first.output.includes(`A new release of mezu is available: ${CURRENT} → ${NEXT}\r\nTo update, run: npm install -g mezusphere@latest`), first.output)
  t.true(first.output.indexOf('a.example:7443') < first.output.search(NOTICE), 'the notice comes after the command output')
  t.is(statSync(statePath).mode & 0o777, 0o600)
  const state = JSON.parse(readFileSync(statePath, 'utf8'))
  t.is(state.latest, NEXT)
  t.true(Date.now() - Date.parse(state.checkedAt) < 60_000)

  const second = await onPty(['context', 'list'], env)
  t.is(second.code, 0, second.output)
  t.is(registry.requests.length, 1, 'no request within the day')
  t.notRegex(second.output, NOTICE, 'announced once a day')
})

test('the notice also follows a command that failed', async (t) => {
  const {registry, env} = await setup(t, {version: NEXT})
  const r = await onPty(['whoami'], {...env, MEZU_CONTEXT: 'nonesuch'})
  t.is(r.code, 1, r.output)
  t.regex(r.output, /MEZU_CONTEXT names "nonesuch"[\s\S]*A new release of mezu is available/)
  t.is(registry.requests.length, 1)
})

test('a check older than a day asks again, and the release is announced again', async (t) => {
  const {registry, env, statePath} = await setup(t, {version: NEXT})
  const old = new Date(Date.now() - DAY - 60_000).toISOString()
  writeFileSync(statePath, JSON.stringify({checkedAt: old, url: `${registry.url}/mezusphere/latest`, latest: NEXT, notified: {version: NEXT, at: old}}))
  const r = await onPty(['context', 'list'], env)
  t.is(r.code, 0, r.output)
  t.is(registry.requests.length, 1)
  t.regex(r.output, NOTICE)
})

for (const [what, version] of [['the same version', CURRENT], ['an older version', '0.0.1'], ['a newer prerelease', `${NEXT}-beta.1`]] as const) {
  test(`${what} on the registry announces nothing`, async (t) => {
    const {registry, env, statePath} = await setup(t, {version})
    const r = await onPty(['context', 'list'], env)
    t.is(r.code, 0, r.output)
    t.is(registry.requests.length, 1)
    t.notRegex(r.output, NOTICE)
    t.regex(r.output, /a\.example:7443/)
    t.is(JSON.parse(readFileSync(statePath, 'utf8')).latest, version)
  })
}

test('CI, --json, MEZU_NO_UPDATE_NOTIFIER and a pipe never ask the registry', async (t) => {
  const {registry, env, statePath} = await setup(t, {version: NEXT})
  const ci = await onPty(['context', 'list'], {...env, CI: '1'})
  t.is(ci.code, 0, ci.output)
  const json = await onPty(['context', 'list', '--json'], env)
  t.is(json.code, 0, json.output)
  t.is(JSON.parse(json.output).current, 'a.example:7443', 'nothing but the JSON document')
  const off = await onPty(['context', 'list'], {...env, MEZU_NO_UPDATE_NOTIFIER: '1'})
  t.is(off.code, 0, off.output)
  const piped = await mezu(['context', 'list'], {env: {...env, CI: ''}})
  t.is(piped.code, 0, piped.stderr)
  t.is(piped.stderr, '')
  for (const r of [ci, json, off]) t.notRegex(r.output, NOTICE)
  t.deepEqual(registry.requests, [])
  t.throws(() => statSync(statePath), {code: 'ENOENT'})
})

test('a registry that never answers or answers garbage leaves the command and its output alone', async (t) => {
  for (const answer of ['hang', {status: 200, body: 'not json {'}, {status: 200, body: '{"version":"the best one"}'}, {status: 500, body: '{"version":"99.0.0"}'}] as RegistryAnswer[]) {
    const {registry, env, statePath} = await setup(t, answer)
    const r = await onPty(['context', 'list'], env, {}, 15_000)
    t.is(r.code, 0, r.output)
    t.regex(r.output, /a\.example:7443/)
    t.notRegex(r.output, NOTICE)
    t.is(registry.requests.length, 1, JSON.stringify(answer))
    // the failure is recorded too: offline, the wait comes once a day, not on every command
    const state = JSON.parse(readFileSync(statePath, 'utf8'))
    t.is(state.latest, null)
    const again = await onPty(['context', 'list'], env, {}, 15_000)
    t.is(again.code, 0, again.output)
    t.is(registry.requests.length, 1)
  }
})

test('a corrupt state file is ignored and rewritten', async (t) => {
  const {registry, env, statePath} = await setup(t, {version: NEXT})
  writeFileSync(statePath, '{"checkedAt": "yesterd', {mode: 0o644})
  const r = await onPty(['context', 'list'], env)
  t.is(r.code, 0, r.output)
  t.is(registry.requests.length, 1)
  t.regex(r.output, NOTICE)
  t.is(JSON.parse(readFileSync(statePath, 'utf8')).latest, NEXT)
  t.is(statSync(statePath).mode & 0o777, 0o600)
})

test('mezu-warpgate never asks the registry', async (t) => {
  const {registry, env} = await setup(t, {version: NEXT})
  const r = await onPty(['--version'], env, {bin: WARPGATE_BIN})
  t.is(r.code, 0, r.output)
  t.notRegex(r.output, NOTICE)
  t.deepEqual(registry.requests, [])
})

test('mezu platform start never asks the registry', async (t) => {
  const {registry, env} = await setup(t, {version: NEXT})
  const dataDir = tempDir(t)
  const run = mezuOnPty(['platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0', '--log-level', 'warn'], env)
  await run.waitFor(/Stop with Ctrl-C/)
  run.type('\x03')
  const r = await run.done
  t.is(r.code, 0, r.output)
  t.notRegex(r.output, NOTICE)
  t.deepEqual(registry.requests, [])
})
