import test from 'ava'
import {configVersion} from '../../platform/store/config/meta.js'
import {startTestPlatform} from '../helpers/platform.js'
import {errorOf} from '../helpers/seed-user.js'
import {type CliUser, ownerCli} from '../helpers/session.js'

async function shop(cli: CliUser): Promise<void> {
  await cli.json(['projects', 'create', 'shop'])
  await cli.json(['envs', 'create', 'production', '--project', 'shop'])
}

// Serial on purpose: each test spawns many CLI processes; one at a time, results arrive steadily
// instead of all at the end of a long CPU-bound stretch (ava's timeout counts time without results).
test.serial('a policy names directories and service accounts by name and keeps their ids; IPs become CIDR ranges', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  const eng = await cli.json(['directories', 'create', 'eng'])
  const plat = await cli.json(['directories', 'create', 'platform', '--parent', 'eng'])
  const bot = (await cli.json(['service-accounts', 'create', 'monitor', '--scope', 'routes:read'])).serviceAccount
  const policy = await cli.json([
    'policies', 'create', 'staff', '--project', 'shop',
    '--allow-email', 'Ada@Example.test', '--allow-directory', 'eng/platform', '--allow-directory', eng.id,
    '--allow-service-account', 'monitor', '--allow-ip', '203.0.113.7', '--allow-ip', '2001:db8::1', '--allow-ip', '10.1.2.3/8',
    '--deny-email', 'mallory@example.test', '--deny-directory', 'eng', '--deny-service-account', bot.id, '--deny-ip', '::ffff:192.0.2.0/120',
  ])
  t.false(policy.public)
  t.deepEqual(policy.allow, {
    emails: ['ada@example.test'],
    directories: [plat.id, eng.id],
    serviceAccounts: [bot.id],
    ips: ['203.0.113.7/32', '2001:db8::1/128', '10.0.0.0/8'],
  })
  t.deepEqual(policy.deny, {emails: ['mallory@example.test'], directories: [eng.id], serviceAccounts: [bot.id], ips: ['192.0.2.0/24']})
  t.deepEqual(await cli.json(['policies', 'get', 'staff', '--project', 'shop']), policy)
  t.deepEqual((await cli.json(['policies', 'list', '--project', 'shop'])).items, [policy])
})

test.serial('refuses a malformed CIDR, an unknown directory or service account, and a duplicate name, writing nothing', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  await cli.json(['policies', 'create', 'taken', '--project', 'shop'])
  const version = () => configVersion(platform.ctx.cdb)
  const before = await version()
  const cases: Array<[string[], string, RegExp]> = [
    [['--allow-ip', '10.0.0.0/33'], 'invalid_request', /allow\.ips: "10\.0\.0\.0\/33" is not an IP address or CIDR/],
    [['--deny-ip', '300.1.2.3'], 'invalid_request', /deny\.ips: "300\.1\.2\.3"/],
    [['--allow-ip', '10.1'], 'invalid_request', /allow\.ips/],
    [['--allow-ip', 'fe80::1::2'], 'invalid_request', /allow\.ips/],
    [['--allow-directory', 'eng/nowhere'], 'invalid_request', /allow\.directories: no directory "eng\/nowhere"/],
    [['--deny-service-account', 'ghost'], 'invalid_request', /deny\.serviceAccounts: no service account "ghost"/],
    [['--allow-email', 'not-an-email'], 'invalid_request', /emails/],
  ]
  for (const [flags, code, message] of cases) {
    const r = await cli.run(['policies', 'create', 'p1', '--project', 'shop', ...flags, '--json'])
    t.is(r.code, code === 'invalid_request' ? 2 : 1, flags.join(' '))
    t.is(errorOf(r.stderr).code, code, flags.join(' '))
    t.regex(errorOf(r.stderr).message, message)
  }
  const dup = await cli.run(['policies', 'create', 'TAKEN', '--project', 'shop', '--json'])
  t.is(errorOf(dup.stderr).code, 'conflict')
  const noProject = await cli.run(['policies', 'create', 'p2', '--json'])
  t.is(errorOf(noProject.stderr).code, 'no_scope')
  t.deepEqual((await cli.json(['policies', 'list', '--project', 'shop'])).items.map((p: {name: string}) => p.name), ['taken'])
  t.is(await version(), before, 'no configuration change was made')
})

