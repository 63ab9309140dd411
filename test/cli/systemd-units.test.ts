import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {BIN, mezu, WARPGATE_BIN} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, registrationToken, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

const UNITS = join(BIN, '..', '..', 'deploy', 'systemd')
const INSTALLED = {mezu: '/usr/local/bin/mezu', warpgate: '/usr/local/bin/mezu-warpgate'}

const HARDENING = ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'Restart=on-failure', 'UMask=0077', 'CapabilityBoundingSet=']

function directives(text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1))
}

/** The --flags an ExecStart line passes (systemd specifiers and $VARIABLES left out). */
function flagsOf(execStart: string): string[] {
  return execStart.split(/\s+/).filter((w) => /^--[a-z-]+$/.test(w))
}

/**
 * systemd-analyze verify loads the unit as systemd would and checks that ExecStart's binary is
 * executable, so each unit is verified as a copy whose ExecStart names this checkout's built bin
 * instead of the npm -g path (/usr/local/bin), which does not exist on a test machine.
 */
function verify(t: import('ava').ExecutionContext, name: string): string {
  const text = readFileSync(join(UNITS, name), 'utf8')
  const dir = tempDir(t)
  const copy = join(dir, name)
  writeFileSync(copy, text.replaceAll(INSTALLED.warpgate, WARPGATE_BIN).replaceAll(INSTALLED.mezu, BIN))
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', copy], {encoding: 'utf8'})
  if (r.error) throw new Error(`systemd-analyze is needed for this test (Debian: apt-get install systemd): ${r.error.message}`)
  const ours = r.stderr.split('\n').filter((l) => l.includes('mezu'))
  t.deepEqual(ours, [], `systemd-analyze verify ${name} reports nothing about it`)
  t.is(r.status, 0, r.stderr)
  return text
}

test('the platform unit passes systemd-analyze verify, is hardened, and passes only flags mezu platform start knows', async (t) => {
  const text = verify(t, 'mezu-platform.service')
  for (const d of HARDENING) t.true(text.split('\n').includes(d), d)
  t.deepEqual(directives(text, 'ReadWritePaths'), ['/var/lib/mezu'])
  t.true(directives(text, 'Environment').includes('MEZU_DATA_DIR=/var/lib/mezu'))
  t.deepEqual(directives(text, 'User'), ['mezu'])
  const [exec] = directives(text, 'ExecStart')
  t.true(exec.startsWith(`${INSTALLED.mezu} platform start `))
  const help = await mezu(['platform', 'start', '--help'])
  for (const flag of flagsOf(exec)) t.true(help.stdout.includes(flag), `mezu platform start takes ${flag}`)
})

test('the templated Warpgate unit passes systemd-analyze verify, takes its token from a credential, and keeps a state file per instance', async (t) => {
  const text = verify(t, 'mezu-warpgate@.service')
  for (const d of HARDENING) t.true(text.split('\n').includes(d), d)
  t.deepEqual(directives(text, 'LoadCredential'), ['token:/etc/mezu/warpgate/%i.token'])
  t.deepEqual(directives(text, 'ReadWritePaths'), ['/var/lib/mezu-warpgate/%i'])
  t.deepEqual(directives(text, 'DynamicUser'), ['yes'])
  const [exec] = directives(text, 'ExecStart')
  t.regex(exec, /--token-file %d\/token /)
  t.regex(exec, /--state \/var\/lib\/mezu-warpgate\/%i\/state\.json /)
  t.false(/MEZU_WARPGATE_TOKEN=|--token /.test(text), 'the token never sits in the unit or the environment')
  const help = await mezu(['--help'], {bin: WARPGATE_BIN})
  for (const flag of flagsOf(exec)) t.true(help.stdout.includes(flag), `mezu-warpgate takes ${flag}`)
})

test('mezu-warpgate refuses --token together with --token-file, and names a token file it cannot read', async (t) => {
  const env = {MEZU_API_URL: 'https://127.0.0.1:1', MEZU_CA_FILE: '/nonexistent-ca.pem'}
  const both = await mezu(['3000', '--token', 'mezu_wg_x', '--token-file', '/tmp/t', '--json'], {bin: WARPGATE_BIN, env})
  t.is(both.code, 2)
  t.regex(JSON.parse(both.stderr).error.message, /--token .* or --token-file .*, not both/)
  const missing = await mezu(['3000', '--token-file', '/nonexistent/token', '--json'], {bin: WARPGATE_BIN, env})
  t.is(missing.code, 1)
  t.is(JSON.parse(missing.stderr).error.code, 'bad_input')
  t.regex(JSON.parse(missing.stderr).error.message, /cannot read the token file \/nonexistent\/token: ENOENT/)
})

test('mezu-warpgate registers with the token read from --token-file, as the templated unit passes it, and serves', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `unit.${platform.domain}`
  await addRoute(platform, {...scope, hostname: host, service: 'unit'})
  const {token, warpgateId} = await registrationToken(platform, scope, 'unit')
  const credentials = tempDir(t)
  writeFileSync(join(credentials, 'token'), token + '\n', {mode: 0o600})
  const env = {MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath}
  const wg = await startTunnelCli(t, [String(origin.port), '--token-file', join(credentials, 'token'), '--state', join(credentials, 'state.json')], env, 2, [WARPGATE_BIN])
  t.like(wg.events.find((e) => e.type === 'registered'), {warpgateId, service: 'unit'})
  await waitUntilServed(platform, host)
  const res = await edgeRequest(platform, host, '/hello')
  t.is(res.status, 200, res.text)
  t.is(await wg.stop(), 0, wg.stderr())
})
