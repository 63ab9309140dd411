import {mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {mezu, WARPGATE_BIN} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, registrationToken, startTunnelCli, waitUntilServed} from '../helpers/tunnel.js'

// mezu-warpgate: the Warpgate without the CLI, configured by environment, for servers.

test('mezu-warpgate registers with MEZU_WARPGATE_TOKEN, serves through the edge and drains to exit 0 on a signal', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `lean.${platform.domain}`
  await addRoute(platform, {...scope, hostname: host, service: 'lean'})
  const {token, warpgateId} = await registrationToken(platform, scope, 'lean')
  const env = {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath}
  const wg = await startTunnelCli(t, [String(origin.port)], env, 2, [WARPGATE_BIN])
  t.like(wg.events.find((e) => e.type === 'registered'), {warpgateId, service: 'lean', urls: [`https://${host}:${platform.ports.edge}/`]})
  await waitUntilServed(platform, host)
  const res = await edgeRequest(platform, host, '/hello')
  t.is(res.status, 200, res.text)
  t.is(res.text, 'hello from origin\n')
  await wg.waitForEvent((e) => e.type === 'request' && e.path === '/hello', 'the request event')
  t.is(await wg.stop(), 0, wg.stderr())
  t.like(wg.events.at(-1), {type: 'exit', warpgateId})
  t.true(wg.events.some((e) => e.type === 'draining'), 'it drained')
})

test('mezu-warpgate refuses missing or malformed settings with a usage error naming them, and a refused token with exit 1', async (t) => {
  const platform = await startTestPlatform(t)
  const good = {MEZU_WARPGATE_TOKEN: 'mezu_wg_' + 'A'.repeat(43), MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath}
  const run = async (args: string[], env: Record<string, string>) => {
    const r = await mezu([...args, '--json'], {bin: WARPGATE_BIN, env: {MEZU_WARPGATE_TOKEN: '', ...env}})
    return {code: r.code, message: r.stderr ? JSON.parse(r.stderr).error.message as string : '', errorCode: r.stderr ? JSON.parse(r.stderr).error.code as string : ''}
  }
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['3000'], {...good, MEZU_WARPGATE_TOKEN: ''}, /MEZU_WARPGATE_TOKEN/],
    [['3000'], {...good, MEZU_WARPGATE_TOKEN: 'mezu_sess_x'}, /mezu_wg_/],
    [['3000'], {...good, MEZU_API_URL: ''}, /MEZU_API_URL/],
    [['3000'], {...good, MEZU_CA_FILE: ''}, /MEZU_CA_FILE/],
    [[], good, /TARGET is missing/],
    [['70000'], good, /port/],
    [['3000', '--connections', 'many'], good, /--connections/],
    [['3000', '--grace', 'soon'], good, /--grace/],
    [['3000', '--route', 'x'], good, /--route/],
  ]
  for (const [args, env, named] of cases) {
    const r = await run(args, env)
    t.is(r.code, 2, `${args.join(' ')}: ${r.message}`)
    t.is(r.errorCode, 'usage')
    t.regex(r.message, named)
  }
  const caFile = join(tempDir(t), 'not-a-ca.pem')
  writeFileSync(caFile, 'junk')
  const badCa = await run(['3000'], {...good, MEZU_CA_FILE: caFile})
  t.is(badCa.code, 1)
  t.regex(badCa.message, /not-a-ca\.pem is not a PEM certificate/)
  const refused = await run(['3000'], good)
  t.is(refused.code, 1)
  t.is(refused.errorCode, 'unauthenticated', refused.message)
  // a service directory whose mezu.json lists routes: said once, since only mezu tunnel creates them
  const dir = join(tempDir(t), 'svc')
  mkdirSync(dir)
  writeFileSync(join(dir, 'mezu.json'), JSON.stringify({name: 'svc', port: 3000, routes: [{hostname: 'svc'}]}))
  const routed = await mezu([dir, '--json'], {bin: WARPGATE_BIN, env: good})
  t.is(routed.code, 1)
  // stderr is JSON log lines (pino), then the error object
  const notice = JSON.parse(routed.stderr.trim().split('\n')[0])
  t.is(notice.level, 40)
  t.regex(notice.msg, /^mezu\.json lists 1 route\(s\); mezu-warpgate does not create routes/)
  t.is(JSON.parse(routed.stderr.trim().split('\n').at(-1)!).error.code, 'unauthenticated')
  const help = await mezu(['--help'], {bin: WARPGATE_BIN})
  t.is(help.code, 0)
  t.regex(help.stdout, /MEZU_WARPGATE_TOKEN/)
})

