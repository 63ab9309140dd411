import test, {type ExecutionContext} from 'ava'
import type {EdgeSnapshot} from '../../platform/edge/config-source.js'
import {buildSnapshot} from '../../platform/control/edge-build.js'
import {configVersion} from '../../platform/store/config/meta.js'
import {findSessionByToken} from '../../platform/store/identity/sessions.js'
import {api} from '../helpers/api.js'
import {edgeFetch, formField, type IdentityEdge, signIn, startIdentityEdge} from '../helpers/identity-edge.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'

// The edge's snapshot is kept current by deltas (platform/control/edge-delta.ts): each feed event
// re-reads only what it can affect. This drives a random sequence of changes through the control
// API and the edge's own login and logout, and checks at intervals that the snapshot the edge
// holds equals one built from scratch. A delta that misses anything a change did shows up as a
// difference. The seed is logged; MEZU_DELTA_SEED=<n> replays a sequence.

const STEPS = 300
const CHECK_EVERY = 10
const PASSWORD = 'a long enough password'

/** mulberry32: a small seeded generator, so a failing sequence can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const byKey = <V>(m: ReadonlyMap<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * What is compared. Map order is not (the edge only looks things up); route order is (the route
 * table breaks ties by it). Sessions' last-use times are left out: the edge writes them back
 * without a feed event (a minute at a time), and keeps its own newer record of them anyway.
 */
function comparable(s: EdgeSnapshot) {
  return {
    routes: s.routes,
    policies: byKey(s.policies),
    users: byKey(s.identity.users),
    sessions: byKey(s.identity.sessions).map(([hash, {lastUsedAtMs: _used, ...rest}]) => [hash, rest] as const),
    serviceKeys: byKey(s.identity.serviceKeys),
    activeKey: s.identity.activeKey,
    publishedKeys: s.identity.publishedKeys,
  }
}

async function sameAsFullBuild(t: ExecutionContext, e: IdentityEdge, label: string): Promise<void> {
  const ctx = e.platform.ctx
  const kept = e.source.get()
  const fresh = (await buildSnapshot(ctx, kept.domain, e.port)).snapshot
  t.deepEqual(comparable(kept), comparable(fresh), `${label}: the snapshot kept by deltas differs from a full build`)
  t.is(kept.version, await configVersion(ctx.cdb), `${label}: the snapshot is at the store's version`)
}

interface ModelUser {
  id: string
  email: string
  status: 'invited' | 'active' | 'disabled'
  invite: string | null
  hasPassword: boolean
}

