import http2 from 'node:http2'
import tls from 'node:tls'
import test from 'ava'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {handshake} from '../helpers/tls.js'
import {startWarpgate} from '../helpers/tunnel.js'

test('the end-user listener refuses TLS 1.1, takes TLS 1.2 with an ECDHE AEAD cipher, and offers h2 then http/1.1', async (t) => {
  const platform = await startTestPlatform(t)
  const port = platform.ports.edge!
  const old = await handshake(port, platform.caPem, 'x.mezu.localhost', {minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0'})
  t.truthy(old.error, 'TLS 1.1 must be refused')
  t.regex(old.errorCode ?? old.error ?? '', /PROTOCOL_VERSION|protocol version/i, 'refused by the server\'s protocol-version alert, not by the client')

  const v12 = await handshake(port, platform.caPem, 'x.mezu.localhost', {minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2'})
  t.is(v12.protocol, 'TLSv1.2')
  t.regex(v12.cipher ?? '', /^ECDHE-.*(GCM|CHACHA20)/)

  const cbc = await handshake(port, platform.caPem, 'x.mezu.localhost', {minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:AES128-SHA'})
  t.truthy(cbc.error, 'a CBC-only client must be refused')

  t.is((await handshake(port, platform.caPem, 'x.mezu.localhost', {ALPNProtocols: ['h2', 'http/1.1']})).alpn, 'h2')
  t.is((await handshake(port, platform.caPem, 'x.mezu.localhost', {ALPNProtocols: ['http/1.1']})).alpn, 'http/1.1')
})

test('serves an HTTP/2 end-user client through the tunnel, several streams on one connection', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'h2.mezu.localhost', service: 'h2'})
  await startWarpgate(t, platform, scope, 'h2', origin.url)

  const client = http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: 'h2.mezu.localhost'})
  t.teardown(() => client.close())
  const get = (path: string) => new Promise<{status: number; body: string; headers: http2.IncomingHttpHeaders}>((resolve, reject) => {
    const req = client.request({':path': path, ':authority': 'h2.mezu.localhost'})
    let body = ''
    let headers: http2.IncomingHttpHeaders = {}
    req.on('response', (h) => (headers = h))
    req.setEncoding('utf8')
    req.on('data', (c) => (body += c))
    req.on('end', () => resolve({status: Number(headers[':status']), body, headers}))
    req.on('error', reject)
  })
  const results = await Promise.all([get('/hello'), get('/hello'), get('/headers'), get('/nope')])
  t.deepEqual(results.map((r) => r.status), [200, 200, 200, 404])
  t.is(results[0].body, 'hello from origin\n')
  const seen = JSON.parse(results[2].body) as Record<string, string>
  t.is(seen.host, 'h2.mezu.localhost')
  t.is(seen['x-forwarded-proto'], 'https')
  t.is(results[3].body, 'origin 404\n', 'the origin\'s own 404 passes through untouched')
})

test('a TLS 1.2 client offering only CBC suites fails the handshake; one offering a single ECDHE AEAD suite gets it', async (t) => {
  const platform = await startTestPlatform(t)
  const port = platform.ports.edge!
  const v12 = (ciphers: string) => handshake(port, platform.caPem, 'x.mezu.localhost', {minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers})
  // the edge's certificate is ECDSA, so ECDHE-ECDSA-AES128-SHA is the CBC suite it could otherwise pick
  for (const cbc of ['ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384']) {
    const r = await v12(cbc)
    t.is(r.protocol, undefined, `${cbc} must not be negotiated`)
    t.regex(r.errorCode ?? r.error ?? '', /HANDSHAKE_FAILURE|handshake failure/i, `${cbc}: refused by the server's handshake alert`)
  }
  const aead = await v12('ECDHE-ECDSA-AES128-GCM-SHA256')
  t.is(aead.cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256', 'the same client setup succeeds with an AEAD suite')
})

test('every TLS 1.2 suite the end-user listener accepts is ECDHE with an AEAD cipher', async (t) => {
  const platform = await startTestPlatform(t)
  const port = platform.ports.edge!
  const accepted: string[] = []
  for (const name of tls.getCiphers().map((c) => c.toUpperCase()).filter((c) => !c.startsWith('TLS_'))) {
    let r: Awaited<ReturnType<typeof handshake>>
    try {
      r = await handshake(port, platform.caPem, 'x.mezu.localhost', {minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: name})
    } catch {
      continue // this OpenSSL build cannot offer the suite as a client at TLS 1.2
    }
    if (r.cipher) accepted.push(r.cipher)
  }
  t.true(accepted.length > 0)
  for (const c of accepted) t.regex(c, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/, c)
})
