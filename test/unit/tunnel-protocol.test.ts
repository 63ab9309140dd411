import test from 'ava'
import {tunnelRequestHead} from '../../platform/edge/tunnel/forward.js'
import {renewalMessage, warpgateIdFromSan, warpgateUri} from '../../src/protocol/identity.js'
import {fullJitterDelay} from '../../src/warpgate/supervisor.js'

test('reads a Warpgate id from a certificate SAN and refuses none, several or malformed ones', (t) => {
  const id = 'wg_0123456789abcdefghjk'
  t.is(warpgateIdFromSan(`URI:${warpgateUri(id)}`), id)
  t.is(warpgateIdFromSan(`DNS:x.test, URI:${warpgateUri(id)}`), id)
  t.is(warpgateIdFromSan('DNS:x.test'), undefined)
  t.is(warpgateIdFromSan(`URI:${warpgateUri(id)}, URI:${warpgateUri('wg_aaaaaaaaaaaaaaaaaaaa')}`), undefined)
  t.is(warpgateIdFromSan(`URI:${warpgateUri('wg_../../x')}`), undefined)
  t.is(warpgateIdFromSan(undefined), undefined)
})

test('the renewal message binds the CSR and the time', (t) => {
  t.notDeepEqual(renewalMessage('csr-a', 1), renewalMessage('csr-b', 1))
  t.notDeepEqual(renewalMessage('csr-a', 1), renewalMessage('csr-a', 2))
  t.deepEqual(renewalMessage('csr-a\n', 1), renewalMessage('csr-a', 1))
})

test('full-jitter backoff stays under min(cap, base·2^attempt) and can be zero', (t) => {
  const high = fullJitterDelay({baseMs: 100, capMs: 5000, random: () => 0.999999})
  t.deepEqual([0, 1, 2, 3, 10, 100].map((a) => high(a)), [99, 199, 399, 799, 4999, 4999])
  t.is(fullJitterDelay({random: () => 0})(5), 0)
})

test('tunnel request headers drop hop-by-hop, Connection-named, tunnel-internal and client X-Forwarded-* headers', (t) => {
  const h = tunnelRequestHead('POST', {
    host: 'a.test', connection: 'close, x-secret-hop', 'x-secret-hop': '1', 'transfer-encoding': 'chunked', upgrade: 'h2c',
    'mezu-tunnel-stream': 'control', 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6', te: 'trailers, deflate', accept: 'text/html', cookie: 'a=1',
  }, {environmentId: 'e', service: 's', path: '/x?y=1', host: 'a.test', clientIp: '203.0.113.9', setHeaders: {'Mezu-User-Id': 'usr_1'}, requestId: 'req1', responseTimeoutMs: 0})
  t.deepEqual(h, [
    'POST', '/x?y=1', 'a.test', 'accept', 'text/html', 'cookie', 'a=1',
    'x-forwarded-for', '203.0.113.9', 'x-forwarded-proto', 'https', 'x-forwarded-host', 'a.test', 'mezu-user-id', 'usr_1', 'mezu-request-id', 'req1',
  ])
})