test('after a random sequence of changes, the snapshot kept by deltas equals one built from scratch', async (t) => {
  const seed = process.env.MEZU_DELTA_SEED ? Number(process.env.MEZU_DELTA_SEED) : Math.floor(Math.random() * 2 ** 31)
  t.log(`seed ${seed} (MEZU_DELTA_SEED=${seed} replays it)`)
  const random = generator(seed)
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[Math.floor(random() * xs.length)] : undefined)
  const chance = (p: number) => random() < p

  const e = await startIdentityEdge(t)
  const loginHost = `hello.${e.domain}`
  await e.addRoute(loginHost, '/', null)
  const p = e.platform
  const owner = (await api(p.apiUrl, e.caPem, 'POST', '/v1/sessions', {body: {email: ADMIN_EMAIL, password: ADMIN_PASSWORD}})).body.token as string
  /** changes that took effect, by operation (a pick can be refused: a name taken, a user not active) */
  const done = new Map<string, number>()
  let current = ''
  const call = async (method: string, path: string, body?: unknown, token = owner) => {
    const r = await api(p.apiUrl, e.caPem, method, path, {token, body})
    if (r.status >= 500) throw new Error(`${method} ${path} answered ${r.status}: ${r.text}`)
    if (r.status < 300 && method !== 'GET') done.set(current, (done.get(current) ?? 0) + 1)
    return r
  }

  const users: ModelUser[] = []
  const sessions: Array<{token: string; userId: string}> = []
  const routes: string[] = []
  const policies: string[] = []
  const directories: string[] = []
  const accounts: string[] = []
  const envs: string[] = [e.environmentId]
  /** emails policies were given: erasing such a user rewrites those policies under the user's event */
  const named = new Set<string>()
  const emailsFor = () => someOf(users, 2).map((u) => (named.add(u.email), u.email))
  let n = 0
  const active = () => users.filter((u) => u.status === 'active' && u.hasPassword)
  const someOf = <T>(xs: readonly T[], max: number) => xs.filter(() => chance(max / Math.max(1, xs.length)))

  const ops: Array<[weight: number, name: string, run: () => Promise<unknown>]> = [
    [6, 'create user', async () => {
      const email = `u${++n}@example.test`
      const r = await call('POST', '/v1/users', {email, directories: someOf(directories, 1)})
      if (r.status === 201) users.push({id: r.body.user.id, email, status: 'invited', invite: r.body.invite.code, hasPassword: false})
    }],
    [1, 'import users', async () => {
      const rows = [`i${++n}@example.test`, `i${++n}@example.test`].map((email) => ({email, directories: someOf(directories, 1)}))
      const r = await call('POST', '/v1/users/import', {users: rows})
      if (r.status === 201) for (const c of r.body.created) users.push({id: c.user.id, email: c.user.email, status: 'invited', invite: c.invite?.code ?? null, hasPassword: false})
    }],
    [5, 'accept invitation', async () => {
      const u = pick(users.filter((x) => x.status === 'invited' && x.invite))
      if (!u) return
      const client = chance(0.5) ? 'browser' : 'cli'
      const r = await call('POST', '/v1/invites/accept', {code: u.invite, password: PASSWORD, client})
      u.invite = null
      if (r.status !== 201) return
      Object.assign(u, {status: 'active', hasPassword: true})
      if (client === 'browser') sessions.push({token: r.body.token, userId: u.id})
    }],
    [3, 'update user', async () => {
      const u = pick(users)
      if (!u) return
      const body = chance(0.4) ? {email: `renamed${++n}@example.test`} : chance(0.5) ? {role: pick(['admin', 'member'])} : {name: `Name ${++n}`}
      const r = await call('PATCH', `/v1/users/${u.id}`, body)
      if (r.status === 200) u.email = r.body.email
    }],
    [2, 'disable user', async () => {
      const u = pick(users.filter((x) => x.status !== 'disabled'))
      if (u && (await call('POST', `/v1/users/${u.id}/disable`)).status === 200) u.status = 'disabled'
    }],
    [1, 'enable user', async () => {
      const u = pick(users.filter((x) => x.status === 'disabled'))
      if (u && (await call('POST', `/v1/users/${u.id}/enable`)).status === 200) u.status = u.hasPassword ? 'active' : 'invited'
    }],
    [2, 'erase user', async () => {
      const u = pick(chance(0.7) ? users.filter((x) => named.has(x.email)) : users)
      if (!u || (await call('DELETE', `/v1/users/${u.id}`)).status !== 200) return
      users.splice(users.indexOf(u), 1)
    }],
    [6, 'sign in at the edge', async () => {
      const u = pick(active())
      if (!u) return
      const {session} = await signIn(e, `https://${loginHost}:${e.port}/`, u.email, PASSWORD)
      sessions.push({token: session, userId: u.id})
      done.set(current, (done.get(current) ?? 0) + 1)
    }],
    [3, 'log in through the API', async () => {
      const u = pick(active())
      if (!u) return
      const client = chance(0.5) ? 'browser' : 'api'
      const r = await call('POST', '/v1/sessions', {email: u.email, password: PASSWORD, client}, '')
      if (r.status === 201 && client === 'browser') sessions.push({token: r.body.token, userId: u.id})
    }],
    [3, 'sign out at the edge', async () => {
      const s = pick(sessions)
      if (!s) return
      const cookie = {cookie: `__Host-mezu_session=${s.token}`}
      const page = await edgeFetch(e, loginHost, '/.mezu/logout', {headers: cookie})
      const csrf = formField(page.text, 'csrf')
      if (!csrf) return
      const out = await edgeFetch(e, loginHost, '/.mezu/logout', {method: 'POST', body: new URLSearchParams({csrf}).toString(), headers: {...cookie, 'content-type': 'application/x-www-form-urlencoded'}})
      if (out.status === 303) done.set(current, (done.get(current) ?? 0) + 1)
    }],
    [2, 'log out through the API', async () => {
      const s = pick(sessions)
      if (s) await call('DELETE', '/v1/sessions/current', undefined, s.token)
    }],
    [3, 'revoke a session', async () => {
      const s = pick(sessions)
      const found = s && (await findSessionByToken(p.ctx.idb, s.token))
      if (found) await call('DELETE', `/v1/sessions/${found.id}`)
    }],
    [4, 'create route', async () => {
      const r = await call('POST', '/v1/routes', {project: e.projectId, env: pick(envs), hostname: `r${++n}.${e.domain}`, service: 'echo', ...(chance(0.6) && policies.length ? {policy: pick(policies)} : {})})
      if (r.status === 201) routes.push(r.body.id)
    }],
    [4, 'update route', async () => {
      const id = pick(routes)
      if (!id) return
      const body = chance(0.4) ? {policy: chance(0.3) ? null : pick(policies) ?? null} : chance(0.5) ? {service: `svc-${++n}`} : {path: `/p${++n}`}
      await call('PATCH', `/v1/routes/${id}`, body)
    }],
    [2, 'delete route', async () => {
      const id = pick(routes)
      if (id && (await call('DELETE', `/v1/routes/${id}`)).status === 204) routes.splice(routes.indexOf(id), 1)
    }],
    [4, 'create policy', async () => {
      const allow = {emails: emailsFor(), directories: someOf(directories, 1), serviceAccounts: someOf(accounts, 1)}
      const r = await call('POST', `/v1/projects/${e.projectId}/policies`, {name: `pol${++n}`, public: chance(0.2), allow})
      if (r.status === 201) policies.push(r.body.id)
    }],
    [3, 'update policy', async () => {
      const id = pick(policies)
      if (!id) return
      const body = chance(0.5) ? {public: chance(0.5)} : {allow: {emails: emailsFor(), directories: someOf(directories, 1)}, deny: {serviceAccounts: someOf(accounts, 1)}}
      await call('PATCH', `/v1/projects/${e.projectId}/policies/${id}`, body)
    }],
    [2, 'delete policy', async () => {
      const id = pick(policies)
      if (id && (await call('DELETE', `/v1/projects/${e.projectId}/policies/${id}?force=true`)).status === 200) policies.splice(policies.indexOf(id), 1)
    }],
    [3, 'create directory', async () => {
      const parent = chance(0.5) ? pick(directories) : undefined
      const r = await call('POST', '/v1/directories', {name: `d${++n}`, ...(parent ? {parent} : {})})
      if (r.status === 201) directories.push(r.body.id)
    }],
    [2, 'rename or move directory', async () => {
      const id = pick(directories)
      if (!id) return
      await call('PATCH', `/v1/directories/${id}`, chance(0.5) ? {name: `d${++n}`} : {parent: chance(0.3) ? null : pick(directories) ?? null})
    }],
    [1, 'delete directory', async () => {
      const id = pick(directories)
      if (!id || (await call('DELETE', `/v1/directories/${id}?force=true`)).status !== 204) return
      // its subtree went with it
      const left = new Set(((await call('GET', '/v1/directories')).body.items as Array<{id: string}>).map((d) => d.id))
      directories.splice(0, directories.length, ...directories.filter((d) => left.has(d)))
    }],
    [5, 'add member', async () => {
      const id = pick(directories)
      const u = pick(users)
      if (id && u) await call('POST', `/v1/directories/${id}/members`, {email: u.email})
    }],
    [2, 'remove member', async () => {
      const id = pick(directories)
      const u = pick(users)
      if (id && u) await call('DELETE', `/v1/directories/${id}/members/${u.id}`)
    }],
    [3, 'create service account', async () => {
      const r = await call('POST', '/v1/service-accounts', {name: `sa${++n}`, scopes: ['routes:read'], ...(chance(0.3) ? {expires: '30d'} : {})})
      if (r.status === 201) accounts.push(r.body.serviceAccount.id)
    }],
    [3, 'rotate a key', async () => {
      const id = pick(accounts)
      if (id) await call('POST', `/v1/service-accounts/${id}/rotate`, chance(0.5) ? {grace: '1h'} : {})
    }],
    [1, 'revoke service account', async () => {
      const id = pick(accounts)
      if (id) await call('POST', `/v1/service-accounts/${id}/revoke`)
    }],
    [1, 'delete service account', async () => {
      const id = pick(accounts)
      if (id && (await call('DELETE', `/v1/service-accounts/${id}`)).status === 204) accounts.splice(accounts.indexOf(id), 1)
    }],
    [1, 'create environment', async () => {
      const r = await call('POST', `/v1/projects/${e.projectId}/environments`, {name: `env${++n}`})
      if (r.status === 201) envs.push(r.body.id)
    }],
    [1, 'delete environment', async () => {
      const id = pick(envs.slice(1))
      if (!id || (await call('DELETE', `/v1/projects/${e.projectId}/environments/${id}`)).status !== 204) return
      envs.splice(envs.indexOf(id), 1)
      const left = new Set(((await call('GET', `/v1/routes?project=${e.projectId}&limit=500`)).body.items as Array<{id: string}>).map((r) => r.id))
      routes.splice(0, routes.length, ...routes.filter((r) => left.has(r)))
    }],
  ]

  const total = ops.reduce((s, [w]) => s + w, 0)
  for (let step = 1; step <= STEPS; step++) {
    let x = random() * total
    const op = ops.find(([w]) => (x -= w) < 0) ?? ops[0]!
    current = op[1]
    await op[2]()
    if (step % CHECK_EVERY === 0) await sameAsFullBuild(t, e, `after step ${step} (${op[1]})`)
  }
  t.log(`changes made: ${[...done].map(([k, v]) => `${k} ×${v}`).join(', ')}`)
  const snap = e.source.get()
  // the sequence did reach every part of the snapshot
  t.true(snap.identity.sessions.size > 0 && snap.identity.serviceKeys.size > 0 && snap.routes.length > 1 && snap.policies.size > 0, 'the sequence built something to compare')
})
