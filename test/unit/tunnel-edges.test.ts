import tls from 'node:tls'
import test from 'ava'
import {MutableTunnelDirectory} from '../../platform/edge/tunnel/directory.js'
import {MuxConnection} from '../../src/protocol/mux.js'
import {TUNNEL_ALPN} from '../../src/protocol/settings.js'
import {MAX_TUNNEL_EDGE_URLS, MAX_TUNNEL_EDGES, readTunnelEdges, type TunnelEdge} from '../../src/protocol/tunnel.js'
import {TunnelConnection} from '../../src/warpgate/connection.js'
import {OriginProxy} from '../../src/warpgate/origin.js'
import {deadTunnelUrl, startTunnelEdge, tunnelIdentity, until} from '../helpers/tunnel-edge.js'

const EDGE_A = 'edg_0123456789abcdefghjk'
const EDGE_B = 'edg_abcdefghjk0123456789'

test('an edge list reads with distinct ids and tls://host:port addresses; an address repeated within an edge is kept once, across edges it may repeat', (t) => {
  const edges = [{edge: 'local', urls: ['tls://127.0.0.1:7444', 'tls://[::1]:7444', 'tls://127.0.0.1:7444']}, {edge: EDGE_A, urls: ['tls://127.0.0.1:7444', 'tls://edge-a.example.test:443']}]
  t.deepEqual(readTunnelEdges(edges), {edges: [{edge: 'local', urls: ['tls://127.0.0.1:7444', 'tls://[::1]:7444']}, edges[1]]})
  const most = Array.from({length: MAX_TUNNEL_EDGES}, (_, i) => ({edge: i === 0 ? 'local' : `edg_${String(i).padStart(20, '0')}`, urls: Array.from({length: MAX_TUNNEL_EDGE_URLS}, (_, j) => `tls://h${j}.test:${1000 + i}`)}))
  t.is((readTunnelEdges(most) as {edges: TunnelEdge[]}).edges.length, MAX_TUNNEL_EDGES)
})

test('an edge list is refused, with the reason, when it is empty, too long, or names an edge or address wrongly', (t) => {
  const url = 'tls://127.0.0.1:7444'
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /not a list/],
    [{edge: 'local', urls: [url]}, /not a list/],
    [[], /names no edge/],
    [Array.from({length: MAX_TUNNEL_EDGES + 1}, (_, i) => ({edge: `edg_${String(i).padStart(20, '0')}`, urls: [url]})), /65 edges, more than 64/],
    [[null], /not an object/],
    [[[url]], /not an object/],
    [[{edge: 'wg_0123456789abcdefghjk', urls: [url]}], /neither "local" nor edg_/],
    [[{edge: 'LOCAL', urls: [url]}], /neither "local" nor edg_/],
    [[{edge: 'edg_short', urls: [url]}], /neither "local" nor edg_/],
    [[{edge: 7, urls: [url]}], /neither "local" nor edg_/],
    [[{edge: EDGE_A, urls: [url]}, {edge: EDGE_A, urls: ['tls://other:1']}], /listed twice/],
    [[{edge: 'local', urls: []}], /no tunnel address/],
    [[{edge: 'local', urls: url}], /no tunnel address/],
    [[{edge: 'local', urls: Array.from({length: MAX_TUNNEL_EDGE_URLS + 1}, (_, i) => `tls://h${i}:1`)}], /9 tunnel addresses, more than 8/],
    ...['https://127.0.0.1:7444', 'tls://127.0.0.1', 'tls://127.0.0.1:0', 'tls://u:p@127.0.0.1:7444', 'tls://127.0.0.1:7444/x', 'tls://127.0.0.1:7444/', 'tls://127.0.0.1:7444?a', 'tls://127.0.0.1:7444#a', `tls://${'a'.repeat(300)}:1`, 'not a url', 42, null].map((u): [unknown, RegExp] => [[{edge: 'local', urls: [url, u]}], /is not a tls:\/\/host:port address/]),
  ]
  for (const [value, reason] of cases) {
    const read = readTunnelEdges(value)
    t.true('error' in read && reason.test(read.error), `${JSON.stringify(value)?.slice(0, 80)} → ${JSON.stringify(read).slice(0, 120)}`)
  }
})

