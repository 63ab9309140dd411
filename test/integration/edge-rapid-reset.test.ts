import test from 'ava'
import {buildConfig} from '../../platform/config.js'
import {ERROR_CODE, FRAME, headersFrame, RawH2, requestHeaders, rstStream, settingsAck} from '../helpers/h2-raw.js'
import {fileScope, type IdentityEdge, startIdentityEdge} from '../helpers/identity-edge.js'

const defaults = buildConfig({dataDir: '/nonexistent'}).edge
/** Streams reset by the client whose RST came in a later read than their HEADERS may be forwarded. */
const FEW = 10
const DEADLINE = 10_000

// One platform for the file; the tests run one after the other so one connection's flood does not disturb another's count.
let e: IdentityEdge
let host: string
const scope = fileScope()
test.after.always(() => scope.close())
test.before(async () => {
  e = await startIdentityEdge(scope.t, {edge: {...defaults, streamResets: {burst: 200, perSecond: 0}}})
  const open = await e.addPolicy('open', {public: true})
  host = `app.${e.domain}`
  await e.addRoute(host, '/', open.id, {rateLimitPerMinute: 1_000_000})
})

/** A raw HTTP/2 connection past the preface and the SETTINGS exchange. */
async function connectRaw(): Promise<RawH2> {
  const c = new RawH2(e.port, e.caPem, host)
  await c.ready()
  c.send(c.preface())
  await c.serverSettings
  c.send(settingsAck())
  return c
}

/** HEADERS of a GET and its RST_STREAM (CANCEL) right behind, for `n` streams from `first` on, in one write. */
function openAndReset(c: RawH2, prefix: string, first: number, n: number): void {
  const frames: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const id = first + 2 * i
    frames.push(headersFrame(id, requestHeaders('GET', `${prefix}/${id}`, `${host}:${e.port}`), true), rstStream(id, ERROR_CODE.CANCEL))
  }
  c.send(...frames)
}

const reachedOrigin = (prefix: string) => e.originSeen.filter((s) => s.url.startsWith(prefix + '/')).length

/** Resolves once the edge logged `n` requests under `prefix`: it is done with each, forwarded or not. */
function untilLogged(prefix: string, n: number): Promise<void> {
  const log = e.platform.ctx.requestLog!
  const count = () => log.recent(log.capacity, (x) => x.path.startsWith(prefix + '/')).length
  return new Promise((resolve, reject) => {
    if (count() >= n) return resolve()
    const timer = setTimeout(() => {
      off()
      reject(new Error(`the edge logged ${count()} of ${n} requests under ${prefix} within ${DEADLINE} ms`))
    }, DEADLINE)
    const off = log.subscribe(() => {
      if (count() < n) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

test.serial('streams the client resets as soon as it opened them are not forwarded; the connection serves on within the budget', async (t) => {
  const c = await connectRaw()
  t.teardown(() => c.destroy())
  openAndReset(c, '/within', 1, 150)
  // A normal request behind them on the same connection is answered: the connection is alive.
  const last = 1 + 2 * 150
  c.send(headersFrame(last, requestHeaders('GET', '/within-after', `${host}:${e.port}`), true))
  await c.next((f) => f.type === FRAME.HEADERS && f.streamId === last, 'the answer to the request after the resets', DEADLINE)
  await untilLogged('/within', 150)
  const n = reachedOrigin('/within')
  t.true(n <= FEW, `${n} of 150 reset streams reached the origin`)
  t.is(c.goawayCode(), undefined)
  t.false(c.socket.destroyed)
})

test.serial('a client that keeps resetting streams past the budget gets GOAWAY (ENHANCE_YOUR_CALM) and its connection closed', async (t) => {
  const c = await connectRaw()
  t.teardown(() => c.destroy())
  openAndReset(c, '/flood', 1, 500)
  await t.notThrowsAsync(Promise.race([c.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the edge kept the connection open')), DEADLINE))]))
  t.is(c.goawayCode(), ERROR_CODE.ENHANCE_YOUR_CALM)
  const n = reachedOrigin('/flood')
  t.true(n <= FEW, `${n} of 500 reset streams reached the origin`)
})

test.serial('streams the client resets after the edge answered them cost nothing from the budget', async (t) => {
  const c = await connectRaw()
  t.teardown(() => c.destroy())
  // 250 answered requests (in batches under the stream cap), each reset by the client once its
  // response headers are in: more than the burst.
  c.on('frame', (f) => {
    if (f.type === FRAME.HEADERS) c.send(rstStream(f.streamId, ERROR_CODE.CANCEL))
  })
  for (let batch = 0; batch < 250; batch += 50) {
    const ids = Array.from({length: 50}, (_, i) => 1 + 2 * (batch + i))
    c.send(...ids.map((id) => headersFrame(id, requestHeaders('GET', `/answered/${id}`, `${host}:${e.port}`), true)))
    await Promise.all(ids.map((id) => c.next((f) => f.type === FRAME.HEADERS && f.streamId === id, `the answer on stream ${id}`, DEADLINE)))
  }
  const last = 1 + 2 * 250
  c.send(headersFrame(last, requestHeaders('GET', '/answered-last', `${host}:${e.port}`), true))
  await c.next((f) => f.type === FRAME.HEADERS && f.streamId === last, 'the last answer', DEADLINE)
  t.is(c.goawayCode(), undefined)
  t.false(c.socket.destroyed)
})
