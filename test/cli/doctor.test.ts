import {X509Certificate} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {createCa} from '../../platform/pki/ca.js'
import {mezu} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {ownerCli} from '../helpers/session.js'
import {startWarpgate} from '../helpers/tunnel.js'

interface Check {
  id: string
  title: string
  verdict: 'pass' | 'warn' | 'fail' | 'skip'
  detail: string
  fix: string | null
}

const byId = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.id, c]))

test('passes on a healthy platform: every check, the route\'s Warpgate connected; a route with no Warpgate is named', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  const project = await cli.json(['projects', 'create', 'shop'])
  const env = await cli.json(['envs', 'create', 'prod', '--project', 'shop'])
  const route = await cli.json(['routes', 'create', '--hostname', 'hello', '--service', 'web', '--project', 'shop'])
  const origin = await startOrigin(t)
  await startWarpgate(t, platform, {projectId: project.id, environmentId: env.id}, 'web', origin.url)

  const r = await cli.run(['doctor', '--project', 'shop', '--json'])
  t.is(r.code, 0, r.stdout + r.stderr)
  const report = r.json() as {ok: boolean; checks: Check[]}
  t.true(report.ok)
  t.deepEqual(report.checks.map((c) => c.id), ['config', 'api', 'ca', 'token', 'clock', 'edge', 'tunnel', `route:${route.id}`])
  for (const c of report.checks) t.is(c.verdict, 'pass', `${c.title}: ${c.detail}`)
  t.regex(byId(report.checks).token.detail, /owner@example\.test; expires \d{4}-/, 'the token\'s expiry is shown')
  t.regex(byId(report.checks)[`route:${route.id}`].detail, /1 Warpgate\(s\) connected/)

  const human = await cli.run(['doctor', '--project', 'shop'])
  t.is(human.code, 0)
  t.regex(human.stdout, /All checks passed\.\n$/)

  const lonely = await cli.json(['routes', 'create', '--hostname', 'lonely', '--service', 'nobody', '--project', 'shop'])
  const failing = await cli.run(['doctor', '--project', 'shop', '--json'])
  t.is(failing.code, 1, 'a failed check fails the doctor')
  t.is(failing.stderr, '')
  const check = byId(failing.json().checks)[`route:${lonely.id}`]
  t.like(check, {verdict: 'fail', detail: 'no Warpgate is connected for service "nobody"'})
  t.regex(check.fix!, /mezu warpgates create --service nobody/)
  const text = await cli.run(['doctor', '--project', 'shop'])
  t.regex(text.stdout, /FAIL {2}route https:\/\/lonely\.mezu\.localhost:\d+\/: no Warpgate/)
  t.regex(text.stdout, /1 check\(s\) failed: route https:\/\/lonely/)

  const noProject = await cli.run(['doctor', '--json'])
  t.is(noProject.code, 0, 'a warning does not fail the doctor')
  t.like(byId(noProject.json().checks).routes, {verdict: 'warn'})
})

test('names the failing check for a wrong CA, an expired token and a revoked key', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  const sa = await cli.json(['service-accounts', 'create', 'ci', '--scope', 'routes:read'])

  const otherCa = join(tempDir(t), 'other-ca.pem')
  writeFileSync(otherCa, (await createCa()).certPem)
  const wrongCa = await cli.run(['doctor', '--json'], {env: {MEZU_CA_FILE: otherCa}})
  t.is(wrongCa.code, 1)
  const ca = byId(wrongCa.json().checks).ca
  t.is(ca.verdict, 'fail')
  t.regex(ca.detail, /does not verify against the pinned CA/)
  t.true(ca.detail.includes(new X509Certificate(platform.caPem).fingerprint256), 'names the fingerprint the platform presents')
  t.regex(ca.fix!, /mezu platform trust/)
  t.is(byId(wrongCa.json().checks).token.verdict, 'skip', 'no token is sent to a platform that is not verified')
  const human = await cli.run(['doctor'], {env: {MEZU_CA_FILE: otherCa}})
  t.regex(human.stdout, /FAIL {2}CA pinned and matching/)

  await cli.run(['service-accounts', 'revoke', 'ci', '--json'])
  const revoked = await cli.run(['doctor', '--json'], {env: {MEZU_TOKEN: sa.apiKey}})
  t.is(revoked.code, 1)
  const token = byId(revoked.json().checks).token
  t.is(token.verdict, 'fail')
  t.regex(token.detail, /token_revoked/)
  t.regex(token.fix!, /MEZU_TOKEN/)

  await platform.ctx.idb.db.updateTable('sessions').set({expires_at: Date.now() - 60_000}).execute()
  const expired = await cli.run(['doctor', '--json'])
  t.is(expired.code, 1)
  t.like(byId(expired.json().checks).token, {verdict: 'fail', fix: 'log in again: `mezu login`'})
  t.regex(byId(expired.json().checks).token.detail, /token_expired/)
  t.is(byId(expired.json().checks).clock.verdict, 'pass', 'the clock is still compared')
})

test('names "API reachable" for a stopped platform', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await platform.stop()
  const r = await cli.run(['doctor', '--json'])
  t.is(r.code, 1)
  const checks = byId(r.json().checks)
  t.is(checks.config.verdict, 'pass')
  t.like(checks.api, {verdict: 'fail'})
  t.regex(checks.api.detail, /connection refused/)
  t.regex(checks.api.fix!, /mezu platform start/)
  t.true(['ca', 'token', 'clock', 'edge', 'tunnel', 'routes'].every((id) => checks[id].verdict === 'skip'))
  const human = await cli.run(['doctor'])
  t.is(human.code, 1)
  t.regex(human.stdout, /FAIL {2}API reachable: 127\.0\.0\.1:\d+: connection refused/)
  t.regex(human.stdout, /1 check\(s\) failed: API reachable\./)
})

test('without any configuration the first check fails and says how to log in', async (t) => {
  const r = await mezu(['doctor', '--json'], {env: {MEZU_CONFIG_DIR: tempDir(t)}})
  t.is(r.code, 1)
  t.like(byId(r.json().checks).config, {verdict: 'fail'})
  t.regex(byId(r.json().checks).config.fix!, /mezu login/)
})
