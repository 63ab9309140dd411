import {EventEmitter} from 'node:events'
import {readFileSync} from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import type {AddressInfo} from 'node:net'
import test, {type ExecutionContext} from 'ava'
import {buildConfig} from '../../platform/config.js'
import {STREAM_WINDOW_BYTES as TUNNEL_STREAM_WINDOW_BYTES} from '../../src/protocol/mux.js'
import {ERROR_CODE, FRAME, headersFrame, RawH2, requestHeaders, rstStream, SETTING, settingsAck} from '../helpers/h2-raw.js'
import type {TestPlatform} from '../helpers/platform.js'
import {startTestPlatform} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {startWarpgate, waitUntilServed} from '../helpers/tunnel.js'

const defaults = buildConfig({dataDir: '/nonexistent'}).edge
const CAP = 4
const MiB = 1024 * 1024
const DEADLINE = 20_000
/** What each response declares: far more than any buffer on the way may hold. */
const BODY_BYTES = 1024 * MiB

/**
 * What the origin may write into a response nobody reads before back-pressure stops it: the
 * tunnel stream window the edge grants, the kernel's socket buffers between origin and Warpgate
 * (autotuned up to the tcp_rmem/tcp_wmem maxima, which are not the edge's memory), and a few
 * MiB of stream buffers on the way.
 */
function perStreamBound(): number {
  let kernel = 16 * MiB
  try {
    const max = (f: string) => Number(readFileSync(`/proc/sys/net/ipv4/${f}`, 'utf8').trim().split(/\s+/)[2])
    kernel = max('tcp_rmem') + max('tcp_wmem')
  } catch {
    // not Linux: the fallback above
  }
  return TUNNEL_STREAM_WINDOW_BYTES + kernel + 4 * MiB
}

interface BigResponse {
  url: string
  written: number
  /** waiting for 'drain': back-pressure reached the origin */
  blocked: boolean
  closed: boolean
}

/** An origin whose /big/* responses declare BODY_BYTES and write them as fast as back-pressure lets them. */
async function startBigOrigin(t: ExecutionContext): Promise<{url: string; responses: BigResponse[]; until(ok: () => boolean, what: string): Promise<void>}> {
  const responses: BigResponse[] = []
  const changes = new EventEmitter()
  changes.setMaxListeners(0)
  const server = http.createServer((req, res) => {
    if (!req.url!.startsWith('/big/')) return res.end('ok')
    const r: BigResponse = {url: req.url!, written: 0, blocked: false, closed: false}
    responses.push(r)
    res.on('close', () => {
      r.closed = true
      changes.emit('change')
    })
    res.writeHead(200, {'content-type': 'application/octet-stream', 'content-length': String(BODY_BYTES)})
    const chunk = Buffer.alloc(64 * 1024, 0x62)
    const write = () => {
      r.blocked = false
      while (r.written < BODY_BYTES && !res.destroyed) {
        r.written += chunk.length
        if (!res.write(chunk)) {
          r.blocked = true
          changes.emit('change')
          return void res.once('drain', write)
        }
      }
    }
    changes.emit('change')
    write()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const until = (ok: () => boolean, what: string) => new Promise<void>((resolve, reject) => {
    if (ok()) return resolve()
    const timer = setTimeout(() => {
      changes.off('change', check)
      reject(new Error(`timed out after ${DEADLINE} ms waiting for ${what}`))
    }, DEADLINE)
    const check = () => {
      if (!ok()) return
      clearTimeout(timer)
      changes.off('change', check)
      resolve()
    }
    changes.on('change', check)
  })
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, responses, until}
}

async function startEdge(t: ExecutionContext): Promise<{platform: TestPlatform; host: string; origin: Awaited<ReturnType<typeof startBigOrigin>>}> {
  const platform = await startTestPlatform(t, {edge: {...defaults, maxConcurrentStreams: CAP}})
  const scope = await addProjectEnv(platform)
  const origin = await startBigOrigin(t)
  const host = 'big.mezu.localhost'
  await addRoute(platform, {...scope, hostname: host, service: 'big', rateLimitPerMinute: 1_000_000})
  await startWarpgate(t, platform, scope, 'big', origin.url, {connections: 1})
  await waitUntilServed(platform, host)
  return {platform, host, origin}
}

/**
 * A raw client whose first flight holds HEADERS for `n` GETs of /big/<stream id>, sent before it
 * has seen (and acknowledged) the edge's SETTINGS, as a client does that does not wait for them.
 */
async function firstFlight(platform: TestPlatform, host: string, n: number): Promise<{c: RawH2; ids: number[]}> {
  const c = new RawH2(platform.ports.edge!, platform.caPem, host)
  await c.ready()
  const ids = Array.from({length: n}, (_, i) => 1 + 2 * i)
  c.send(c.preface(), ...ids.map((id) => headersFrame(id, requestHeaders('GET', `/big/${id}`, host), true)))
  await c.serverSettings
  c.send(settingsAck())
  return {c, ids}
}

test('the edge advertises SETTINGS_MAX_CONCURRENT_STREAMS and refuses a stream beyond it', async (t) => {
  const {platform, host, origin} = await startEdge(t)
  const session = http2.connect(`https://127.0.0.1:${platform.ports.edge}`, {ca: platform.caPem, servername: host})
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve))
  t.is(settings.maxConcurrentStreams, CAP)

  const {c, ids} = await firstFlight(platform, host, CAP + 2)
  t.teardown(() => c.destroy())
  t.is((await c.serverSettings).get(SETTING.MAX_CONCURRENT_STREAMS), CAP)
  const beyond = ids.slice(CAP)
  await Promise.all(beyond.map((id) => c.next((f) => f.type === FRAME.RST_STREAM && f.streamId === id, `RST_STREAM on stream ${id}`)))
  for (const id of beyond) t.is(c.resets().get(id), ERROR_CODE.REFUSED_STREAM, `stream ${id}`)
  await origin.until(() => origin.responses.length >= CAP, `${CAP} responses at the origin`)
  t.deepEqual(origin.responses.map((r) => r.url).sort(), ids.slice(0, CAP).map((id) => `/big/${id}`).sort(), 'the refused streams never reached the origin')
})

