import {once} from 'node:events'
import https from 'node:https'
import http2 from 'node:http2'
import type {AddressInfo} from 'node:net'
import test from 'ava'
import {Pages, writePage} from '../../platform/edge/pages.js'
import {connectionMeta, RequestLog} from '../../platform/edge/request-log.js'
import {createCa, issueServerCert} from '../../platform/pki/ca.js'

const pages = Pages.load()

async function tlsMaterial() {
  const ca = await createCa('test CA')
  const cert = await issueServerCert(ca, {dns: ['localhost'], ips: ['127.0.0.1']})
  return {ca: ca.certPem, key: cert.keyPem, cert: cert.chainPem}
}

test('over HTTPS/1.1 a page is written with its status and headers, HEAD without a body, and the log sees TLS and protocol', async (t) => {
  const m = await tlsMaterial()
  const log = new RequestLog(10)
  const server = https.createServer({key: m.key, cert: m.cert, minVersion: 'TLSv1.2'}, (req, res) => {
    log.append({time: new Date().toISOString(), requestId: 'r1', routeId: null, host: req.headers.host ?? '', method: req.method!, path: req.url!, status: 404, durationMs: 0, bytesIn: 0, bytesOut: 0, ...connectionMeta(req)})
    writePage(res, pages.error(req, {status: 404, title: 'Unknown host', message: `nothing is published at ${req.headers.host}`, requestId: 'req_1'}), req.method)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const port = (server.address() as AddressInfo).port
  const get = (method: string, accept: string) => new Promise<{status: number; headers: any; body: string}>((resolve, reject) => {
    https.request({host: '127.0.0.1', port, method, path: '/x?q=1', ca: m.ca, servername: 'localhost', headers: {accept, host: 'nope.mezu.localhost'}, maxVersion: 'TLSv1.2'}, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body}))
    }).on('error', reject).end()
  })
  const html = await get('GET', 'text/html')
  t.is(html.status, 404)
  t.regex(html.body, /nothing is published at nope\.mezu\.localhost/)
  t.is(html.headers['cache-control'], 'no-store')
  const head = await get('HEAD', 'text/html')
  t.is(head.status, 404)
  t.is(head.body, '')
  t.like(log.recent(1)[0], {clientIp: '127.0.0.1', tlsVersion: 'TLSv1.2', protocol: 'http/1.1', path: '/x'})
})

test('over HTTP/2 a JSON error is written and the log records h2 and TLSv1.3', async (t) => {
  const m = await tlsMaterial()
  const log = new RequestLog(10)
  const server = http2.createSecureServer({key: m.key, cert: m.cert, allowHTTP1: true}, (req, res) => {
    log.append({time: new Date().toISOString(), requestId: 'r1', routeId: null, host: req.headers[':authority'] ?? '', method: req.method, path: req.url, status: 503, durationMs: 0, bytesIn: 0, bytesOut: 0, ...connectionMeta(req)})
    writePage(res, pages.error(req, {status: 503, title: 'Service offline', message: 'no Warpgate is connected', requestId: 'req_2'}), req.method)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  const client = http2.connect(`https://localhost:${(server.address() as AddressInfo).port}`, {ca: m.ca})
  t.teardown(() => client.close())
  const stream = client.request({':path': '/api', ':method': 'POST'})
  stream.end('{}')
  const [headers] = await once(stream, 'response')
  let body = ''
  stream.on('data', (c) => (body += c))
  await once(stream, 'end')
  t.is(headers[':status'], 503)
  t.is(headers['content-type'], 'application/json; charset=utf-8')
  t.deepEqual(JSON.parse(body), {error: {code: 'service_unavailable', message: 'no Warpgate is connected'}})
  t.like(log.recent(1)[0], {protocol: 'h2', tlsVersion: 'TLSv1.3', clientIp: '127.0.0.1', method: 'POST'})
})
