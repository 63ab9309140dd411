import test from 'ava'
import {ApiError} from '../../platform/control/errors.js'
import {normaliseCidr} from '../../platform/control/ip-ranges.js'
import {edgePortOf, normaliseHostname, normalisePathPrefix, routeUrl} from '../../platform/control/route-address.js'
import {parseSize} from '../../src/lib/size.js'

test('a bare label goes under the platform domain; names are lower-cased and a trailing dot dropped', (t) => {
  t.is(normaliseHostname('Hello', 'mezu.localhost'), 'hello.mezu.localhost')
  t.is(normaliseHostname('Shop.Example.COM.', 'mezu.localhost'), 'shop.example.com')
  t.is(normaliseHostname('a-b.c', 'x.test'), 'a-b.c')
})

test('refuses hostnames that are not DNS names, naming the hostname field', (t) => {
  for (const bad of ['he llo', ' hello', '', '-a.example.com', 'a-.example.com', 'a..b', 'under_score.example', 'https://a.example', 'a.example:8443', `${'a'.repeat(64)}.example`, 'ex*ample.com', '127.0.0.1', 'auth', 'AUTH.mezu.localhost']) {
    const e = t.throws(() => normaliseHostname(bad, 'mezu.localhost'), {instanceOf: ApiError}, JSON.stringify(bad))
    t.is(e?.field, 'hostname')
    t.is(e?.code, 'invalid_request')
  }
})

test('path prefixes are normalised: repeated and trailing slashes go, "/" stays', (t) => {
  t.is(normalisePathPrefix('/'), '/')
  t.is(normalisePathPrefix('/api/'), '/api')
  t.is(normalisePathPrefix('//api///v1//'), '/api/v1')
  t.is(normalisePathPrefix('/a%20b'), '/a%20b')
})

test('refuses path prefixes that are relative, ambiguous or not URL paths, naming the path field', (t) => {
  for (const bad of ['api', '', '/a/../b', '/./a', '/a/..', '/a%2fb', '/a%2Fb', '/a%5cb', '/%2e%2e/x', '/a b', '/a?b', '/a#b', '/a\\b', '/100%', '/é']) {
    const e = t.throws(() => normalisePathPrefix(bad), {instanceOf: ApiError}, JSON.stringify(bad))
    t.is(e?.field, 'path')
  }
})

test('the public URL shows the edge port unless it is 443', (t) => {
  t.is(routeUrl('a.mezu.localhost', '/', 443), 'https://a.mezu.localhost/')
  t.is(routeUrl('a.mezu.localhost', '/api', 8443), 'https://a.mezu.localhost:8443/api')
  t.is(edgePortOf('https://127.0.0.1:9443', 8443), 9443)
  t.is(edgePortOf('https://edge.example.com', 8443), 443)
  t.is(edgePortOf('', 8443), 8443)
})

test('IP ranges: bare addresses become /32 or /128, host bits are cleared, mapped IPv4 is written as IPv4', (t) => {
  t.is(normaliseCidr('203.0.113.7'), '203.0.113.7/32')
  t.is(normaliseCidr('10.1.2.3/8'), '10.0.0.0/8')
  t.is(normaliseCidr('0.0.0.0/0'), '0.0.0.0/0')
  t.is(normaliseCidr('2001:DB8::1'), '2001:db8::1/128')
  t.is(normaliseCidr('2001:db8:1::/32'), '2001:db8::/32')
  t.is(normaliseCidr('::ffff:192.0.2.1'), '192.0.2.1/32')
  t.is(normaliseCidr('::ffff:192.0.2.0/120'), '192.0.2.0/24')
  t.is(normaliseCidr('::/0'), '::/0')
})

test('IP ranges: malformed ones are refused', (t) => {
  for (const bad of ['10.0.0.0/33', '10.1', '300.1.2.3', '1.2.3.4/', '1.2.3.4/-1', '1.2.3.4/8/8', 'fe80::1::2', '2001:db8::/129', 'example.com', '', '0x7f.0.0.1', '1.2.3.4 /8']) {
    t.is(normaliseCidr(bad), undefined, JSON.stringify(bad))
  }
})

test('sizes: binary units, case-insensitive; malformed ones are undefined', (t) => {
  t.is(parseSize('10MB'), 10 * 1024 * 1024)
  t.is(parseSize('512k'), 512 * 1024)
  t.is(parseSize('1048576'), 1048576)
  t.is(parseSize('1.5GB'), 1.5 * 1024 ** 3)
  for (const bad of ['', 'ten', '10XB', '-1MB', '0', 'MB']) t.is(parseSize(bad), undefined, bad)
})
