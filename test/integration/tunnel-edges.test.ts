import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {MutableTunnelDirectory} from '../../platform/edge/tunnel/directory.js'
import {newId} from '../../src/protocol/ids.js'
import {WARPGATE_BIN} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {edgeRequest, registrationToken, startTunnelCli, startWarpgate, waitUntilServed, warpgateEvent} from '../helpers/tunnel.js'
import {deadTunnelUrl, until} from '../helpers/tunnel-edge.js'

// The real platform and the real mezu-warpgate process: the platform's tunnel directory stands in
// for the edges a control plane knows (a second edge is the same listener under another edge id).

test('mezu-warpgate follows the edge list without a restart: 2 connections per edge, a dead edge retried on its own and dropped when unlisted, and a restart starts from the list in its state file', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const host = `edges.${platform.domain}`
  await addRoute(platform, {...scope, hostname: host, service: 'edges'})
  const local = {edge: 'local', urls: [platform.tunnelUrl!]}
  const dead = {edge: newId('edge'), urls: [await deadTunnelUrl()]}
  const second = {edge: newId('edge'), urls: [platform.tunnelUrl!]}
  platform.tunnelDirectory.set([local, dead])
  const {token, warpgateId} = await registrationToken(platform, scope, 'edges')
  const state = join(tempDir(t), 'warpgate.json')
  const env = {MEZU_WARPGATE_TOKEN: token, MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath}
  const live = () => platform.ctx.warpgatesLive?.live(warpgateId)?.connections ?? 0
  const saved = () => JSON.parse(readFileSync(state, 'utf8')) as {credentials: {info: Record<string, unknown>}; edges?: unknown}

  const wg = await startTunnelCli(t, [String(origin.port), '--state', state], env, 2, [WARPGATE_BIN])
  t.deepEqual(saved().credentials.info.tunnelEdges, [local, dead], 'registration hands out every edge')
  t.deepEqual(saved().credentials.info.tunnelUrls, [platform.tunnelUrl, dead.urls[0]], 'and, for older Warpgates, all their addresses as one list')
  const deadRetries = () => wg.events.filter((e) => e.type === 'reconnecting' && e.edge === dead.edge)
  await until(() => deadRetries().length >= 4, 'both slots of the dead edge to retry twice', 30_000)
  t.true(deadRetries().every((e) => e.inMs >= 0 && e.inMs <= 10_000), 'with backoff under its cap')
  await until(() => live() === 2, 'the edge to see both connections')
  t.deepEqual(wg.events.filter((e) => e.edge === 'local').map((e) => e.type), ['connected', 'connected'], 'the live edge\'s connections are untouched by the dead one\'s retries')
  await waitUntilServed(platform, host)
  t.is((await edgeRequest(platform, host, '/hello')).status, 200)

  // a new edge is picked up at once, the dead one dropped, with no restart
  platform.tunnelDirectory.set([local, second])
  const added = await wg.waitForEvent((e) => e.type === 'edges', 'the new edge list')
  t.like(added, {added: [second.edge], removed: [dead.edge], from: 'edge'})
  await until(() => live() === 4, '4 connections from the Warpgate in the pool')
  // the pool can see them a moment before the Warpgate's event lines arrive
  await until(() => wg.events.filter((e) => e.type === 'connected' && e.edge === second.edge).length === 2, 'the Warpgate to report 2 connections to the new edge')
  t.deepEqual(saved().edges, [local, second], 'the state file follows the list')
  const addedAt = wg.events.indexOf(added)

  platform.tunnelDirectory.set([local])
  const removed = await wg.waitForEvent((e) => e.type === 'edges' && e.removed[0] === second.edge, 'the second edge to be dropped')
  await until(() => live() === 2, 'back to 2 connections')
  const gone = () => wg.events.filter((e) => e.type === 'disconnected' && e.edge === second.edge)
  await until(() => gone().length === 2, 'the Warpgate to report both connections to the dropped edge closed')
  t.deepEqual(gone().map((e) => e.reason.kind), ['drained', 'drained'], 'the dropped edge\'s connections were drained, not cut')
  t.false(wg.events.slice(wg.events.indexOf(removed)).some((e) => e.type === 'reconnecting' && e.edge === second.edge), 'and are not redialled')
  t.false(wg.events.slice(addedAt).some((e) => e.type === 'reconnecting' && e.edge === dead.edge), 'the dead edge stopped retrying once unlisted')
  t.deepEqual(saved().edges, [local])
  t.is((await edgeRequest(platform, host, '/hello')).status, 200)
  t.is(await wg.stop(), 0, wg.stderr())

  // The certificate saved with the identity still names [local, dead]: a Warpgate that started from it
  // would dial the dead edge and then hear the edge's list as a change.
  const again = await startTunnelCli(t, [String(origin.port)], {MEZU_API_URL: platform.apiUrl, MEZU_CA_FILE: platform.caPath, MEZU_WARPGATE_STATE: state}, 2, [WARPGATE_BIN])
  await waitUntilServed(platform, host)
  t.is((await edgeRequest(platform, host, '/hello')).status, 200)
  // each connection hears the edge's list before any request on it, and the events come in order
  await again.waitForEvent((e) => e.type === 'request' && e.path === '/hello', 'the request event')
  t.like(again.events.find((e) => e.type === 'registered'), {warpgateId})
  t.deepEqual(again.events.filter((e) => e.type === 'connected').map((e) => e.edge), ['local', 'local'])
  t.false(again.events.some((e) => e.type === 'edges' || e.edge === dead.edge), 'it started from the saved list, so the edge\'s list is no change')
  await until(() => live() === 2, 'the restarted Warpgate\'s 2 connections')
})

test('a renewal brings the edge list too: an edge the control plane names, and no connected edge has announced, gets its slots', async (t) => {
  const platform = await startTestPlatform(t, {warpgateCertTtlMs: 6000})
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const {wg, warpgateId} = await startWarpgate(t, platform, scope, 'renewing', origin.url)
  const other = {edge: newId('edge'), urls: [await deadTunnelUrl()]}
  // the control plane's view only: the tunnel listener keeps announcing its own list
  platform.ctx.tunnelDirectory = new MutableTunnelDirectory([{edge: 'local', urls: [platform.tunnelUrl!]}, other])
  const failures: string[] = []
  wg.on('event', (e) => e.type === 'renew-failed' && failures.push(e.message))
  const changed = await warpgateEvent(wg, (e) => e.type === 'edges', 'the renewal\'s edge list', 20_000).catch((error: Error) => {
    throw new Error(`${error.message}; renewals failed: ${failures.join('; ')}`)
  })
  t.like(changed, {from: 'renewal', added: [other.edge], removed: []})
  t.deepEqual(wg.edges.map((e) => e.edge), ['local', other.edge])
  await warpgateEvent(wg, (e) => e.type === 'reconnecting' && e.edge === other.edge, 'a retry of the unreachable edge')
  t.is(platform.ctx.warpgatesLive?.live(warpgateId)?.connections, 2)
})
