import {writeFileSync} from 'node:fs'
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
  const scope = addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `lean.${platform.domain}`
  addRoute(platform, {...scope, hostname: host, service: 'lean'})
  const {token, warpgateId} = registrationToken(platform, scope, 'lean')
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
  const help = await mezu(['--help'], {bin: WARPGATE_BIN})
  t.is(help.code, 0)
  t.regex(help.stdout, /MEZU_WARPGATE_TOKEN/)
})
