import test, {type ExecutionContext} from 'ava'
import {FLAG_END_STREAM} from '../../src/protocol/frames.js'
import type {TunnelEdge} from '../../src/protocol/tunnel.js'
import {TunnelConnection} from '../../src/warpgate/connection.js'
import {OriginProxy} from '../../src/warpgate/origin.js'
import {type ConnectionSlot, pickTunnelUrl, Supervisor, type SupervisorEvent} from '../../src/warpgate/supervisor.js'
import {ManualClock} from '../helpers/clock.js'
import {startOrigin} from '../helpers/origin.js'
import {deadTunnelUrl, startTunnelEdge, type TestTunnelEdge, tunnelIdentity, until, type WarpgateIdentity} from '../helpers/tunnel-edge.js'

// The Supervisor against real tunnel listeners over real TLS; only time (the backoff) is injected.

const EDGE_B = 'edg_bbbbbbbbbbbbbbbbbbbb'
const EDGE_DEAD = 'edg_dddddddddddddddddddd'
const RETRY_MS = 1000

interface Run {
  sup: Supervisor
  clock: ManualClock
  events: SupervisorEvent[]
  /** every dial: which slot, which address */
  dials: Array<{edge: string; connection: number; url: string}>
}

async function supervise(t: ExecutionContext, warpgate: WarpgateIdentity, edges: TunnelEdge[], originUrl = 'http://127.0.0.1:9'): Promise<Run> {
  const clock = new ManualClock()
  const events: SupervisorEvent[] = []
  const dials: Run['dials'] = []
  const origin = new OriginProxy(originUrl)
  const sup = new Supervisor({
    connections: 2, edges, clock, nextDelay: () => RETRY_MS, retireGraceMs: 5000,
    connect: (slot: ConnectionSlot, attempt: number) => {
      const url = pickTunnelUrl(slot.urls, slot.index, attempt)
      dials.push({edge: slot.edge, connection: slot.connection, url})
      return new TunnelConnection({tunnelUrl: url, ...warpgate, handler: origin, hello: {version: 'test', service: 'edges', connection: slot.connection}, health: () => ({healthy: true})})
    },
    onEvent: (e) => events.push(e),
  })
  t.teardown(async () => {
    await sup.stop()
    origin.close()
  })
  sup.start()
  return {sup, clock, events, dials}
}

const live = (edge: TestTunnelEdge, w: WarpgateIdentity) => edge.pool.live(w.warpgateId)?.connections ?? 0
const retries = (run: Run, edge: string) => run.events.filter((e) => e.type === 'reconnecting' && e.edge === edge).length

test('keeps --connections connections to each edge, numbered uniquely, and an edge that is down costs only its own slots\' retries', async (t) => {
  const {ca, warpgate} = await tunnelIdentity()
  const a = await startTunnelEdge(t, ca)
  const dead = await deadTunnelUrl()
  const run = await supervise(t, warpgate, [{edge: 'local', urls: [a.url]}, {edge: EDGE_DEAD, urls: [dead]}])
  await until(() => live(a, warpgate) === 2 && run.sup.connections.length === 2 && retries(run, EDGE_DEAD) === 2, '2 connections to local (both ends) and a retry per dead slot')
  t.deepEqual(run.dials.map((d) => [d.edge, d.connection]), [['local', 0], ['local', 1], [EDGE_DEAD, 2], [EDGE_DEAD, 3]])

  for (let round = 1; round <= 3; round++) {
    run.clock.advance(RETRY_MS)
    await until(() => retries(run, EDGE_DEAD) === 2 + 2 * round, `retry round ${round}`)
  }
  t.is(run.dials.filter((d) => d.edge === EDGE_DEAD).length, 8, 'each dead slot redials on its own backoff')
  t.is(run.dials.filter((d) => d.edge === 'local').length, 2, 'the live edge\'s connections were never touched')
  t.false(run.events.some((e) => e.edge === 'local' && e.type !== 'connected'))
  t.is(live(a, warpgate), 2)
})

test('a failed attempt moves a slot on to its edge\'s next address; new addresses for a listed edge are used from the next attempt without new slots', async (t) => {
  const {ca, warpgate} = await tunnelIdentity()
  const a = await startTunnelEdge(t, ca)
  const [dead1, dead2] = [await deadTunnelUrl(), await deadTunnelUrl()]
  const run = await supervise(t, warpgate, [{edge: EDGE_B, urls: [dead1, dead2]}])
  await until(() => retries(run, EDGE_B) === 2, 'both slots failing')
  const urlsOf = (connection: number) => run.dials.filter((d) => d.connection === connection).map((d) => d.url)
  t.deepEqual([urlsOf(0), urlsOf(1)], [[dead1], [dead2]], 'slots start spread over the addresses')
  run.clock.advance(RETRY_MS)
  await until(() => retries(run, EDGE_B) === 4, 'both slots failing again')
  t.deepEqual([urlsOf(0), urlsOf(1)], [[dead1, dead2], [dead2, dead1]], 'each moved on to the next address')

  t.deepEqual(run.sup.setEdges([{edge: EDGE_B, urls: [a.url]}]), {added: [], removed: []})
  run.clock.advance(RETRY_MS)
  await until(() => live(a, warpgate) === 2, 'the slots on the new address')
  t.deepEqual(run.dials.slice(4).map((d) => [d.connection, d.url]).sort(), [[0, a.url], [1, a.url]], 'the same slots, on the new address')
})

