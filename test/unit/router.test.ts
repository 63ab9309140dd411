import test from 'ava'
import type {Route} from '../../src/lib/api-types/index.js'
import {buildRouteTable, matchRoute, normaliseHost, normalisePath, underPrefix} from '../../platform/edge/router.js'

const route = (id: string, hostname: string, pathPrefix: string): Route => ({
  id, hostname, pathPrefix, projectId: 'p', environmentId: 'e', service: id, policyId: null, bodyLimitBytes: null, rateLimitPerMinute: null, url: '', createdAt: '', updatedAt: '',
})

test('matches the exact hostname, then the longest path prefix on segment boundaries', (t) => {
  const table = buildRouteTable([route('root', 'a.test', '/'), route('api', 'a.test', '/api'), route('v2', 'a.test', '/api/v2/'), route('other', 'b.test', '/')])
  t.is(table.match('a.test', '/')?.id, 'root')
  t.is(table.match('a.test', '/api')?.id, 'api')
  t.is(table.match('a.test', '/api/users')?.id, 'api')
  t.is(table.match('a.test', '/apix')?.id, 'root', '/api does not match /apix')
  t.is(table.match('a.test', '/api/v2')?.id, 'v2')
  t.is(table.match('a.test', '/api/v2/x')?.id, 'v2')
  t.is(table.match('b.test', '/api')?.id, 'other')
  t.is(table.match('c.test', '/'), undefined)
  t.is(table.match('x.a.test', '/'), undefined, 'no suffix matching of hostnames')
})

test('a host serves only the project of its oldest route, so a second project cannot claim a longer prefix on it', (t) => {
  const owned = {...route('a-root', 'app.test', '/'), projectId: 'A', createdAt: '2026-01-01T00:00:00.000Z'}
  const own = {...route('a-api', 'app.test', '/api'), projectId: 'A', createdAt: '2026-03-01T00:00:00.000Z'}
  const claim = {...route('b-public', 'app.test', '/public/x'), projectId: 'B', createdAt: '2026-02-01T00:00:00.000Z'}
  const table = buildRouteTable([claim, own, owned])
  t.is(table.match('app.test', '/public/x/secret')?.id, 'a-root', 'B never receives A\'s paths')
  t.is(table.match('app.test', '/api/v1')?.id, 'a-api', 'A\'s own later routes still serve')
  const alone = buildRouteTable([claim])
  t.is(alone.match('app.test', '/public/x')?.id, 'b-public', 'a host with one project serves it')
})

test('a host with only a narrower prefix does not match outside it', (t) => {
  const table = buildRouteTable([route('api', 'a.test', '/api')])
  t.is(table.match('a.test', '/'), undefined)
  t.is(table.match('a.test', '/ap'), undefined)
})

test('normalises hosts (case, port, trailing dot) and refuses IP literals and junk', (t) => {
  t.is(normaliseHost('Hello.Mezu.Localhost:8443'), 'hello.mezu.localhost')
  t.is(normaliseHost('a.test.'), 'a.test')
  t.is(normaliseHost('[::1]:443'), undefined)
  t.is(normaliseHost('a b'), undefined)
  t.is(normaliseHost(undefined), undefined)
})

test('resolves dot segments before matching so /api/../admin is routed as /admin', (t) => {
  t.deepEqual(normalisePath('/api/../admin?x=1'), {path: '/admin', search: '?x=1'})
  t.deepEqual(normalisePath('/a/./b'), {path: '/a/b', search: ''})
  t.is(normalisePath('http://evil.test/'), undefined)
  // repeated slashes collapse (as the gate's policy check sees them): a path, never a host
  t.deepEqual(normalisePath('//evil.test/x'), {path: '/evil.test/x', search: ''})
  t.deepEqual(normalisePath('/%61dmin'), {path: '/admin', search: ''})
  t.is(normalisePath('*'), undefined)
  t.true(underPrefix('/api', '/api/'))
  t.false(underPrefix('/apiv', '/api/'))
})

test('matchRoute refuses a path an origin would read as under another route, and keeps the rest', (t) => {
  const table = buildRouteTable([route('open', 'a.test', '/'), route('secret', 'a.test', '/secret')])
  for (const p of ['/secret;x', '/secret;jsessionid=1/page', '/;x/secret', '/%2573ecret', '/%EF%BD%93ecret']) t.is(matchRoute(table, 'a.test', p), 'ambiguous', p)
  t.is((matchRoute(table, 'a.test', '/a;v=1/b') as Route).id, 'open')
  t.is((matchRoute(table, 'a.test', '/secret/x;v=1') as Route).id, 'secret')
  t.is(matchRoute(table, 'b.test', '/secret;x'), undefined, 'no route for the host: nothing to be ambiguous about')
})
