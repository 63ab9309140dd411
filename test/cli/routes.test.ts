import test from 'ava'
import {configVersion as storeConfigVersion} from '../../platform/store/config/meta.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {errorOf} from '../helpers/seed-user.js'
import {type CliUser, ownerCli} from '../helpers/session.js'

/** The edge's port as end users see it: the bound edge when there is one, else the configured port. */
function edgePort(p: TestPlatform): number {
  if (p.edgeUrl) return Number(new URL(p.edgeUrl).port || 443)
  return p.config.edgePort
}
const urlOf = (p: TestPlatform, host: string, path: string) => `https://${host}${edgePort(p) === 443 ? '' : `:${edgePort(p)}`}${path}`
const configVersion = (p: TestPlatform) => storeConfigVersion(p.ctx.cdb)

async function shop(cli: CliUser, envs = ['production']): Promise<void> {
  await cli.json(['projects', 'create', 'shop'])
  for (const e of envs) await cli.json(['envs', 'create', e, '--project', 'shop'])
}

// Serial on purpose: each test spawns many CLI processes; one at a time, results arrive steadily
// instead of all at the end of a long CPU-bound stretch (ava's timeout counts time without results).
test.serial('create and get show the public URL; a bare label goes under the platform domain; no policy means any signed-in user', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  const {warnings, ...route} = await cli.json(['routes', 'create', '--hostname', 'Shop', '--path', '/api//v1/', '--service', 'web', '--project', 'shop', '--body-limit', '10MB', '--rate-limit', '600'])
  t.deepEqual(warnings, [], 'the private CA\'s edge certificate names *.mezu.localhost')
  t.is(route.hostname, 'shop.mezu.localhost')
  t.is(route.pathPrefix, '/api/v1')
  t.is(route.url, urlOf(platform, 'shop.mezu.localhost', '/api/v1'))
  t.is(route.policyId, null)
  t.is(route.bodyLimitBytes, 10 * 1024 * 1024)
  t.is(route.rateLimitPerMinute, 600)
  t.is(route.service, 'web')

  const human = await cli.run(['routes', 'create', '--hostname', 'docs.example.com', '--service', 'docs', '--project', 'shop'])
  t.is(human.code, 0)
  t.true(human.stdout.includes(urlOf(platform, 'docs.example.com', '/')), 'people see the URL too')
  t.regex(human.stderr, /^Warning: the edge's certificate \(the private platform CA\) does not cover docs\.example\.com/m, 'a host outside the domain is not in the edge certificate')
  t.false(human.stdout.includes('Warning'))

  for (const ref of [route.id, 'shop.mezu.localhost/api/v1', 'shop/api/v1']) t.deepEqual(await cli.json(['routes', 'get', ref]), route, ref)
  const list = await cli.json(['routes', 'list', '--project', 'shop'])
  t.deepEqual(list.items.map((r: {url: string}) => r.url), [route.url, urlOf(platform, 'docs.example.com', '/')])
})

