import test from 'ava'
import {guardRequest} from '../../platform/edge/http-guard.js'

const limits = {maxUrlBytes: 100, maxHeaderBytes: 400}
const req = (rawHeaders: string[], url = '/', httpVersion = '1.1') => ({url, rawHeaders, httpVersion})
const status = (v: ReturnType<typeof guardRequest>) => (v.ok ? 'ok' : v.status)

test('passes an ordinary request', (t) => {
  t.is(status(guardRequest(req(['Host', 'a.test', 'Accept', '*/*', 'Mezu-User-Email', 'x@y'], '/p?q=1'), limits)), 'ok')
})

test('refuses two Host headers', (t) => {
  t.is(status(guardRequest(req(['Host', 'a.test', 'Host', 'b.test']), limits)), 400)
})

test('refuses absolute-form request targets', (t) => {
  t.is(status(guardRequest(req(['Host', 'a.test'], 'http://other/admin'), limits)), 400)
})

test('refuses both Content-Length and Transfer-Encoding', (t) => {
  t.is(status(guardRequest(req(['Host', 'a', 'Content-Length', '5', 'Transfer-Encoding', 'chunked']), limits)), 400)
})

test('refuses Transfer-Encoding on HTTP/1.0', (t) => {
  t.is(status(guardRequest(req(['Host', 'a', 'Transfer-Encoding', 'chunked'], '/', '1.0'), limits)), 400)
  t.is(status(guardRequest(req(['Host', 'a', 'Transfer-Encoding', 'chunked'], '/', '1.1'), limits)), 'ok')
})

test('refuses header names with "_" or "." so Mezu_User_Email never reaches an origin', (t) => {
  t.is(status(guardRequest(req(['Host', 'a', 'Mezu_User_Email', 'evil@x']), limits)), 400)
  t.is(status(guardRequest(req(['Host', 'a', 'X.Forwarded', '1']), limits)), 400)
})

test('refuses a header value carrying a line break (obs-fold)', (t) => {
  t.is(status(guardRequest(req(['Host', 'a', 'X-A', 'a\r\n b']), limits)), 400)
})

test('refuses a URL longer than the limit with 414', (t) => {
  t.is(status(guardRequest(req(['Host', 'a'], '/' + 'x'.repeat(100)), limits)), 414)
})

test('refuses headers larger than the limit with 431', (t) => {
  t.is(status(guardRequest(req(['Host', 'a', 'X-Big', 'y'.repeat(400)]), limits)), 431)
})

test('ignores HTTP/2 pseudo-headers in rawHeaders', (t) => {
  t.is(status(guardRequest(req([':method', 'GET', ':authority', 'a.test', ':path', '/']), limits)), 'ok')
})

test('accepts Transfer-Encoding: chunked alone, in any case, with optional whitespace', (t) => {
  for (const v of ['chunked', 'CHUNKED', 'Chunked', ' chunked\t']) t.is(status(guardRequest(req(['Host', 'a', 'Transfer-Encoding', v]), limits)), 'ok', v)
})

test('refuses every other Transfer-Encoding with 400, even with "chunked" last', (t) => {
  for (const v of ['identity, chunked', 'gzip, chunked', 'chunked, identity', 'chunked, chunked', ', chunked', 'chunked,', 'chunked;q=1', 'identity', 'gzip', '', '"chunked"']) {
    t.is(status(guardRequest(req(['Host', 'a', 'Transfer-Encoding', v]), limits)), 400, JSON.stringify(v))
  }
})
