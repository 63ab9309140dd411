import test from 'ava'
import {createLocalJWKSet, jwtVerify} from 'jose'
import {bumpConfigVersion} from '../../platform/store/config/meta.js'
import {transaction} from '../../platform/store/db.js'
import {createServiceAccount, revokeServiceAccount} from '../../platform/store/identity/service-accounts.js'
import {edgeFetch, fileScope, startIdentityEdge, type IdentityEdge} from '../helpers/identity-edge.js'

let e: IdentityEdge
let host: string
let ciKey: string
let ciId: string
let outsiderKey: string
const scope = fileScope()
test.after.always(() => scope.close())
test.before(async () => {
  e = await startIdentityEdge(scope.t)
  const idb = e.platform.ctx.idb
  const ci = await createServiceAccount(idb, {name: 'ci-deploy', scopes: [], projectId: null, expiresAt: null, createdBy: null})
  ciKey = ci.apiKey
  ciId = ci.account.id
  const outsider = await createServiceAccount(idb, {name: 'outsider', scopes: [], projectId: null, expiresAt: null, createdBy: null})
  outsiderKey = outsider.apiKey
  // written straight to the store, so announced as the service-accounts API does: the edge's snapshot follows the feed
  await e.published('service-account', ciId, 'created')
  await e.published('service-account', outsider.account.id, 'created')
  const policy = await e.addPolicy('ci-only', {allow: {serviceAccounts: [ciId]}})
  host = `svc.${e.domain}`
  await e.addRoute(host, '/', policy.id)
  await e.addRoute(`anyuser.${e.domain}`, '/', null)
})

const withToken = (token: string, extra: Record<string, string> = {}) => ({headers: {'Mezu-Service-Token': token, ...extra}})

test('a service account named by the policy reaches the route, and the origin sees who it is but not the key', async (t) => {
  const r = await edgeFetch(e, host, '/deploy', withToken(ciKey))
  t.is(r.status, 200)
  const h = r.json.headers
  t.is(h['mezu-user-id'], ciId)
  t.is(h['mezu-user-email'], 'ci-deploy')
  t.is(h['mezu-service-token'], undefined)
  t.false(JSON.stringify(r.json).includes(ciKey))
  const jwks = (await edgeFetch(e, `auth.${e.domain}`, '/.well-known/jwks.json')).json
  const {payload} = await jwtVerify(h['mezu-jwt-assertion'], createLocalJWKSet(jwks), {audience: host, issuer: `https://auth.${e.domain}`})
  t.is(payload.sub, ciId)
  t.is(payload.name, 'ci-deploy')
  t.is(payload.kind, 'service')
})

test('a valid key outside the policy gets 403', async (t) => {
  const r = await edgeFetch(e, host, '/', withToken(outsiderKey))
  t.is(r.status, 403)
  t.is(r.json.error.code, 'forbidden')
  t.deepEqual(r.json.error.reasons, ['user-unauthorized'])
})

test('a service account on a route whose policy is "any signed-in user" gets 403', async (t) => {
  t.is((await edgeFetch(e, `anyuser.${e.domain}`, '/', withToken(ciKey))).status, 403)
})

test('an unknown key gets 401 with WWW-Authenticate', async (t) => {
  const r = await edgeFetch(e, host, '/', withToken('mezu_sa_not-a-real-key-at-all'))
  t.is(r.status, 401)
  t.regex(String(r.headers['www-authenticate']), /error="invalid_token"/)
  t.is(r.json.error.code, 'invalid_service_token')
})

test('an expired key gets 401', async (t) => {
  const expired = await createServiceAccount(e.platform.ctx.idb, {name: 'expired', scopes: [], projectId: null, expiresAt: Date.now() - 1000, createdBy: null})
  await e.published('service-account', expired.account.id, 'created')
  const r = await edgeFetch(e, host, '/', withToken(expired.apiKey))
  t.is(r.status, 401)
  t.regex(r.json.error.message, /expired/)
})

test('a revoked key gets 401 as soon as the revocation is published', async (t) => {
  const doomed = await createServiceAccount(e.platform.ctx.idb, {name: 'doomed', scopes: [], projectId: null, expiresAt: null, createdBy: null})
  await e.published('service-account', doomed.account.id, 'created')
  const p = await e.addPolicy('doomed-only', {allow: {serviceAccounts: [doomed.account.id]}})
  await e.addRoute(`doomed.${e.domain}`, '/', p.id)
  t.is((await edgeFetch(e, `doomed.${e.domain}`, '/', withToken(doomed.apiKey))).status, 200)
  const version = await transaction(e.platform.ctx.cdb, () => bumpConfigVersion(e.platform.ctx.cdb))
  await revokeServiceAccount(e.platform.ctx.idb, doomed.account.id)
  await e.platform.ctx.feed.publish({version, kind: 'service-account', id: doomed.account.id, action: 'revoked'})
  const r = await edgeFetch(e, `doomed.${e.domain}`, '/', withToken(doomed.apiKey))
  t.is(r.status, 401)
  t.regex(r.json.error.message, /revoked/)
})

test('a service token is never accepted as a session cookie, nor a session-looking cookie as a key', async (t) => {
  const r = await edgeFetch(e, host, '/', {headers: {cookie: `__Host-mezu_session=${ciKey}`, accept: 'application/json'}})
  t.is(r.status, 401)
  t.is(r.json.error.code, 'unauthenticated')
})
