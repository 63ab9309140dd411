import test from 'ava'
import {ResponseParser, type ResponseHandler} from '../../src/warpgate/http1-response.js'

interface Seen {
  info: Array<[number, string[]]>
  head?: [number, string[]]
  body: Buffer[]
  trailers?: string[] | null
  reusable?: boolean
  error?: string
}

function recorder(): {seen: Seen; handler: ResponseHandler} {
  const seen: Seen = {info: [], body: []}
  return {
    seen,
    handler: {
      onInfo: (status, pairs) => seen.info.push([status, pairs]),
      onHead: (status, pairs) => (seen.head = [status, pairs]),
      onBody: (chunk) => seen.body.push(Buffer.from(chunk)),
      onComplete: (trailers, reusable) => {
        seen.trailers = trailers
        seen.reusable = reusable
      },
      onError: (reason) => (seen.error = reason),
    },
  }
}

/** Parses `raw` fed in pieces cut at `cuts`, returning what the handler saw. */
function parse(raw: string | Buffer, method = 'GET', cuts: number[] = [], parser = new ResponseParser()): Seen {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw
  const {seen, handler} = recorder()
  parser.start(handler, method)
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    if (cut > at) parser.execute(bytes.subarray(at, cut))
    at = Math.max(at, cut)
  }
  return seen
}

const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
  '5;ext=1\r\nhello\r\n1a\r\n, chunked world with trail\r\n0\r\nX-Checksum: abc\r\nX-Other: 2\r\n\r\n'

test('a chunked response with extensions and trailers reads the same when split at every byte boundary, and twice over', (t) => {
  for (let i = 0; i <= CHUNKED.length; i++) {
    for (const j of [i, Math.min(CHUNKED.length, i + 1), Math.min(CHUNKED.length, i + 7)]) {
      const seen = parse(CHUNKED, 'GET', [i, j])
      t.is(seen.error, undefined, `cut at ${i},${j}`)
      t.deepEqual(seen.head, [200, ['transfer-encoding', 'chunked', 'content-type', 'text/plain']])
      t.is(Buffer.concat(seen.body).toString(), 'hello, chunked world with trail', `cut at ${i},${j}`)
      t.deepEqual(seen.trailers, ['x-checksum', 'abc', 'x-other', '2'])
      t.true(seen.reusable)
    }
  }
  // the same parser carries a second response once reset, as a pooled connection does
  const parser = new ResponseParser()
  parse(CHUNKED, 'GET', [], parser)
  parser.reset()
  t.true(parser.idle)
  const again = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 'GET', [], parser)
  t.is(Buffer.concat(again.body).toString(), 'abc')
  t.deepEqual(again.trailers, [])
})

test('Content-Length bodies, HEAD, 204 and 304 end where they should', (t) => {
  const cl = parse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc')
  t.is(Buffer.concat(cl.body).toString(), 'abc')
  t.true(cl.reusable)
  // A HEAD response announces a length it never sends.
  const head = parse('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', 'HEAD')
  t.deepEqual(head.body, [])
  t.true(head.reusable)
  for (const status of [204, 304]) {
    const seen = parse(`HTTP/1.1 ${status} X\r\nContent-Length: 10\r\n\r\n`)
    t.is(seen.head?.[0], status)
    t.deepEqual(seen.body, [])
    t.true(seen.reusable, `${status} leaves the connection usable`)
  }
  const empty = parse('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
  t.true(empty.reusable)
  t.deepEqual(empty.body, [])
  // equal repeated values are one length; different ones are refused
  t.is(Buffer.concat(parse('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok').body).toString(), 'ok')
  t.is(parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok').error, 'conflicting Content-Length values')
  t.is(parse('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n').error, 'invalid Content-Length')
  t.is(parse('HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n').error, 'invalid Content-Length')
})

test('1xx heads come before the final one; an unrequested 101 is refused', (t) => {
  const seen = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', 'POST', [10, 30])
  t.deepEqual(seen.info, [[100, []], [103, ['link', '</a.css>; rel=preload']]])
  t.is(seen.head?.[0], 201)
  t.is(Buffer.concat(seen.body).toString(), 'ok')
  t.is(parse('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n').error, 'unexpected 101 Switching Protocols')
})

test('Connection: close, HTTP/1.0 and close-delimited bodies leave the connection unusable', (t) => {
  const closing = parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok')
  t.false(closing.reusable)
  const old = parse('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
  t.false(old.reusable, 'HTTP/1.0 closes unless it says keep-alive')
  t.true(parse('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok').reusable)

  const parser = new ResponseParser()
  const {seen, handler} = recorder()
  parser.start(handler, 'GET')
  parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil'))
  parser.execute(Buffer.from(' the end'))
  t.is(seen.reusable, undefined, 'not complete before the close')
  parser.finish()
  t.is(Buffer.concat(seen.body).toString(), 'until the end')
  t.false(seen.reusable)
  t.true(parser.failed)

  // Transfer-Encoding beside Content-Length: chunked wins, and the connection is never reused.
  const both = parse('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n')
  t.is(Buffer.concat(both.body).toString(), 'ok')
  t.false(both.reusable)
})

test('bytes after a complete response, oversized heads and malformed lines fail the connection', (t) => {
  const parser = new ResponseParser()
  const seen = parse('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n', 'GET', [], parser)
  t.true(seen.reusable, 'the response itself was complete')
  parser.reset()
  t.true(parser.failed, 'the pipelined garbage behind it makes the connection unusable')

  const idle = new ResponseParser()
  idle.execute(Buffer.from('surprise'))
  t.true(idle.failed, 'bytes on an idle connection')

  const big = 'HTTP/1.1 200 OK\r\n' + `X-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`
  t.is(parse(big).error, 'response head too large')
  t.is(parse(big, 'GET', [100, 40_000]).error, 'response head too large')
  const bigTrailers = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n' + `X-T: ${'b'.repeat(70 * 1024)}\r\n\r\n`
  t.is(parse(bigTrailers, 'GET', [60]).error, 'trailers too large')

  t.is(parse('HTTP/2 200 OK\r\n\r\n').error, 'malformed status line')
  t.is(parse('HTTP/1.1 20 OK\r\n\r\n').error, 'malformed status line')
  t.is(parse('HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n').error, 'malformed header line')
  t.is(parse('HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n').error, 'malformed header line')
  t.is(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n').error, 'bad chunk size')
  t.is(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n').error, 'chunk data not followed by CRLF')
  t.is(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + '1'.repeat(5000)).error, 'chunk size line too long')
})

test('a close before or during the response is named', (t) => {
  const before = new ResponseParser()
  const a = recorder()
  before.start(a.handler, 'GET')
  t.true(before.nothingReceived)
  before.finish()
  t.is(a.seen.error, 'closed before responding')

  const during = new ResponseParser()
  const b = recorder()
  during.start(b.handler, 'GET')
  during.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))
  t.false(during.nothingReceived)
  during.finish()
  t.is(b.seen.error, 'closed mid-response')
  t.is(Buffer.concat(b.seen.body).toString(), 'abc')
})

test('abort() stops a response mid-read: the rest of the bytes in hand reach nobody', (t) => {
  const parser = new ResponseParser()
  const {seen, handler} = recorder()
  parser.start({...handler, onHead: (status, pairs) => {
    handler.onHead(status, pairs)
    parser.abort()
  }}, 'GET')
  parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'))
  t.is(seen.head?.[0], 200)
  t.deepEqual(seen.body, [], 'no body after the abort')
  t.is(seen.reusable, undefined, 'no completion either')
  t.is(seen.error, undefined)
  t.true(parser.failed)
})
