import anyTest, {type TestFn} from 'ava'
import {createUser} from '../../platform/store/identity/users.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {hookScope} from '../helpers/shared.js'

interface Ctx {
  p: TestPlatform
  owner: string
  member: string
  loner: string
  saA: string
  saReadOnly: string
  a: {id: string; envId: string}
  b: {id: string; envId: string}
}
const test = anyTest as TestFn<Ctx>
const scope = hookScope()

test.before(async (t) => {
  const p = await startTestPlatform(scope.t)
  const call = (method: string, path: string, token: string, body?: unknown) => api(p.apiUrl, p.caPem, method, path, {token, body})
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const ids: Record<string, {id: string; envId: string}> = {}
  for (const name of ['alpha', 'bravo']) {
    const project = await call('POST', '/v1/projects', owner, {name, description: `${name} project`})
    const env = await call('POST', `/v1/projects/${name}/environments`, owner, {name: 'prod'})
    if (project.status !== 201 || env.status !== 201) throw new Error(project.text + env.text)
    ids[name] = {id: project.body.id, envId: env.body.id}
  }
  for (const email of ['member@example.test', 'loner@example.test']) {
    await createUser(p.ctx.idb, {email, name: email, role: 'member', status: 'active', passwordHash: await p.ctx.stores.passwords.hash('member password')})
  }
  const added = await call('POST', '/v1/projects/alpha/members', owner, {email: 'member@example.test'})
  if (added.status !== 201) throw new Error(added.text)
  const sa = async (name: string, scopes: string[]) => {
    const r = await call('POST', '/v1/service-accounts', owner, {name, project: 'alpha', scopes})
    if (r.status !== 201) throw new Error(r.text)
    return r.body.apiKey as string
  }
  t.context = {
    p, owner, a: ids.alpha, b: ids.bravo,
    member: await loginToken(p.apiUrl, p.caPem, 'member@example.test', 'member password'),
    loner: await loginToken(p.apiUrl, p.caPem, 'loner@example.test', 'member password'),
    saA: await sa('alpha-deployer', ['projects:read', 'projects:write']),
    saReadOnly: await sa('alpha-reader', ['projects:read']),
  }
})
test.after.always(() => scope.dispose())

const call = (t: {context: Ctx}, method: string, path: string, token: string, body?: unknown) => api(t.context.p.apiUrl, t.context.p.caPem, method, path, {token, body})

/** Everything a caller could try on project bravo, by name and by id. */
function attemptsOnB(c: Ctx): Array<[string, string, unknown?]> {
  const out: Array<[string, string, unknown?]> = []
  for (const ref of ['bravo', c.b.id]) {
    out.push(
      ['GET', `/v1/projects/${ref}`],
      ['PATCH', `/v1/projects/${ref}`, {description: 'taken over'}],
      ['DELETE', `/v1/projects/${ref}?force=true`],
      ['GET', `/v1/projects/${ref}/environments`],
      ['POST', `/v1/projects/${ref}/environments`, {name: 'sneaky'}],
      ['GET', `/v1/projects/${ref}/environments/prod`],
      ['PATCH', `/v1/projects/${ref}/environments/prod`, {name: 'renamed'}],
      ['DELETE', `/v1/projects/${ref}/environments/${c.b.envId}`],
      ['GET', `/v1/projects/${ref}/members`],
    )
  }
  // bravo's environment reached through alpha, which the caller does reach
  out.push(['GET', `/v1/projects/alpha/environments/${c.b.envId}`], ['DELETE', `/v1/projects/${c.a.id}/environments/${c.b.envId}`])
  return out
}

for (const who of ['member', 'saA'] as const) {
  const label = who === 'member' ? 'a member of project alpha' : 'a service account scoped to project alpha'

  test(`${label} gets 404, never 403, for everything in project bravo, and bravo is unchanged`, async (t) => {
    const token = t.context[who]
    const missing = await call(t, 'GET', '/v1/projects/no-such-project', token)
    t.is(missing.status, 404)
    for (const [method, path, body] of attemptsOnB(t.context)) {
      const r = await call(t, method, path, token, body)
      t.is(r.status, 404, `${method} ${path}: ${r.text}`)
      t.is(r.body?.error?.code, 'not_found', `${method} ${path}`)
      t.false(r.text.includes('bravo project'), 'nothing of bravo leaks')
    }
    const b = await call(t, 'GET', '/v1/projects/bravo', t.context.owner)
    t.is(b.status, 200)
    t.is(b.body.description, 'bravo project')
    const envs = await call(t, 'GET', '/v1/projects/bravo/environments', t.context.owner)
    t.deepEqual(envs.body.items.map((e: any) => e.name), ['prod'])
  })

  test(`${label} sees only alpha in lists, and can work inside alpha`, async (t) => {
    const token = t.context[who]
    const list = await call(t, 'GET', '/v1/projects', token)
    t.is(list.status, 200)
    t.deepEqual(list.body.items.map((p: any) => p.name), ['alpha'])
    t.is((await call(t, 'GET', `/v1/projects/${t.context.a.id}`, token)).status, 200)
    const env = await call(t, 'POST', '/v1/projects/alpha/environments', token, {name: `env-${who.toLowerCase()}`})
    t.is(env.status, 201, env.text)
    t.is((await call(t, 'DELETE', `/v1/projects/alpha/environments/${env.body.id}`, token)).status, 204)
  })
}

