import test from 'ava'
import type {Route} from '../../src/lib/api-types/index.js'
import type {EdgeSnapshot} from '../../platform/edge/config-source.js'
import type {EdgeSigningKey, EdgeUser} from '../../platform/edge/identity-snapshot.js'
import {applyDelta, decodeSnapshot, diffSnapshots, encodeSnapshot, isEmptyDelta} from '../../platform/edge/remote/wire.js'

const route = (id: string, hostname: string): Route => ({
  id, projectId: 'prj_1', environmentId: 'env_1', hostname, pathPrefix: '/', service: 's', policyId: null,
  bodyLimitBytes: null, rateLimitPerMinute: null, url: `https://${hostname}`, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
})
const user = (id: string, email: string): EdgeUser => ({id, email, status: 'active', directoryIds: [], directoryPaths: []})
const controlKey: EdgeSigningKey = {kid: 'sk_control', publicJwk: {kty: 'OKP', x: 'pub'}, privateJwk: {kty: 'OKP', x: 'pub', d: 'SECRET'}}
const edgeKey: EdgeSigningKey = {kid: 'edk_mine', publicJwk: {kty: 'OKP', x: 'mine'}, privateJwk: {kty: 'OKP', x: 'mine', d: 'MINE'}}

function snapshot(version: number, routes: Route[], users: EdgeUser[]): EdgeSnapshot {
  return {
    version, domain: 'mezu.test', routes, policies: new Map(),
    identity: {users: new Map(users.map((u) => [u.id, u])), sessions: new Map(), serviceKeys: new Map(), activeKey: controlKey, publishedKeys: [controlKey]},
  }
}

test('a snapshot on the wire carries no private key, and the edge signs with and publishes its own', (t) => {
  const wire = encodeSnapshot(snapshot(3, [route('r1', 'a.mezu.test')], []))
  t.false(JSON.stringify(wire).includes('SECRET'))
  const s = decodeSnapshot(JSON.parse(JSON.stringify(wire)), edgeKey)
  t.is(s.identity.activeKey, edgeKey)
  t.deepEqual(s.identity.publishedKeys.map((k) => k.kid), ['sk_control', 'edk_mine'])
})

test('a delta sends only what changed (by object identity) and brings the copy level, order and removals included', (t) => {
  const r1 = route('r1', 'a.mezu.test')
  const r2 = route('r2', 'b.mezu.test')
  const u1 = user('usr_1', 'one@example.test')
  const u2 = user('usr_2', 'two@example.test')
  const before = snapshot(1, [r1, r2], [u1, u2])
  const r3 = route('r3', 'c.mezu.test')
  const u2b = {...u2, status: 'disabled' as const}
  const after: EdgeSnapshot = {...snapshot(2, [r3, r2], [u1, u2b]), policies: before.policies}
  const d = diffSnapshots(before, after)
  t.deepEqual(d.routes, {upsert: [r3], remove: ['r1'], order: ['r3', 'r2']})
  t.deepEqual(d.users, {upsert: [u2b], remove: []})
  t.is(d.policies, undefined, 'the same map is not sent')
  const copy = applyDelta(decodeSnapshot(encodeSnapshot(before), edgeKey), JSON.parse(JSON.stringify(d)), edgeKey)
  const {publishedKeys, ...rest} = encodeSnapshot(copy)
  const {publishedKeys: _, ...want} = JSON.parse(JSON.stringify(encodeSnapshot(after)))
  t.deepEqual(rest, want)
  t.deepEqual(publishedKeys.map((k) => k.kid), ['sk_control', 'edk_mine'], 'the control plane\'s keys, and its own')
  t.true(isEmptyDelta(diffSnapshots(after, {...after, version: 3})))
})

test('a delta that does not start where the copy is, or orders a route it does not carry, is refused', (t) => {
  const base = decodeSnapshot(encodeSnapshot(snapshot(5, [], [])), edgeKey)
  t.throws(() => applyDelta(base, {from: 4, to: 6}, edgeKey), {message: /from version 4 does not apply to version 5/})
  t.throws(() => applyDelta(base, {from: 5, to: 6, routes: {upsert: [], remove: [], order: ['r9']}}, edgeKey), {message: /orders route r9/})
})
