import test from 'ava'
import {bumpConfigVersion} from '../../platform/store/config/meta.js'
import {transaction} from '../../platform/store/db.js'
import {findSessionByToken} from '../../platform/store/identity/sessions.js'
import {createUser, deleteUserRow, updateUser} from '../../platform/store/identity/users.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, type TestPlatform} from '../helpers/platform.js'
import {api, loginToken} from '../helpers/api.js'
import {edgeFetch, signIn, startIdentityEdge, type IdentityEdge, waitFor} from '../helpers/identity-edge.js'

const PASSWORD = 'a long enough password'

async function addUser(p: TestPlatform, email: string): Promise<string> {
  return (await createUser(p.ctx.idb, {email, name: email, role: 'member', status: 'active', passwordHash: await p.ctx.stores.passwords.hash(PASSWORD)})).id
}

/** What the users API does on disable/delete (that API is another module): write, bump, publish after commit. */
async function userChanged(p: TestPlatform, id: string, action: 'updated' | 'deleted', write: () => Promise<unknown>): Promise<void> {
  const version = await transaction(p.ctx.cdb, () => bumpConfigVersion(p.ctx.cdb))
  await write()
  await p.ctx.feed.publish({version, kind: 'user', id, action})
}

async function signedIn(e: IdentityEdge, email: string): Promise<{cookie: Record<string, string>}> {
  const {session, final} = await signIn(e, `https://hello.${e.domain}:${e.port}/`, email, PASSWORD)
  if (final.status !== 200) throw new Error(`expected the origin, got ${final.status}`)
  return {cookie: {cookie: `__Host-mezu_session=${session}`}}
}

const refused = (e: IdentityEdge, cookie: Record<string, string>) => async () => (await edgeFetch(e, `hello.${e.domain}`, '/', {headers: cookie})).status === 302