test('a member of no project lists nothing and reaches nothing', async (t) => {
  const list = await call(t, 'GET', '/v1/projects', t.context.loner)
  t.deepEqual(list.body.items, [])
  for (const ref of ['alpha', 'bravo', t.context.a.id]) t.is((await call(t, 'GET', `/v1/projects/${ref}`, t.context.loner)).status, 404)
})

test('a project-scoped service account cannot create projects', async (t) => {
  const r = await call(t, 'POST', '/v1/projects', t.context.saA, {name: 'charlie'})
  t.is(r.status, 403)
  t.is(r.body.error.code, 'forbidden')
  t.is((await call(t, 'GET', '/v1/projects/charlie', t.context.owner)).status, 404)
})

test('a service account with only projects:read cannot change anything (403), but reads', async (t) => {
  const token = t.context.saReadOnly
  t.is((await call(t, 'GET', '/v1/projects/alpha', token)).status, 200)
  for (const [method, path, body] of [
    ['POST', '/v1/projects', {name: 'delta'}],
    ['PATCH', '/v1/projects/alpha', {description: 'changed'}],
    ['POST', '/v1/projects/alpha/environments', {name: 'qa'}],
    ['DELETE', '/v1/projects/alpha/environments/prod'],
    ['DELETE', '/v1/projects/alpha?force=true'],
  ] as Array<[string, string, unknown?]>) {
    const r = await call(t, method, path, token, body)
    t.is(r.status, 403, `${method} ${path}: ${r.text}`)
    t.is(r.body.error.code, 'forbidden')
    t.regex(r.body.error.message, /projects:write/)
  }
  const alpha = await call(t, 'GET', '/v1/projects/alpha', t.context.owner)
  t.is(alpha.body.description, 'alpha project')
})

test('members and scoped accounts cannot manage membership or read the audit log', async (t) => {
  for (const token of [t.context.member, t.context.saA]) {
    t.is((await call(t, 'POST', '/v1/projects/alpha/members', token, {email: 'loner@example.test'})).status, 403)
    t.is((await call(t, 'DELETE', '/v1/projects/alpha/members/member@example.test', token)).status, 403)
    t.is((await call(t, 'GET', '/v1/audit', token)).status, 403)
    t.is((await call(t, 'POST', '/v1/service-accounts', token, {name: 'escalate', scopes: ['*']})).status, 403)
  }
  t.deepEqual((await call(t, 'GET', '/v1/projects', t.context.loner)).body.items, [])
})

test('a service account limited to one project never reaches platform-wide resources, even with *; naming such a scope for it is refused by name', async (t) => {
  const wide = await call(t, 'POST', '/v1/service-accounts', t.context.owner, {name: 'alpha-everything', project: 'alpha', scopes: ['*']})
  t.is(wide.status, 201, wide.text)
  const key = wide.body.apiKey as string
  for (const path of ['/v1/users', '/v1/audit', '/v1/sessions', '/v1/directories', '/v1/edges']) {
    const r = await call(t, 'GET', path, key)
    t.is(r.status, 403, `${path}: ${r.text}`)
    t.regex(r.body.error.message, /covers the whole platform: a service account limited to one project/, path)
  }
  t.is((await call(t, 'POST', '/v1/users', key, {email: 'sneaky@example.test', role: 'owner'})).status, 403)
  // its own project stays in reach
  t.is((await call(t, 'GET', '/v1/projects/alpha', key)).status, 200)
  t.is((await call(t, 'GET', '/v1/projects/bravo', key)).status, 404)

  for (const scopes of [['users:read'], ['routes:read', 'audit:read'], ['sessions:*']]) {
    const r = await call(t, 'POST', '/v1/service-accounts', t.context.owner, {name: `alpha-${scopes.join('-').replace(/[^a-z]/g, '')}`, project: 'alpha', scopes})
    t.is(r.status, 400, r.text)
    t.is(r.body.error.field, 'scopes')
    t.regex(r.body.error.message, /covers the whole platform: an account limited to project "alpha" cannot hold it/)
  }
  // without a project, the same scopes are fine
  t.is((await call(t, 'POST', '/v1/service-accounts', t.context.owner, {name: 'platform-auditor', scopes: ['audit:read']})).status, 201)
})
