import test from 'ava'
import {createUser} from '../../platform/store/identity/users.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'

test('every change through the API is audited with who, what, when and from where; refusals are not', async (t) => {
  const p = await startTestPlatform(t)
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = (method: string, path: string, body?: unknown, token = owner) => api(p.apiUrl, p.caPem, method, path, {token, body})
  await createUser(p.ctx.idb, {email: 'dev@example.test', name: 'dev', role: 'member', status: 'active', passwordHash: null})
  const started = Date.now()
  const steps: Array<[string, string, unknown?]> = [
    ['POST', '/v1/projects', {name: 'shop'}],
    ['PATCH', '/v1/projects/shop', {description: 'web shop'}],
    ['POST', '/v1/projects/shop/environments', {name: 'prod'}],
    ['PATCH', '/v1/projects/shop/environments/prod', {name: 'production'}],
    ['POST', '/v1/projects/shop/members', {email: 'dev@example.test'}],
    ['DELETE', '/v1/projects/shop/members/dev@example.test'],
    ['POST', '/v1/service-accounts', {name: 'bot', scopes: ['projects:read']}],
    ['DELETE', '/v1/projects/shop/environments/production'],
    ['DELETE', '/v1/projects/shop'],
  ]
  for (const [method, path, body] of steps) t.true((await call(method, path, body)).status < 300, `${method} ${path}`)
  // refused changes leave no entry
  t.is((await call('POST', '/v1/projects', {name: 'bad name'})).status, 400)
  await call('POST', '/v1/projects', {name: 'dup'})
  t.is((await call('POST', '/v1/projects', {name: 'dup'})).status, 409)
  t.is((await call('DELETE', '/v1/sessions/current')).status, 204)

  const reader = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const r = await call('GET', '/v1/audit?limit=100', undefined, reader)
  t.is(r.status, 200)
  const actions = r.body.items.map((e: any) => e.action).reverse()
  t.deepEqual(actions, [
    'platform.init',
    'project.create', 'project.update', 'environment.create', 'environment.rename', 'project.member.add', 'project.member.remove',
    'service-account.create', 'environment.delete', 'project.delete', 'project.create', 'session.logout',
  ])
  for (const e of r.body.items.filter((x: any) => x.action !== 'platform.init')) {
    t.is(e.actor.kind, 'user')
    t.is(e.actor.name, ADMIN_EMAIL)
    t.regex(e.actor.id, /^usr_/)
    t.is(e.ip, '127.0.0.1')
    t.true(Date.parse(e.at) >= started - 1000 && Date.parse(e.at) <= Date.now() + 1000)
    t.regex(e.id, /^aud_/)
  }
  const filtered = await call('GET', '/v1/audit?action=environment.', undefined, reader)
  t.deepEqual(filtered.body.items.map((e: any) => e.action), ['environment.delete', 'environment.rename', 'environment.create'])
  const paged = await call('GET', '/v1/audit?limit=5', undefined, reader)
  t.is(paged.body.items.length, 5)
  const rest = await call('GET', `/v1/audit?limit=100&cursor=${paged.body.nextCursor}`, undefined, reader)
  t.deepEqual([...paged.body.items, ...rest.body.items].map((e: any) => e.id), r.body.items.map((e: any) => e.id))
})

test('entries written within one millisecond still read back newest first', async (t) => {
  const p = await startTestPlatform(t)
  const {appendAudit} = await import('../../platform/store/config/audit.js')
  for (let i = 0; i < 50; i++) await appendAudit(p.ctx.cdb, {actor: {kind: 'system', id: null, name: 'test'}, action: `burst.${String(i).padStart(2, '0')}`, target: {type: 'none', id: null}, ip: null})
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const r = await api(p.apiUrl, p.caPem, 'GET', '/v1/audit?action=burst.&limit=100', {token: owner})
  t.deepEqual(r.body.items.map((e: any) => e.action), Array.from({length: 50}, (_, i) => `burst.${String(49 - i).padStart(2, '0')}`))
})