test('the directory tells its listeners only when the list changed, and hands out a copy nobody can edit', (t) => {
  const dir = new MutableTunnelDirectory()
  t.deepEqual(dir.current(), [])
  const heard: Array<readonly TunnelEdge[]> = []
  const off = dir.onChange((edges) => heard.push(edges))
  const list = [{edge: 'local', urls: ['tls://a:1']}]
  dir.set(list)
  dir.set([{edge: 'local', urls: ['tls://a:1']}])
  list[0].urls.push('tls://b:2')
  t.deepEqual(dir.current(), [{edge: 'local', urls: ['tls://a:1']}], 'the caller\'s array is not the directory\'s')
  t.throws(() => (dir.current()[0].urls as string[]).push('tls://c:3'))
  dir.set([{edge: 'local', urls: ['tls://a:1']}, {edge: EDGE_A, urls: ['tls://a:1']}])
  off()
  dir.set([{edge: EDGE_B, urls: ['tls://b:2']}])
  t.is(heard.length, 2)
  t.deepEqual(heard.map((h) => h.map((e) => e.edge)), [['local'], ['local', EDGE_A]])
})

test('the edge sends the list right after a Warpgate\'s hello and again on each change; a list that does not read is reported and the connection stays up', async (t) => {
  const {ca, warpgate} = await tunnelIdentity()
  const edge = await startTunnelEdge(t, ca)
  const dead = await deadTunnelUrl()
  edge.directory.set([{edge: 'local', urls: [edge.url]}])
  const lists: TunnelEdge[][] = []
  const bad: string[] = []
  const origin = new OriginProxy('http://127.0.0.1:9')
  t.teardown(() => origin.close())
  const conn = new TunnelConnection({
    tunnelUrl: edge.url, ...warpgate, handler: origin, hello: {version: 'test', service: 'edges', connection: 0}, health: () => ({healthy: true}),
    onEdges: (edges) => lists.push(edges), onBadEdges: (reason) => bad.push(reason),
  })
  const served = conn.serve()
  t.teardown(() => conn.close())
  await until(() => lists.length === 1, 'the list sent on connect')
  t.deepEqual(lists[0], [{edge: 'local', urls: [edge.url]}])

  edge.directory.set([{edge: 'local', urls: [edge.url]}, {edge: EDGE_A, urls: [dead]}])
  await until(() => lists.length === 2, 'the changed list')
  t.deepEqual(lists[1].map((e) => e.edge), ['local', EDGE_A])

  edge.directory.set([{edge: 'local', urls: ['https://127.0.0.1:1']}])
  await until(() => bad.length === 1, 'the bad list to be reported')
  t.regex(bad[0], /edge local: "https:\/\/127\.0\.0\.1:1" is not a tls:\/\/host:port address/)
  t.is(lists.length, 2, 'a bad list is never handed on')
  t.true(conn.isEstablished)
  t.is(edge.pool.live(warpgate.warpgateId)?.connections, 1)
  conn.close()
  t.is((await served).kind, 'stopped')
})

test('a Warpgate that predates the edges message (no CONTROL handler) ignores it and keeps its connection', async (t) => {
  const {ca, warpgate} = await tunnelIdentity()
  const edge = await startTunnelEdge(t, ca)
  edge.directory.set([{edge: 'local', urls: [edge.url]}])
  const socket = tls.connect({host: '127.0.0.1', port: Number(new URL(edge.url).port), ca: [warpgate.caPem], cert: warpgate.certPem, key: warpgate.keyPem, minVersion: 'TLSv1.3', ALPNProtocols: [TUNNEL_ALPN], servername: 'localhost'})
  t.teardown(() => socket.destroy())
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
  let closed = false
  // the shape of a Warpgate of the previous release: it handles HELLO, GOAWAY and streams, and no CONTROL
  const old = new MuxConnection(socket, {role: 'warpgate', onClose: () => (closed = true)})
  old.sendHello({version: '0.0.1', service: 'edges', connection: 0})
  await until(() => edge.pool.live(warpgate.warpgateId)?.connections === 1, 'the old Warpgate to be in the pool')
  edge.directory.set([{edge: 'local', urls: [edge.url]}, {edge: EDGE_A, urls: [edge.url]}])
  // the edge queued the CONTROL frame before this ping reached it, so the answer comes after it
  t.true(await old.ping(5000))
  t.false(closed)
  t.is(edge.pool.live(warpgate.warpgateId)?.connections, 1)
})