test('a new edge gets its slots at once; a dropped edge\'s slots stop retrying; the same list again changes nothing; an empty list is refused', async (t) => {
  const {ca, warpgate} = await tunnelIdentity()
  const a = await startTunnelEdge(t, ca)
  const b = await startTunnelEdge(t, ca)
  const dead = await deadTunnelUrl()
  const run = await supervise(t, warpgate, [{edge: 'local', urls: [a.url]}, {edge: EDGE_DEAD, urls: [dead]}])
  await until(() => live(a, warpgate) === 2 && run.sup.connections.length === 2 && retries(run, EDGE_DEAD) === 2, 'local up, dead retrying')

  const next = [{edge: 'local', urls: [a.url]}, {edge: EDGE_B, urls: [b.url]}]
  t.deepEqual(run.sup.setEdges(next), {added: [EDGE_B], removed: [EDGE_DEAD]})
  await until(() => live(b, warpgate) === 2 && run.sup.connections.length === 4, 'two connections to the new edge (both ends), with no clock tick')
  t.is(live(a, warpgate), 2)
  t.is(run.sup.setEdges(next.map((e) => ({...e, urls: [...e.urls]}))), undefined, 'a repeated list is no change')
  t.is(run.sup.setEdges([]), undefined, 'an empty list is refused')
  t.deepEqual(run.sup.edges.map((e) => e.edge), ['local', EDGE_B])

  const deadDials = run.dials.filter((d) => d.edge === EDGE_DEAD).length
  run.clock.advance(10 * RETRY_MS)
  t.is(run.dials.filter((d) => d.edge === EDGE_DEAD).length, deadDials, 'the dropped edge is never dialled again')
  t.is(run.clock.pending, 0, 'and no retry of it is left waiting')
  t.is(run.dials.length, 6, 'nothing else was dialled: 2 local, 2 dead, 2 new')
  const numbers = run.dials.filter((d) => d.edge !== EDGE_DEAD).map((d) => d.connection)
  t.is(new Set(numbers).size, 4, `connection numbers are unique across edges: ${numbers.join(', ')}`)
  t.is(live(a, warpgate) + live(b, warpgate), 4)
})

test('a dropped edge\'s connections drain: the request in flight on it finishes, then they close and are not redialled, while the other edge keeps its own', async (t) => {
  const {ca, warpgate} = await tunnelIdentity()
  const a = await startTunnelEdge(t, ca)
  const b = await startTunnelEdge(t, ca)
  const origin = await startOrigin(t)
  const run = await supervise(t, warpgate, [{edge: 'local', urls: [a.url]}, {edge: EDGE_B, urls: [b.url]}], origin.url)
  await until(() => live(a, warpgate) === 2 && live(b, warpgate) === 2 && run.sup.connections.length === 4, 'two connections to each edge')

  const session = b.pool.pick('env_edges', 'edges')!
  const response = new Promise<{status: string; body: string; code: number | undefined}>((resolve) => {
    const s = session.request(['GET', '/slow?ms=500', 'edges.test'], FLAG_END_STREAM)
    let status = ''
    let body = ''
    s.onHead = (head) => (status = head[0])
    s.onData = (c) => {
      body += c.toString()
      s.consumed(c.length)
    }
    s.onClose = (code) => resolve({status, body, code})
  })
  await until(() => origin.seen.some((r) => r.url === '/slow?ms=500'), 'the request to reach the origin')
  t.deepEqual(run.sup.setEdges([{edge: 'local', urls: [a.url]}]), {added: [], removed: [EDGE_B]})
  await until(() => b.pool.sessions().every((s) => s.draining), 'the dropped edge to hear the drain')
  t.false(session.isClosed, 'the connection with a request in flight stays open for it')
  t.deepEqual(await response, {status: '200', body: 'slow done\n', code: undefined})
  const gone = () => run.events.filter((e) => e.type === 'disconnected' && e.edge === EDGE_B)
  await until(() => live(b, warpgate) === 0 && gone().length === 2, 'the dropped edge\'s connections to close (both ends)')
  t.deepEqual(gone().map((e) => e.type === 'disconnected' && e.reason.kind), ['drained', 'drained'])
  run.clock.advance(10 * RETRY_MS)
  t.is(retries(run, EDGE_B), 0, 'no reconnect is scheduled for it')
  t.is(run.dials.length, 4)
  t.is(live(a, warpgate), 2)
  t.is(run.sup.connections.length, 2)
})
