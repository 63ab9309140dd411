import type {Policy, Route} from '../../../src/lib/api-types/index.js'
import type {EdgeSnapshot} from '../config-source.js'
import type {EdgeServiceKey, EdgeSession, EdgeSigningKey, EdgeUser} from '../identity-snapshot.js'

/**
 * The edge snapshot on the wire between the control plane and a remote edge: JSON, maps as entry
 * lists. It never carries a private signing key: a remote edge signs with its own key, and the
 * control plane's active key stays in its process.
 */
export interface WireSnapshot {
  version: number
  domain: string
  routes: Route[]
  policies: Policy[]
  users: EdgeUser[]
  sessions: Array<[string, EdgeSession]>
  serviceKeys: Array<[string, EdgeServiceKey]>
  publishedKeys: EdgeSigningKey[]
}

/** What changed between two snapshots, keyed like the snapshot's maps. */
export interface WireDelta {
  from: number
  to: number
  domain?: string
  /** changed or new routes, removed ids, and the full order by id whenever anything changed (the edge matches routes in this order) */
  routes?: {upsert: Route[]; remove: string[]; order: string[]}
  policies?: {upsert: Policy[]; remove: string[]}
  users?: {upsert: EdgeUser[]; remove: string[]}
  sessions?: {upsert: Array<[string, EdgeSession]>; remove: string[]}
  serviceKeys?: {upsert: Array<[string, EdgeServiceKey]>; remove: string[]}
  publishedKeys?: EdgeSigningKey[]
}

const publicKey = (k: EdgeSigningKey): EdgeSigningKey => ({kid: k.kid, publicJwk: k.publicJwk})

export function encodeSnapshot(s: EdgeSnapshot): WireSnapshot {
  return {
    version: s.version,
    domain: s.domain,
    routes: [...s.routes],
    policies: [...s.policies.values()],
    users: [...s.identity.users.values()],
    sessions: [...s.identity.sessions],
    serviceKeys: [...s.identity.serviceKeys],
    publishedKeys: s.identity.publishedKeys.map(publicKey),
  }
}

/** The snapshot a remote edge serves, signing with its own key (which it also publishes). */
export function decodeSnapshot(w: WireSnapshot, ownKey: EdgeSigningKey): EdgeSnapshot {
  return Object.freeze({
    version: w.version,
    domain: w.domain,
    routes: Object.freeze(w.routes),
    policies: new Map(w.policies.map((p) => [p.id, p])),
    identity: {
      users: new Map(w.users.map((u) => [u.id, u])),
      sessions: new Map(w.sessions),
      serviceKeys: new Map(w.serviceKeys),
      activeKey: ownKey,
      publishedKeys: withOwnKey(w.publishedKeys, ownKey),
    },
  })
}

function withOwnKey(keys: readonly EdgeSigningKey[], own: EdgeSigningKey): EdgeSigningKey[] {
  return keys.some((k) => k.kid === own.kid) ? [...keys] : [...keys, publicKey(own)]
}

/**
 * The difference between two snapshots of one StoreConfigSource. Its deltas copy only the maps a
 * change touched and keep every unchanged value object, so a map that is the same object is
 * skipped whole and within a changed map only values that are other objects are sent.
 */
export function diffSnapshots(prev: EdgeSnapshot, next: EdgeSnapshot): WireDelta {
  const d: WireDelta = {from: prev.version, to: next.version}
  if (prev.domain !== next.domain) d.domain = next.domain
  if (prev.routes !== next.routes) {
    const before = new Map(prev.routes.map((r) => [r.id, r]))
    const ids = new Set(next.routes.map((r) => r.id))
    d.routes = {
      upsert: next.routes.filter((r) => before.get(r.id) !== r),
      remove: [...before.keys()].filter((id) => !ids.has(id)),
      order: next.routes.map((r) => r.id),
    }
  }
  if (prev.policies !== next.policies) d.policies = diffMap(prev.policies, next.policies, (k, v) => v)
  const a = prev.identity
  const b = next.identity
  if (a.users !== b.users) d.users = diffMap(a.users, b.users, (k, v) => v)
  if (a.sessions !== b.sessions) d.sessions = diffMap(a.sessions, b.sessions, (k, v): [string, EdgeSession] => [k, v])
  if (a.serviceKeys !== b.serviceKeys) d.serviceKeys = diffMap(a.serviceKeys, b.serviceKeys, (k, v): [string, EdgeServiceKey] => [k, v])
  if (a.publishedKeys !== b.publishedKeys) d.publishedKeys = b.publishedKeys.map(publicKey)
  return d
}

function diffMap<V, W>(before: ReadonlyMap<string, V>, after: ReadonlyMap<string, V>, entry: (k: string, v: V) => W): {upsert: W[]; remove: string[]} {
  const upsert: W[] = []
  const remove: string[] = []
  for (const [k, v] of after) if (before.get(k) !== v) upsert.push(entry(k, v))
  for (const k of before.keys()) if (!after.has(k)) remove.push(k)
  return {upsert, remove}
}

/** Does this delta carry nothing but a new version? */
export function isEmptyDelta(d: WireDelta): boolean {
  return Object.keys(d).every((k) => k === 'from' || k === 'to')
}

/** Applies a delta to the snapshot it was made from; throws when the versions do not line up (the caller resyncs). */
export function applyDelta(s: EdgeSnapshot, d: WireDelta, ownKey: EdgeSigningKey): EdgeSnapshot {
  if (d.from !== s.version) throw new Error(`a delta from version ${d.from} does not apply to version ${s.version}`)
  let routes = s.routes
  if (d.routes) {
    const byId = new Map(s.routes.map((r) => [r.id, r]))
    for (const id of d.routes.remove) byId.delete(id)
    for (const r of d.routes.upsert) byId.set(r.id, r)
    const ordered: Route[] = []
    for (const id of d.routes.order) {
      const r = byId.get(id)
      if (!r) throw new Error(`the delta orders route ${id}, which it does not carry`)
      ordered.push(r)
    }
    routes = Object.freeze(ordered)
  }
  const id = s.identity
  return Object.freeze({
    version: d.to,
    domain: d.domain ?? s.domain,
    routes,
    policies: d.policies ? patch(s.policies, d.policies.upsert.map((p): [string, Policy] => [p.id, p]), d.policies.remove) : s.policies,
    identity: {
      users: d.users ? patch(id.users, d.users.upsert.map((u): [string, EdgeUser] => [u.id, u]), d.users.remove) : id.users,
      sessions: d.sessions ? patch(id.sessions, d.sessions.upsert, d.sessions.remove) : id.sessions,
      serviceKeys: d.serviceKeys ? patch(id.serviceKeys, d.serviceKeys.upsert, d.serviceKeys.remove) : id.serviceKeys,
      activeKey: ownKey,
      publishedKeys: d.publishedKeys ? withOwnKey(d.publishedKeys, ownKey) : id.publishedKeys,
    },
  })
}

function patch<V>(base: ReadonlyMap<string, V>, upsert: ReadonlyArray<[string, V]>, remove: readonly string[]): ReadonlyMap<string, V> {
  const m = new Map(base)
  for (const k of remove) m.delete(k)
  for (const [k, v] of upsert) m.set(k, v)
  return m
}