test('a client that never reads its responses makes the origin stop after a bounded amount per stream, and its resets and leaving abort them at the origin', async (t) => {
  const {platform, host, origin} = await startEdge(t)
  const {c, ids} = await firstFlight(platform, host, 3 * CAP)
  t.teardown(() => c.destroy())
  // The raw client never sends WINDOW_UPDATE: the edge may send it 64 KiB, and the rest must wait.
  await origin.until(() => origin.responses.length >= CAP && origin.responses.every((r) => r.written >= TUNNEL_STREAM_WINDOW_BYTES && r.blocked), 'back-pressure to reach the origin on every stream')
  t.is(origin.responses.length, CAP, `${origin.responses.length} of ${3 * CAP} streams reached the origin`)
  const bound = perStreamBound()
  t.log(`origin wrote ${origin.responses.map((r) => (r.written / MiB).toFixed(1)).join(', ')} MiB per stream (bound ${(bound / MiB).toFixed(1)} MiB)`)
  for (const r of origin.responses) t.true(r.written <= bound, `${r.url}: the origin wrote ${(r.written / MiB).toFixed(1)} MiB of ${BODY_BYTES / MiB} (bound ${(bound / MiB).toFixed(1)} MiB)`)
  t.true(origin.responses.reduce((sum, r) => sum + r.written, 0) <= CAP * bound)

  // A stream the client resets is aborted at the origin; the others stay.
  const reset = ids[0]!
  c.send(rstStream(reset, ERROR_CODE.CANCEL))
  await origin.until(() => origin.responses.find((r) => r.url === `/big/${reset}`)!.closed, `/big/${reset} closed at the origin`)
  t.false(origin.responses.some((r) => r.url !== `/big/${reset}` && r.closed), 'only the reset stream was aborted')
  // The client leaving aborts the rest.
  c.destroy()
  await origin.until(() => origin.responses.every((r) => r.closed), 'every origin response closed')
  t.pass()
})