test.serial('refuses a hostname with a space, a bad path and a duplicate hostname + path, writing nothing', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  await cli.json(['projects', 'create', 'blog'])
  await cli.json(['envs', 'create', 'production', '--project', 'blog'])
  const first = await cli.json(['routes', 'create', '--hostname', 'shop', '--path', '/api', '--service', 'web', '--project', 'shop'])
  const before = await configVersion(platform)
  const cases: Array<[string[], string, RegExp]> = [
    [['--hostname', 'my shop', '--project', 'shop'], 'invalid_request', /hostname "my shop" is not valid: it contains a space/],
    [['--hostname', 'bad_label.example.com', '--project', 'shop'], 'invalid_request', /hostname/],
    [['--hostname', 'shop2', '--path', 'api', '--project', 'shop'], 'invalid_request', /path "api" is not valid: it must start with "\/"/],
    [['--hostname', 'shop2', '--path', '/a/../b', '--project', 'shop'], 'invalid_request', /"\." and "\.\." segments/],
    [['--hostname', 'shop2', '--path', '/a%2Fb', '--project', 'shop'], 'invalid_request', /encoded slashes/],
    [['--hostname', 'SHOP.mezu.localhost', '--path', '/api/', '--project', 'shop'], 'conflict', /already exists/],
    [['--hostname', 'shop', '--path', '/api', '--project', 'blog'], 'conflict', /belongs to project "shop"/],
    [['--hostname', 'shop2', '--project', 'shop', '--policy', 'nope'], 'not_found', /policy/],
    [['--hostname', 'shop2', '--project', 'shop', '--env', 'staging'], 'not_found', /staging/],
    [['--hostname', 'shop2', '--project', 'nowhere'], 'not_found', /nowhere/],
  ]
  for (const [flags, code, message] of cases) {
    const r = await cli.run(['routes', 'create', '--service', 'web', ...flags, '--json'])
    t.is(r.code, code === 'invalid_request' ? 2 : 1, flags.join(' '))
    t.is(errorOf(r.stderr).code, code, flags.join(' '))
    t.regex(errorOf(r.stderr).message, message, flags.join(' '))
    t.is(r.stdout, '')
  }
  for (const flags of [['--body-limit', 'huge'], ['--rate-limit', '0'], []]) {
    const r = await cli.run(['routes', 'create', '--hostname', 'shop3', ...(flags.length ? ['--service', 'web'] : []), '--project', 'shop', ...flags, '--json'])
    t.is(r.code, 2, flags.join(' ') || 'missing --service')
    t.is(errorOf(r.stderr).code, 'usage')
  }
  t.deepEqual((await cli.json(['routes', 'list'])).items.map((r: {id: string}) => r.id), [first.id])
  t.is(await configVersion(platform), before, 'no configuration change')
})

test.serial('a project with several environments needs --env; with one it is implied', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli, ['production', 'staging'])
  const r = await cli.run(['routes', 'create', '--hostname', 'shop', '--service', 'web', '--project', 'shop', '--json'])
  t.is(r.code, 2)
  t.is(errorOf(r.stderr).code, 'invalid_request')
  t.regex(errorOf(r.stderr).message, /--env/)
  const staging = await cli.json(['routes', 'create', '--hostname', 'shop-staging', '--service', 'web', '--project', 'shop', '--env', 'staging'])
  const env = (await cli.json(['envs', 'list', '--project', 'shop'])).items.find((e: {name: string}) => e.name === 'staging')
  t.is(staging.environmentId, env.id)
  t.deepEqual((await cli.json(['routes', 'list', '--project', 'shop', '--env', 'production'])).items, [])
})

test.serial('update changes policy, hostname and limits; delete removes the route', async (t) => {
  const platform = await startTestPlatform(t)
  const cli = await ownerCli(t, platform)
  await shop(cli)
  const policy = await cli.json(['policies', 'create', 'staff', '--project', 'shop', '--allow-email', 'a@example.test'])
  const route = await cli.json(['routes', 'create', '--hostname', 'shop', '--service', 'web', '--project', 'shop'])
  await cli.json(['routes', 'create', '--hostname', 'taken', '--service', 'web', '--project', 'shop'])

  const withPolicy = await cli.json(['routes', 'update', route.id, '--policy', 'staff', '--rate-limit', '60'])
  t.is(withPolicy.policyId, policy.id)
  t.is(withPolicy.rateLimitPerMinute, 60)
  const moved = await cli.json(['routes', 'update', 'shop', '--hostname', 'store', '--path', '/v2/'])
  t.is(moved.url, urlOf(platform, 'store.mezu.localhost', '/v2'))
  t.is(moved.policyId, policy.id, 'fields not given are kept')
  const open = await cli.json(['routes', 'update', route.id, '--no-policy'])
  t.is(open.policyId, null)

  const clash = await cli.run(['routes', 'update', route.id, '--hostname', 'taken', '--path', '/', '--json'])
  t.is(errorOf(clash.stderr).code, 'conflict')
  const space = await cli.run(['routes', 'update', route.id, '--hostname', 'a b', '--json'])
  t.is(errorOf(space.stderr).code, 'invalid_request')
  t.deepEqual(await cli.json(['routes', 'get', route.id]), open, 'refused updates changed nothing')
  const nothing = await cli.run(['routes', 'update', route.id, '--json'])
  t.is(nothing.code, 2)

  await cli.json(['routes', 'delete', 'store.mezu.localhost/v2'])
  const gone = await cli.run(['routes', 'get', route.id, '--json'])
  t.is(errorOf(gone.stderr).code, 'not_found')
  t.is((await cli.json(['routes', 'list'])).items.length, 1)
})
