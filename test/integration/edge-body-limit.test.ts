import http2 from 'node:http2'
import {request} from 'node:https'
import test, {type ExecutionContext} from 'ava'
import {buildConfig} from '../../platform/config.js'
import {edgeFetch, fileScope, type IdentityEdge, startIdentityEdge} from '../helpers/identity-edge.js'

const defaults = buildConfig({dataDir: '/nonexistent'}).edge
const LIMIT = 1024

// One platform for the file; each test uses its own paths, so the origin's record tells them apart.
let e: IdentityEdge
let small: string
let plain: string
const scope = fileScope()
test.after.always(() => scope.close())
test.before(async () => {
  e = await startIdentityEdge(scope.t, {edge: {...defaults, defaultBodyLimitBytes: 4 * LIMIT}})
  const open = await e.addPolicy('open', {public: true})
  small = `small.${e.domain}`
  plain = `plain.${e.domain}`
  await e.addRoute(small, '/', open.id, {bodyLimitBytes: LIMIT})
  await e.addRoute(plain, '/', open.id)
})

const seenAt = (path: string) => e.originSeen.filter((s) => s.url === path)

/** The origin requests for `path` were aborted: a cut body never reaches the origin as a whole one. */
async function originAborted(t: ExecutionContext, path: string): Promise<void> {
  for (const seen of seenAt(path)) {
    const s = await e.untilOrigin((o) => o === seen && o.closed !== undefined, `${path} closed`)
    t.is(s.closed, 'aborted', `the origin got ${s.bodyBytes} bytes of ${path} as a complete body`)
  }
}

/** POSTs `chunks` without a Content-Length (chunked), one write at a time, until the edge answers. */
function streamUntilAnswered(host: string, path: string, chunk: Buffer, maxChunks: number): Promise<{status: number; text: string; headers: Record<string, unknown>; written: number}> {
  return new Promise((resolve, reject) => {
    let written = 0
    let answered = false
    const req = request({
      host: '127.0.0.1', port: e.port, servername: host, method: 'POST', path, ca: e.caPem, agent: false,
      headers: {host: `${host}:${e.port}`, 'content-type': 'application/octet-stream', accept: 'application/json'},
    }, (res) => {
      answered = true
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({status: res.statusCode ?? 0, text, headers: res.headers, written}))
    })
    req.on('error', (err) => (answered ? undefined : reject(err)))
    const next = () => {
      if (answered || req.destroyed) return
      if (written >= maxChunks) return void req.end()
      written++
      req.write(chunk, () => setImmediate(next))
    }
    next()
  })
}

test('a body within the route\'s limit reaches the origin whole', async (t) => {
  const r = await edgeFetch(e, small, '/fits', {method: 'POST', body: 'x'.repeat(LIMIT), headers: {'content-type': 'text/plain'}})
  t.is(r.status, 200)
  t.is(r.json.bodyBytes, LIMIT)
  t.is(seenAt('/fits')[0]!.bodyBytes, LIMIT)
})

test('a declared Content-Length over the route\'s limit is refused with 413 before anything reaches the origin', async (t) => {
  const r = await edgeFetch(e, small, '/declared', {method: 'POST', body: 'x'.repeat(LIMIT + 1), headers: {'content-type': 'text/plain', accept: 'application/json'}})
  t.is(r.status, 413)
  t.is(r.json.error.code, 'payload_too_large')
  t.is(r.headers['mezu-edge-error'], 'payload_too_large')
  t.is(seenAt('/declared').length, 0, 'the origin never saw the request')
})

test('a chunked body that grows past the route\'s limit is cut while streaming with 413; the origin gets at most the limit', async (t) => {
  const r = await streamUntilAnswered(small, '/chunked', Buffer.alloc(256, 0x61), 1024)
  t.is(r.status, 413)
  t.is(JSON.parse(r.text).error.code, 'payload_too_large')
  t.is(r.headers.connection, 'close', 'the rest of the body is not read: the connection ends')
  t.true(r.written < 1024, `the edge answered while the client was still sending (${r.written} chunks written)`)
  for (const s of seenAt('/chunked')) t.true(s.bodyBytes <= LIMIT, `origin got ${s.bodyBytes} bytes`)
  await originAborted(t, '/chunked')
})

test('an HTTP/2 body without a length that grows past the limit gets 413 and a reset stream', async (t) => {
  const session = http2.connect(`https://127.0.0.1:${e.port}`, {ca: e.caPem, servername: small})
  t.teardown(() => session.close())
  const req = session.request({':method': 'POST', ':path': '/h2-stream', ':authority': `${small}:${e.port}`, accept: 'application/json'})
  const answer = new Promise<{status: number; text: string}>((resolve) => {
    let status = 0
    let text = ''
    req.on('response', (h) => (status = Number(h[':status'])))
    req.setEncoding('utf8')
    req.on('data', (c: string) => (text += c))
    req.on('close', () => resolve({status, text}))
  })
  req.on('error', () => {})
  let answered = false
  void answer.then(() => (answered = true))
  for (let i = 0; i < 1024 && !answered && !req.destroyed; i++) {
    await new Promise<void>((resolve) => req.write(Buffer.alloc(256, 0x62), () => resolve()))
  }
  const r = await answer
  t.is(r.status, 413)
  t.is(JSON.parse(r.text).error.code, 'payload_too_large')
  for (const s of seenAt('/h2-stream')) t.true(s.bodyBytes <= LIMIT, `origin got ${s.bodyBytes} bytes`)
  await originAborted(t, '/h2-stream')
})

test('a route without its own limit takes the platform default (edge.defaultBodyLimitBytes)', async (t) => {
  const ok = await edgeFetch(e, plain, '/default-ok', {method: 'POST', body: 'y'.repeat(4 * LIMIT)})
  t.is(ok.status, 200)
  t.is(ok.json.bodyBytes, 4 * LIMIT)
  const big = await edgeFetch(e, plain, '/default-big', {method: 'POST', body: 'y'.repeat(4 * LIMIT + 1), headers: {accept: 'application/json'}})
  t.is(big.status, 413)
  t.is(seenAt('/default-big').length, 0)
})