test.serial('update replaces only the lists it is given, and --public / --no-public switch openness', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  await cli.json(['policies', 'create', 'p', '--project', 'shop', '--allow-email', 'a@example.test', '--allow-ip', '10.0.0.0/8', '--deny-ip', '10.9.0.0/16'])
  const u1 = await cli.json(['policies', 'update', 'p', '--project', 'shop', '--allow-email', 'b@example.test', '--allow-email', 'c@example.test', '--public'])
  t.true(u1.public)
  t.deepEqual(u1.allow.emails, ['b@example.test', 'c@example.test'])
  t.deepEqual(u1.allow.ips, ['10.0.0.0/8'], 'a list not given is kept')
  t.deepEqual(u1.deny.ips, ['10.9.0.0/16'])
  const u2 = await cli.json(['policies', 'update', 'p', '--project', 'shop', '--no-public', '--name', 'staff'])
  t.false(u2.public)
  t.is(u2.name, 'staff')
  const bad = await cli.run(['policies', 'update', 'staff', '--project', 'shop', '--deny-ip', 'nonsense', '--json'])
  t.is(bad.code, 2, 'input the API refuses as invalid is a usage error')
  t.deepEqual((await cli.json(['policies', 'get', 'staff', '--project', 'shop'])).deny.ips, ['10.9.0.0/16'], 'a refused update changes nothing')
  const nothing = await cli.run(['policies', 'update', 'staff', '--project', 'shop', '--json'])
  t.is(nothing.code, 2)
})

test.serial('refuses to delete a policy routes use, naming them; with --force those routes fall back to any signed-in user', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  await cli.json(['policies', 'create', 'staff', '--project', 'shop', '--allow-email', 'a@example.test'])
  const r1 = await cli.json(['routes', 'create', '--hostname', 'shop', '--service', 'web', '--policy', 'staff', '--project', 'shop'])
  const r2 = await cli.json(['routes', 'create', '--hostname', 'shop', '--path', '/admin', '--service', 'admin', '--policy', 'staff', '--project', 'shop'])
  t.is(r1.policyId, r2.policyId)

  const refused = await cli.run(['policies', 'delete', 'staff', '--project', 'shop', '--json'])
  t.is(refused.code, 1)
  t.is(errorOf(refused.stderr).code, 'in_use')
  t.regex(errorOf(refused.stderr).message, /shop\.mezu\.localhost, shop\.mezu\.localhost\/admin/)
  t.regex(errorOf(refused.stderr).message, /--force/)
  t.is((await cli.json(['routes', 'get', r1.id])).policyId, r1.policyId, 'the routes keep their policy')

  const forced = await cli.json(['policies', 'delete', 'staff', '--project', 'shop', '--force'])
  t.deepEqual(forced.detachedRoutes.sort(), ['shop.mezu.localhost', 'shop.mezu.localhost/admin'])
  for (const r of [r1, r2]) t.is((await cli.json(['routes', 'get', r.id])).policyId, null)
  t.deepEqual((await cli.json(['policies', 'list', '--project', 'shop'])).items, [])

  // A policy nobody uses needs no force.
  await cli.json(['policies', 'create', 'spare', '--project', 'shop'])
  await cli.json(['policies', 'delete', 'spare', '--project', 'shop'])
  const gone = await cli.run(['policies', 'get', 'spare', '--project', 'shop', '--json'])
  t.is(errorOf(gone.stderr).code, 'not_found')
})

test.serial('a policy belongs to its project: another project cannot see it or attach it', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  await cli.json(['projects', 'create', 'blog'])
  await cli.json(['envs', 'create', 'production', '--project', 'blog'])
  const p = await cli.json(['policies', 'create', 'staff', '--project', 'shop'])
  const get = await cli.run(['policies', 'get', p.id, '--project', 'blog', '--json'])
  t.is(errorOf(get.stderr).code, 'not_found')
  const route = await cli.run(['routes', 'create', '--hostname', 'blog', '--service', 'web', '--policy', p.id, '--project', 'blog', '--json'])
  t.is(errorOf(route.stderr).code, 'not_found')
  t.deepEqual((await cli.json(['routes', 'list'])).items, [])
  // The same name in another project is a different policy.
  t.not((await cli.json(['policies', 'create', 'staff', '--project', 'blog'])).id, p.id)
})
