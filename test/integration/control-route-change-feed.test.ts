import test from 'ava'
import type {ChangeEvent} from '../../platform/control/feed.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {committedReader} from '../helpers/store-engine.js'

test('a route change bumps the configuration version once and publishes exactly one feed event, after commit', async (t) => {
  const platform = await startTestPlatform(t)
  const token = await loginToken(platform.apiUrl, platform.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const call = (method: string, path: string, body?: unknown) => api(platform.apiUrl, platform.caPem, method, path, {token, body})
  t.is((await call('POST', '/v1/projects', {name: 'shop'})).status, 201)
  t.is((await call('POST', '/v1/projects/shop/environments', {name: 'production'})).status, 201)

  // A second connection sees only committed data: what it reads inside the listener proves the
  // event was published after the commit, not before.
  const reader = await committedReader(t, platform)
  const before = await reader.configVersion()
  const events: Array<ChangeEvent & {committedVersion: number; routeRows: number}> = []
  t.teardown(platform.ctx.feed.subscribe(async (e) => {
    events.push({...e, committedVersion: await reader.configVersion(), routeRows: e.id ? await reader.rowsWithId('routes', e.id) : 0})
  }))

  const created = await call('POST', '/v1/routes', {project: 'shop', hostname: 'shop', service: 'web'})
  t.is(created.status, 201)
  t.is(events.length, 1)
  t.like(events[0], {kind: 'route', id: created.body.id, action: 'created', version: before + 1, committedVersion: before + 1, routeRows: 1})
  t.is(await reader.configVersion(), before + 1)

  const updated = await call('PATCH', `/v1/routes/${created.body.id}`, {service: 'web2'})
  t.is(updated.status, 200)
  t.is(events.length, 2)
  t.like(events[1], {kind: 'route', action: 'updated', version: before + 2, committedVersion: before + 2})

  // A refused change publishes nothing and leaves the version alone.
  const dup = await call('POST', '/v1/routes', {project: 'shop', hostname: 'shop', service: 'web'})
  t.is(dup.status, 409)
  const bad = await call('POST', '/v1/routes', {project: 'shop', hostname: 'my shop', service: 'web'})
  t.is(bad.status, 400)
  t.is(bad.body.error.field, 'hostname')
  t.is(events.length, 2)
  t.is(await reader.configVersion(), before + 2)

  const deleted = await call('DELETE', `/v1/routes/${created.body.id}`)
  t.is(deleted.status, 204)
  t.is(events.length, 3)
  t.like(events[2], {kind: 'route', action: 'deleted', version: before + 3, committedVersion: before + 3, routeRows: 0})

  const audit = await call('GET', '/v1/audit?limit=10')
  const actions = audit.body.items.map((e: {action: string}) => e.action)
  for (const a of ['route.create', 'route.update', 'route.delete']) t.true(actions.includes(a), a)
})