test('with --state, a restarted mezu-warpgate comes back as the same Warpgate without a token, and the file follows each renewal', async (t) => {
  // certificates of 6 s: renewed at two thirds, so the test sees one
  const platform = await startTestPlatform(t, {warpgateCertTtlMs: 6000})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `kept.${platform.domain}`
  await addRoute(platform, {...scope, hostname: host, service: 'kept'})
  const {token, warpgateId} = await registrationToken(platform, scope, 'kept')
  const state = join(tempDir(t), 'state', 'warpgate.json')
  const env = {MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath}
  const first = await startTunnelCli(t, [String(origin.port), '--state', state], {...env, MEZU_WARPGATE_TOKEN: token}, 1, [WARPGATE_BIN])
  t.regex(first.stderr(), /registering with the token: .*warpgate\.json does not exist yet/)
  t.is(statSync(state).mode & 0o777, 0o600)
  const saved = () => JSON.parse(readFileSync(state, 'utf8')).credentials
  t.is(saved().info.warpgateId, warpgateId)
  const before = saved().certPem
  await first.waitForEvent((e) => e.type === 'renewed', 'a renewal')
  t.not(saved().certPem, before, 'the renewed certificate is saved')
  t.is(await first.stop(), 0, first.stderr())
  // the token is burnt: without the state file it no longer registers
  const burnt = await mezu(['3000', '--json'], {bin: WARPGATE_BIN, env: {...env, MEZU_WARPGATE_TOKEN: token}})
  t.is(burnt.code, 1)
  t.is(JSON.parse(burnt.stderr).error.code, 'unauthenticated')
  const again = await startTunnelCli(t, [String(origin.port)], {...env, MEZU_WARPGATE_STATE: state}, 1, [WARPGATE_BIN])
  t.is(again.events.find((e) => e.type === 'registered')?.warpgateId, warpgateId)
  t.notRegex(again.stderr(), /registering with the token/)
  await waitUntilServed(platform, host)
  t.is((await edgeRequest(platform, host, '/hello')).status, 200)
  t.is(await again.stop(), 0, again.stderr())
})

test('mezu-warpgate refuses a state file that is not one, and without a token names why the saved identity cannot serve', async (t) => {
  const platform = await startTestPlatform(t)
  const dir = tempDir(t)
  const env = {MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath, MEZU_WARPGATE_TOKEN: ''}
  const run = async (state: string) => {
    const r = await mezu(['3000', '--state', state, '--json'], {bin: WARPGATE_BIN, env})
    return {code: r.code, error: JSON.parse(r.stderr).error as {code: string; message: string}}
  }
  const missing = await run(join(dir, 'none.json'))
  t.is(missing.code, 2)
  t.regex(missing.error.message, /no registration token and no saved identity \(.*none\.json does not exist yet\)/)
  const junk = join(dir, 'junk.json')
  writeFileSync(junk, '{"version":1}')
  const bad = await run(junk)
  t.is(bad.code, 1)
  t.is(bad.error.code, 'bad_input')
  t.regex(bad.error.message, /junk\.json is not a Warpgate state file/)
  t.is(readFileSync(junk, 'utf8'), '{"version":1}', 'never overwritten')
})
