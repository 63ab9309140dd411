import test from 'ava'
import type {Route} from '../../src/lib/api-types/index.js'
import {acceptReturnUrl} from '../../platform/edge/login/return-url.js'

const route = (hostname: string, pathPrefix = '/'): Route => ({
  id: 'rte_x', projectId: 'p', environmentId: 'e', hostname, pathPrefix, service: 's', policyId: null,
  bodyLimitBytes: null, rateLimitPerMinute: null, url: `https://${hostname}`, createdAt: '', updatedAt: '',
})
const routes = [route('hello.mezu.localhost'), route('api.mezu.localhost', '/v1')]

test('accepts an https URL on a known route and the edge port', (t) => {
  t.deepEqual(acceptReturnUrl('https://hello.mezu.localhost:8443/a?b=1', routes, 8443), {url: 'https://hello.mezu.localhost:8443/a?b=1', host: 'hello.mezu.localhost'})
  t.truthy(acceptReturnUrl('https://api.mezu.localhost/v1/x', routes, 443))
})

test('refuses other hosts, other schemes, other ports and paths outside the route', (t) => {
  for (const u of [
    'https://evil.example/', 'http://hello.mezu.localhost:8443/', 'javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,x',
    'https://hello.mezu.localhost:9999/', 'https://api.mezu.localhost:8443/v2', 'https://hello.mezu.localhost.evil.example:8443/',
  ]) t.is(acceptReturnUrl(u, routes, 8443), null, u)
})

test('refuses protocol-relative, backslash, credential and whitespace tricks', (t) => {
  for (const u of [
    '//evil.example/', '/\\evil.example', 'https:\\\\evil.example', 'https://hello.mezu.localhost:8443\\@evil.example/',
    'https://user:pw@hello.mezu.localhost:8443/', 'https://evil.example@hello.mezu.localhost:8443/x\t', ' https://hello.mezu.localhost:8443/',
    'https://hello.mezu.localhost:8443/%2f%2fevil', '', 42,
  ]) t.is(acceptReturnUrl(u, routes, 8443), null, String(u))
})
