import test from 'ava'
import {createUser} from '../../platform/store/identity/users.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'

// A hostname belongs to one project: another project may not claim any path on it.

test('a route on a hostname another project uses is refused with 409, naming the owner only to those who can reach it', async (t) => {
  const p = await startTestPlatform(t)
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = async (token: string, method: string, path: string, body?: unknown) => api(p.apiUrl, p.caPem, method, path, {token, body})
  for (const name of ['alpha', 'bravo']) {
    t.is((await call(owner, 'POST', '/v1/projects', {name})).status, 201)
    t.is((await call(owner, 'POST', `/v1/projects/${name}/environments`, {name: 'prod'})).status, 201)
  }
  await createUser(p.ctx.idb, {email: 'b-member@example.test', name: 'B', role: 'member', status: 'active', passwordHash: await p.ctx.stores.passwords.hash('member password')})
  t.is((await call(owner, 'POST', '/v1/projects/bravo/members', {email: 'b-member@example.test'})).status, 201)
  const member = await loginToken(p.apiUrl, p.caPem, 'b-member@example.test', 'member password')
  const sa = await call(owner, 'POST', '/v1/service-accounts', {name: 'bravo-deployer', project: 'bravo', scopes: ['routes:write', 'routes:read']})
  t.is(sa.status, 201, sa.text)
  const deployer = sa.body.apiKey as string

  const app = await call(owner, 'POST', '/v1/routes', {project: 'alpha', hostname: 'app', service: 'web'})
  t.is(app.status, 201, app.text)
  const before = (await call(owner, 'GET', '/v1/routes')).body.items.length

  for (const [who, token] of [['a member of bravo', member], ['a service account scoped to bravo', deployer]] as const) {
    for (const body of [
      {project: 'bravo', hostname: 'app', path: '/public/x', service: 'evil'},
      {project: 'bravo', hostname: 'APP.mezu.localhost', path: '/', service: 'evil'},
      {project: 'bravo', hostname: 'app.mezu.localhost.', path: '/api', service: 'evil'},
    ]) {
      const r = await call(token, 'POST', '/v1/routes', body)
      t.is(r.status, 409, `${who}: ${JSON.stringify(body)} → ${r.text}`)
      t.is(r.body.error.code, 'conflict')
      t.regex(r.body.error.message, /app\.mezu\.localhost is used by another project/)
      t.notRegex(r.text, /alpha/, 'the other project is not revealed')
    }
  }
  // an owner sees all projects, so the message says which one holds the host and how to move it
  const byOwner = await call(owner, 'POST', '/v1/routes', {project: 'bravo', hostname: 'app', path: '/public', service: 'web'})
  t.is(byOwner.status, 409)
  t.regex(byOwner.body.error.message, /belongs to project "alpha": to move it, delete its routes there first/)

  // moving a route of bravo onto the host is refused the same way
  const own = await call(deployer, 'POST', '/v1/routes', {project: 'bravo', hostname: 'bravo-app', service: 'web'})
  t.is(own.status, 201, own.text)
  const moved = await call(deployer, 'PATCH', `/v1/routes/${own.body.id}`, {hostname: 'app', path: '/public/x'})
  t.is(moved.status, 409, moved.text)
  t.notRegex(moved.text, /alpha/)
  t.is((await call(owner, 'GET', `/v1/routes/${own.body.id}`)).body.hostname, 'bravo-app.mezu.localhost', 'unchanged')
  t.is((await call(owner, 'GET', '/v1/routes')).body.items.length, before + 1, 'nothing else was created')

  // the owning project adds paths freely; once it lets go of the host, another project may take it
  t.is((await call(owner, 'POST', '/v1/routes', {project: 'alpha', hostname: 'app', path: '/public/x', service: 'web'})).status, 201)
  for (const r of (await call(owner, 'GET', '/v1/routes?project=alpha')).body.items) t.is((await call(owner, 'DELETE', `/v1/routes/${r.id}`)).status, 204)
  const taken = await call(deployer, 'POST', '/v1/routes', {project: 'bravo', hostname: 'app', path: '/public/x', service: 'web'})
  t.is(taken.status, 201, taken.text)
})

test('four projects racing for one new hostname: exactly one gets it, whatever the interleaving', async (t) => {
  const p = await startTestPlatform(t)
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = async (method: string, path: string, body?: unknown) => api(p.apiUrl, p.caPem, method, path, {token: owner, body})
  const projects = ['alpha', 'bravo', 'charlie', 'delta']
  for (const name of projects) {
    t.is((await call('POST', '/v1/projects', {name})).status, 201)
    t.is((await call('POST', `/v1/projects/${name}/environments`, {name: 'prod'})).status, 201)
  }
  // different paths, so no unique index stands between them: only the ownership check does
  for (let round = 0; round < 12; round++) {
    const host = `race-${round}`
    const results = await Promise.all(projects.map((project, i) => call('POST', '/v1/routes', {project, hostname: host, path: `/${i}`, service: 'web'})))
    t.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409], results.map((r) => r.text).join(' / '))
    const routes = (await call('GET', '/v1/routes')).body.items.filter((r: {hostname: string}) => r.hostname === `${host}.mezu.localhost`)
    t.is(new Set(routes.map((r: {projectId: string}) => r.projectId)).size, 1, 'one project holds the host')
  }
})