// The stand-in could hold its snapshot back to show that the feed event alone revokes; the real
// edge brings its snapshot up to date on every feed event, so the two ways tested here are the two ways a
// change reaches it: a store write published by hand (what the users module does) and the owner's
// control API end to end.
for (const viaApi of [false, true]) {
  const how = viaApi ? ' (through the owner\'s control API)' : ''

  test(`revoking a session through the API takes effect at the edge within a second${how}`, async (t) => {
    const e = await startIdentityEdge(t)
    await e.addRoute(`hello.${e.domain}`, '/', null)
    await addUser(e.platform, 'carol@example.test')
    const {cookie} = await signedIn(e, 'carol@example.test')
    const token = cookie.cookie.split('=')[1]!
    if (viaApi) {
      const owner = await loginToken(e.platform.apiUrl, e.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
      const id = (await findSessionByToken(e.platform.ctx.idb, token))!.id
      t.is((await api(e.platform.apiUrl, e.caPem, 'DELETE', `/v1/sessions/${id}`, {token: owner})).status, 204)
    } else {
      const del = await api(e.platform.apiUrl, e.caPem, 'DELETE', '/v1/sessions/current', {token})
      t.is(del.status, 204)
    }
    await t.notThrowsAsync(waitFor(refused(e, cookie), 1000))
  })

  test(`disabling a user ends their edge sessions within a second${how}`, async (t) => {
    const e = await startIdentityEdge(t)
    await e.addRoute(`hello.${e.domain}`, '/', null)
    const id = await addUser(e.platform, 'dave@example.test')
    const {cookie} = await signedIn(e, 'dave@example.test')
    t.is((await edgeFetch(e, `hello.${e.domain}`, '/', {headers: cookie})).status, 200)
    if (viaApi) {
      const owner = await loginToken(e.platform.apiUrl, e.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
      t.is((await api(e.platform.apiUrl, e.caPem, 'POST', `/v1/users/${id}/disable`, {token: owner})).status, 200)
    } else {
      await userChanged(e.platform, id, 'updated', () => updateUser(e.platform.ctx.idb, id, {status: 'disabled'}))
    }
    await t.notThrowsAsync(waitFor(refused(e, cookie), 1000))
  })

  test(`deleting a user ends their edge sessions within a second${how}`, async (t) => {
    const e = await startIdentityEdge(t)
    await e.addRoute(`hello.${e.domain}`, '/', null)
    const id = await addUser(e.platform, 'erin@example.test')
    const {cookie} = await signedIn(e, 'erin@example.test')
    if (viaApi) {
      const owner = await loginToken(e.platform.apiUrl, e.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
      t.is((await api(e.platform.apiUrl, e.caPem, 'DELETE', `/v1/users/${id}`, {token: owner})).status, 200)
    } else {
      await userChanged(e.platform, id, 'deleted', () => deleteUserRow(e.platform.ctx.idb, id))
    }
    await t.notThrowsAsync(waitFor(refused(e, cookie), 1000))
  })
}

test('a session stays valid across snapshot rebuilds and for other users\' changes', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  await addUser(e.platform, 'frank@example.test')
  const other = await addUser(e.platform, 'grace@example.test')
  const {cookie} = await signedIn(e, 'frank@example.test')
  await userChanged(e.platform, other, 'updated', () => updateUser(e.platform.ctx.idb, other, {status: 'disabled'}))
  await e.source.refresh() // one more snapshot, built in full
  const r = await edgeFetch(e, `hello.${e.domain}`, '/', {headers: cookie})
  t.is(r.status, 200)
  t.is(r.json.headers['mezu-user-email'], 'frank@example.test')
})

test('a session idle for longer than the inactivity timeout is refused', async (t) => {
  const e = await startIdentityEdge(t, {sessionIdleMs: 60_000})
  await e.addRoute(`hello.${e.domain}`, '/', null)
  await addUser(e.platform, 'heidi@example.test')
  const {cookie} = await signedIn(e, 'heidi@example.test')
  const token = cookie.cookie.split('=')[1]!
  // the identity module takes its clock at construction; ask it directly with a later clock
  const {EdgeIdentity} = await import('../../platform/edge/identity.js')
  const {createEdgeAuthority} = await import('../../platform/control/edge-identity.js')
  const later = new EdgeIdentity(e.source, createEdgeAuthority(e.platform.ctx), e.platform.ctx.feed, {sessionIdleMs: 60_000}, () => Date.now() + 61_000)
  t.teardown(() => later.close())
  await e.source.refresh()
  t.like(later.bySessionToken(token), {kind: 'invalid', reason: 'idle'})
  const sameTime = new EdgeIdentity(e.source, createEdgeAuthority(e.platform.ctx), e.platform.ctx.feed, {sessionIdleMs: 60_000})
  t.teardown(() => sameTime.close())
  t.is(sameTime.bySessionToken(token).kind, 'user')
})

test('the edge writes session use back, so the idle timeout is kept across restarts', async (t) => {
  const e = await startIdentityEdge(t)
  await e.addRoute(`hello.${e.domain}`, '/', null)
  await addUser(e.platform, 'ivan@example.test')
  const {cookie} = await signedIn(e, 'ivan@example.test')
  const token = cookie.cookie.split('=')[1]!
  const {EdgeIdentity} = await import('../../platform/edge/identity.js')
  const {createEdgeAuthority} = await import('../../platform/control/edge-identity.js')
  const before = (await findSessionByToken(e.platform.ctx.idb, token))!.lastUsedAtMs
  await e.source.refresh() // a fresh identity module sees the session through the snapshot, not the login cache
  const later = Date.now() + 120_000
  const id = new EdgeIdentity(e.source, createEdgeAuthority(e.platform.ctx), e.platform.ctx.feed, {sessionIdleMs: 86_400_000}, () => later)
  t.is(id.bySessionToken(token).kind, 'user')
  await id.flush()
  id.close()
  const after = (await findSessionByToken(e.platform.ctx.idb, token))!.lastUsedAtMs
  t.true(before < later)
  t.is(after, later)
})
