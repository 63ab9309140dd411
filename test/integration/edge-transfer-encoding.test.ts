import test from 'ava'
import {HEADER_EDGE_ERROR} from '../../src/protocol/headers.js'
import {fileScope, rawRequest, startIdentityEdge, type IdentityEdge} from '../helpers/identity-edge.js'

// One platform for the file: every test only reads through it; app.<domain> is open to anyone.
let e: IdentityEdge
let app: string
const scope = fileScope()
test.after.always(() => scope.close())
test.before(async () => {
  e = await startIdentityEdge(scope.t)
  app = `app.${e.domain}`
  await e.addRoute(app, '/', (await e.addPolicy('open', {public: true})).id)
})

/** A POST with `te` as its Transfer-Encoding line and a chunked body of 5 bytes. */
const post = (path: string, te: string) => [`POST ${path} HTTP/1.1`, `Host: ${app}:${e.port}`, te, 'Accept: text/html', 'Connection: close'].join('\r\n') + '\r\n\r\n5\r\nhello\r\n0\r\n\r\n'

const reachedOrigin = (path: string) => e.originSeen.some((s) => s.url === path)

test('accepts Transfer-Encoding: chunked alone, in any letter case and with surrounding whitespace', async (t) => {
  for (const [i, te] of ['Transfer-Encoding: chunked', 'Transfer-Encoding: Chunked', 'transfer-encoding:   CHUNKED  '].entries()) {
    const path = `/te-ok-${i}`
    const r = await rawRequest(e, app, post(path, te))
    t.is(r.status, 200, te)
    t.is(e.originSeen.find((s) => s.url === path)?.bodyBytes, 5, `${te}: the body reaches the origin`)
  }
})

test('refuses every other Transfer-Encoding with 400; the origin never sees it', async (t) => {
  const values = ['identity, chunked', 'gzip, chunked', ', chunked', 'chunked;q=1', 'identity', 'chunked, identity', 'chunked, chunked', 'chunked,', 'gzip', 'x-custom', '"chunked"']
  const seen = []
  for (const [i, value] of values.entries()) {
    const path = `/te-refused-${i}`
    const r = await rawRequest(e, app, post(path, `Transfer-Encoding: ${value}`))
    seen.push({value, status: r.status, reachedOrigin: reachedOrigin(path)})
  }
  t.deepEqual(seen, values.map((value) => ({value, status: 400, reachedOrigin: false})))
})

test('a final "chunked" after another coding, which Node reads as chunked, gets the edge\'s own 400 naming the refused value', async (t) => {
  for (const [i, value] of ['identity, chunked', 'gzip, chunked', ', chunked'].entries()) {
    const path = `/te-edge-${i}`
    const r = await rawRequest(e, app, post(path, `Transfer-Encoding: ${value}`))
    t.is(r.status, 400, value)
    const body = JSON.parse(/\r\n\r\n[0-9a-f]+\r\n(.*)\r\n0\r\n/s.exec(r.text)?.[1] ?? '{}')
    t.is(body.error?.code, 'bad_request', value)
    t.true(body.error?.message.includes(`"${value}"`), value)
    t.false(reachedOrigin(path), value)
  }
})
