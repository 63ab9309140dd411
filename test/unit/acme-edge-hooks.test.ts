import {X509Certificate} from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import tls from 'node:tls'
import test from 'ava'
import {AcmeHttpListener} from '../../platform/edge/acme-http.js'
import {certificateHooks} from '../../platform/edge/certificates.js'
import {createCa, issueServerCert} from '../../platform/pki/ca.js'
import {ACME_TLS_ALPN} from '../../src/protocol/acme.js'

async function names() {
  const ca = await createCa('hooks test CA')
  const make = async (dns: string) => {
    const c = await issueServerCert(ca, {dns: [dns], ips: []})
    return {ctx: tls.createSecureContext({key: c.keyPem, cert: c.chainPem}), ...c}
  }
  return {ca, fallback: await make('default.test'), issued: await make('app.test'), challenge: await make('challenge.app.test')}
}

function hello(port: number, servername: string, alpn: string[]): Promise<{cn?: string; alpn?: string | false | null; error?: string}> {
  return new Promise((resolve) => {
    const s = tls.connect({host: '127.0.0.1', port, servername, ALPNProtocols: alpn, rejectUnauthorized: false})
    s.once('secureConnect', () => {
      const cert = s.getPeerX509Certificate() as X509Certificate
      resolve({cn: cert.subjectAltName, alpn: s.alpnProtocol})
      s.destroy()
    })
    s.once('error', (e) => resolve({error: e.message}))
  })
}

test('the resolver\'s certificate is served by SNI, the challenge one only to an acme-tls/1 client, the default otherwise', async (t) => {
  const n = await names()
  let pending = true
  const hooks = certificateHooks({
    resolve: (name) => (name === 'app.test' ? n.issued.ctx : undefined),
    challenge: (name) => (pending && name === 'app.test' ? n.challenge.ctx : undefined),
  })
  const server = tls.createServer({key: n.fallback.keyPem, cert: n.fallback.chainPem, ...hooks}, (s) => s.end())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const port = (server.address() as AddressInfo).port
  t.like(await hello(port, 'app.test', [ACME_TLS_ALPN]), {cn: 'DNS:challenge.app.test', alpn: ACME_TLS_ALPN})
  // A browser during the same validation keeps the real certificate.
  t.like(await hello(port, 'App.Test', ['h2', 'http/1.1']), {cn: 'DNS:app.test', alpn: 'h2'})
  t.like(await hello(port, 'app.test', ['http/1.1']), {cn: 'DNS:app.test', alpn: 'http/1.1'})
  t.like(await hello(port, 'other.test', ['h2']), {cn: 'DNS:default.test', alpn: 'h2'})
  // No challenge pending: acme-tls/1 alone is refused, never answered with a real certificate.
  pending = false
  t.regex((await hello(port, 'app.test', [ACME_TLS_ALPN])).error ?? '', /no application protocol|alert/i)
  t.regex((await hello(port, 'other.test', [ACME_TLS_ALPN])).error ?? '', /no application protocol|alert/i)
})

function get(port: number, path: string, host: string): Promise<{status?: number; location?: string; body: string}> {
  return new Promise((resolve, reject) => {
    http.request({host: '127.0.0.1', port, path, headers: {host}}, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({status: res.statusCode, location: res.headers.location, body}))
    }).on('error', reject).end()
  })
}

test('the HTTP listener answers pending HTTP-01 tokens, 404s others and redirects the rest to HTTPS', async (t) => {
  let httpsPort = 8443
  const listener = new AcmeHttpListener({host: '127.0.0.1', port: 0, keyAuthorization: (token) => (token === 'tok' ? 'tok.thumb' : undefined), httpsPort: () => httpsPort})
  const port = await listener.listen()
  t.teardown(() => listener.close())
  t.like(await get(port, '/.well-known/acme-challenge/tok', 'app.test'), {status: 200, body: 'tok.thumb'})
  t.like(await get(port, '/.well-known/acme-challenge/other', 'app.test'), {status: 404})
  t.like(await get(port, '/a/b?c=d', 'App.Test:80'), {status: 308, location: 'https://app.test:8443/a/b?c=d'})
  httpsPort = 443
  t.like(await get(port, '/', 'app.test'), {status: 308, location: 'https://app.test/'})
  t.like(await get(port, '/', '[::1]'), {status: 400})
  await listener.close()
  await listener.close()
})
