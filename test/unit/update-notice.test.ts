import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test, {type ExecutionContext} from 'ava'
import {isNewerRelease, latestUrl, startUpdateCheck, updateCheckAllowed, updateStatePath} from '../../src/lib/update-notice.js'
import {startFakeRegistry} from '../helpers/npm-registry.js'
import {tempDir} from '../helpers/platform.js'

const HOUR = 60 * 60 * 1000

test('a higher version is newer by semver precedence, not by string order', (t) => {
  t.true(isNewerRelease('0.2.0', '0.1.0'))
  t.true(isNewerRelease('0.10.0', '0.9.9'))
  t.true(isNewerRelease('1.0.0', '0.99.99'))
  t.true(isNewerRelease('v0.1.1', '0.1.0'))
  t.false(isNewerRelease('0.1.0', '0.1.0'))
  t.false(isNewerRelease('0.1.0+build.7', '0.1.0'))
  t.false(isNewerRelease('0.0.9', '0.1.0'))
  t.false(isNewerRelease('0.9.9', '0.10.0'))
})

test('prereleases are announced only to someone already on a prerelease', (t) => {
  t.false(isNewerRelease('0.2.0-beta.1', '0.1.0'))
  t.true(isNewerRelease('0.2.0-beta.2', '0.2.0-beta.1'))
  t.true(isNewerRelease('0.2.0-beta.10', '0.2.0-beta.9'))
  t.true(isNewerRelease('0.2.0-beta', '0.2.0-alpha.3'))
  t.true(isNewerRelease('0.2.0-beta.1', '0.2.0-beta'))
  t.true(isNewerRelease('0.2.0-rc.1', '0.2.0-1'), 'an alphanumeric identifier is higher than a numeric one')
  t.true(isNewerRelease('0.2.0', '0.2.0-rc.1'), 'the release is newer than its prereleases')
  t.false(isNewerRelease('0.2.0-rc.1', '0.2.0'))
})

test('anything that is not semver is never newer', (t) => {
  for (const v of ['', 'latest', '1.2', '1.2.3.4', '01.2.3', '99.0.0-', 'x1.0.0']) t.false(isNewerRelease(v, '0.1.0'), v)
  t.false(isNewerRelease('0.2.0', 'dev'))
})

test('only a person at a terminal is asked about: both streams TTYs, no CI, no --json, no MEZU_NO_UPDATE_NOTIFIER', (t) => {
  const tty = {stdoutIsTTY: true, stderrIsTTY: true}
  t.true(updateCheckAllowed({json: false, env: {}, ...tty}))
  t.false(updateCheckAllowed({json: true, env: {}, ...tty}))
  t.false(updateCheckAllowed({json: false, env: {CI: 'true'}, ...tty}))
  t.false(updateCheckAllowed({json: false, env: {MEZU_NO_UPDATE_NOTIFIER: '1'}, ...tty}))
  t.false(updateCheckAllowed({json: false, env: {}, stdoutIsTTY: false, stderrIsTTY: true}))
  t.false(updateCheckAllowed({json: false, env: {}, stdoutIsTTY: true, stderrIsTTY: false}))
  t.true(updateCheckAllowed({json: false, env: {CI: '', MEZU_NO_UPDATE_NOTIFIER: ''}, ...tty}), 'empty counts as unset')
})

test('the state file follows MEZU_CONFIG_DIR, else XDG_STATE_HOME', (t) => {
  t.is(updateStatePath({MEZU_CONFIG_DIR: '/c', XDG_STATE_HOME: '/s'}), '/c/update-check.json')
  t.is(updateStatePath({XDG_STATE_HOME: '/s'}), '/s/mezu/update-check.json')
  t.regex(updateStatePath({}), /\/\.local\/state\/mezu\/update-check\.json$/)
})

test('the registry URL asks for the latest dist-tag, scoped names encoded', (t) => {
  t.is(latestUrl('https://registry.npmjs.org', 'mezusphere'), 'https://registry.npmjs.org/mezusphere/latest')
  t.is(latestUrl('http://127.0.0.1:4873/', 'mezusphere'), 'http://127.0.0.1:4873/mezusphere/latest')
  t.is(latestUrl('https://r.example/npm', '@mezu/cli'), 'https://r.example/npm/@mezu%2Fcli/latest')
})

async function checker(t: ExecutionContext, version: string) {
  const registry = await startFakeRegistry(t, {version})
  const statePath = join(tempDir(t), 'update-check.json')
  let clock = Date.parse('2026-01-01T00:00:00Z')
  const check = () => startUpdateCheck({packageName: 'mezusphere', currentVersion: '0.1.0', bin: 'mezu', statePath, registry: registry.url, now: () => clock})
  return {registry, statePath, check, advance: (ms: number) => (clock += ms)}
}

test('the same release is announced again after a day, not before', async (t) => {
  const {registry, check, advance} = await checker(t, '0.2.0')
  t.regex((await check().notice())!, /0\.1\.0 → 0\.2\.0/)
  advance(23 * HOUR)
  t.is(await check().notice(), undefined)
  t.is(registry.requests.length, 1)
  advance(2 * HOUR)
  t.regex((await check().notice())!, /0\.1\.0 → 0\.2\.0/)
  t.is(registry.requests.length, 2)
})

test('a newer release than the one announced is announced as soon as it is seen', async (t) => {
  const {registry, statePath, check, advance} = await checker(t, '0.3.0')
  const at = (ms: number) => new Date(advance(0) + ms).toISOString()
  writeFileSync(statePath, JSON.stringify({checkedAt: at(-25 * HOUR), url: `${registry.url}/mezusphere/latest`, latest: '0.2.0', notified: {version: '0.2.0', at: at(-HOUR)}}))
  t.regex((await check().notice())!, /0\.1\.0 → 0\.3\.0/)
  t.is(registry.requests.length, 1)
})

test('a check dated in the future (a clock set back) does not silence checks', async (t) => {
  const {registry, statePath, check} = await checker(t, '0.2.0')
  await check().notice()
  const state = JSON.parse(readFileSync(statePath, 'utf8'))
  writeFileSync(statePath, JSON.stringify({...state, checkedAt: '2027-01-01T00:00:00Z', notified: undefined}))
  t.truthy(await check().notice())
  t.is(registry.requests.length, 2)
})

test('a failed check keeps the release known before it', async (t) => {
  const {registry, statePath, check, advance} = await checker(t, '0.2.0')
  await check().notice()
  advance(25 * HOUR)
  registry.answer = {status: 503, body: 'down'}
  t.regex((await check().notice())!, /0\.2\.0/)
  t.is(JSON.parse(readFileSync(statePath, 'utf8')).latest, '0.2.0')
  t.is(registry.requests.length, 2)
})

test('another registry makes the state stale', async (t) => {
  const {statePath, check} = await checker(t, '0.2.0')
  await check().notice()
  const other = await startFakeRegistry(t, {version: '0.2.0'})
  const elsewhere = startUpdateCheck({packageName: 'mezusphere', currentVersion: '0.1.0', bin: 'mezu', statePath, registry: other.url, now: () => Date.parse('2026-01-01T01:00:00Z')})
  await elsewhere.notice()
  t.is(other.requests.length, 1)
})
