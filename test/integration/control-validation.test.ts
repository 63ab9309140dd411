import anyTest, {type TestFn} from 'ava'
import {api, type HttpResult, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {hookScope} from '../helpers/shared.js'

const BODY_LIMIT = 8 * 1024
const test = anyTest as TestFn<{p: TestPlatform; token: string}>
const scope = hookScope()

test.before(async (t) => {
  const p = await startTestPlatform(scope.t, {apiBodyLimitBytes: BODY_LIMIT})
  const token = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const r = await api(p.apiUrl, p.caPem, 'POST', '/v1/projects', {token, body: {name: 'existing'}})
  if (r.status !== 201) throw new Error(r.text)
  t.context = {p, token}
})
test.after.always(() => scope.dispose())

type Opts = Parameters<typeof api>[4]
const call = (t: {context: {p: TestPlatform; token: string}}, method: string, path: string, opts: Opts = {}) =>
  api(t.context.p.apiUrl, t.context.p.caPem, method, path, {token: t.context.token, ...opts})

/** The one error shape: {error: {code, message[, field]}} and nothing else. */
function isError(t: any, r: HttpResult, status: number, code: string, field?: string) {
  t.is(r.status, status, r.text)
  t.regex(String(r.headers['content-type']), /^application\/json/)
  t.deepEqual(Object.keys(r.body), ['error'])
  t.is(r.body.error.code, code)
  t.is(typeof r.body.error.message, 'string')
  t.true(r.body.error.message.length > 0)
  t.deepEqual(Object.keys(r.body.error).sort(), field === undefined ? ['code', 'message'] : ['code', 'field', 'message'])
  if (field !== undefined) {
    t.is(r.body.error.field, field)
    t.true(r.body.error.message.includes(field), `the message names ${field}: ${r.body.error.message}`)
  }
  t.false(r.text.includes('    at '), 'no stack trace')
}

async function noProjectCreated(t: any) {
  const list = await call(t, 'GET', '/v1/projects')
  t.deepEqual(list.body.items.map((p: any) => p.name), ['existing'], 'nothing was created')
}

test('refuses a body that is not JSON with 400', async (t) => {
  isError(t, await call(t, 'POST', '/v1/projects', {raw: '{"name": "shop",'}), 400, 'invalid_request')
  isError(t, await call(t, 'POST', '/v1/projects', {raw: 'name=shop'}), 400, 'invalid_request')
  isError(t, await call(t, 'POST', '/v1/projects', {raw: ''}), 400, 'invalid_request')
  isError(t, await call(t, 'POST', '/v1/projects', {raw: '{"name": "proto", "__proto__": {"admin": true}}'}), 400, 'invalid_request')
  isError(t, await call(t, 'POST', '/v1/projects', {raw: '{"name": "proto", "constructor": {"prototype": {"admin": true}}}'}), 400, 'invalid_request')
  await noProjectCreated(t)
})

test('refuses wrong types, naming the field', async (t) => {
  isError(t, await call(t, 'POST', '/v1/projects', {body: {name: 123}}), 400, 'invalid_request', 'name')
  isError(t, await call(t, 'POST', '/v1/projects', {body: {name: 'ok', description: ['a']}}), 400, 'invalid_request', 'description')
  isError(t, await call(t, 'POST', '/v1/projects', {body: ['name']}), 400, 'invalid_request')
  isError(t, await call(t, 'POST', '/v1/projects', {body: 'shop'}), 400, 'invalid_request')
  isError(t, await call(t, 'POST', '/v1/projects', {body: null}), 400, 'invalid_request')
  isError(t, await call(t, 'POST', '/v1/projects', {body: {name: 'has space'}}), 400, 'invalid_request', 'name')
  isError(t, await call(t, 'POST', '/v1/projects', {body: {name: 'x'.repeat(64)}}), 400, 'invalid_request', 'name')
  isError(t, await call(t, 'POST', '/v1/service-accounts', {body: {name: 'sa', scopes: 'projects:read'}}), 400, 'invalid_request', 'scopes')
  isError(t, await call(t, 'POST', '/v1/service-accounts', {body: {name: 'sa', scopes: [7]}}), 400, 'invalid_request', 'scopes.0')
  isError(t, await call(t, 'POST', '/v1/sessions', {token: undefined, body: {email: ADMIN_EMAIL, password: 12345678}}), 400, 'invalid_request', 'password')
  await noProjectCreated(t)
})

test('refuses missing fields, naming them', async (t) => {
  isError(t, await call(t, 'POST', '/v1/projects', {body: {}}), 400, 'invalid_request', 'name')
  isError(t, await call(t, 'POST', '/v1/projects', {body: {description: 'no name'}}), 400, 'invalid_request', 'name')
  isError(t, await call(t, 'POST', '/v1/projects/existing/environments', {body: {}}), 400, 'invalid_request', 'name')
  isError(t, await call(t, 'POST', '/v1/sessions', {token: undefined, body: {email: ADMIN_EMAIL}}), 400, 'invalid_request', 'password')
  isError(t, await call(t, 'PATCH', '/v1/projects/existing', {body: {}}), 400, 'invalid_request')
  await noProjectCreated(t)
})

test('refuses unknown fields, naming them, rather than ignoring them', async (t) => {
  isError(t, await call(t, 'POST', '/v1/projects', {body: {name: 'shop', owner: 'me'}}), 400, 'invalid_request', 'owner')
  isError(t, await call(t, 'PATCH', '/v1/projects/existing', {body: {name: 'renamed', id: 'prj_00000000000000000000'}}), 400, 'invalid_request', 'id')
  isError(t, await call(t, 'POST', '/v1/sessions', {token: undefined, body: {email: ADMIN_EMAIL, password: ADMIN_PASSWORD, role: 'owner'}}), 400, 'invalid_request', 'role')
  isError(t, await call(t, 'GET', '/v1/projects?sort=name'), 400, 'invalid_request', 'sort')
  isError(t, await call(t, 'DELETE', '/v1/projects/existing?force=yes'), 400, 'invalid_request', 'force')
  await noProjectCreated(t)
  t.is((await call(t, 'GET', '/v1/projects/existing')).body.name, 'existing')
})

test('refuses a body over the limit with 413', async (t) => {
  const big = JSON.stringify({name: 'big', description: 'x'.repeat(BODY_LIMIT)})
  isError(t, await call(t, 'POST', '/v1/projects', {raw: big}), 413, 'payload_too_large')
  isError(t, await call(t, 'POST', '/v1/sessions', {token: undefined, raw: big}), 413, 'payload_too_large')
  await noProjectCreated(t)
})

test('refuses a body that is not declared as JSON with 415', async (t) => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    isError(t, await call(t, 'POST', '/v1/projects', {raw: '{"name":"shop"}', headers: {'content-type': type}}), 415, 'unsupported_media_type')
  }
  await noProjectCreated(t)
})

test('refuses a bad cursor or limit, naming it', async (t) => {
  isError(t, await call(t, 'GET', '/v1/projects?cursor=not-a-cursor'), 400, 'invalid_request', 'cursor')
  isError(t, await call(t, 'GET', `/v1/projects?cursor=${Buffer.from('1:prj_zz').toString('base64url')}`), 400, 'invalid_request', 'cursor')
  isError(t, await call(t, 'GET', '/v1/projects?limit=0'), 400, 'invalid_request', 'limit')
  isError(t, await call(t, 'GET', '/v1/projects?limit=abc'), 400, 'invalid_request', 'limit')
  isError(t, await call(t, 'GET', '/v1/projects?limit=-1'), 400, 'invalid_request', 'limit')
  isError(t, await call(t, 'GET', '/v1/projects?limit=100000'), 400, 'invalid_request', 'limit')
  isError(t, await call(t, 'GET', '/v1/audit?limit=0'), 400, 'invalid_request', 'limit')
  isError(t, await call(t, 'GET', '/v1/audit?cursor=xyz'), 400, 'invalid_request', 'cursor')
})

test('pages through a list with limit and cursor, without repeats', async (t) => {
  for (const name of ['page-a', 'page-b', 'page-c']) t.is((await call(t, 'POST', '/v1/projects/existing/environments', {body: {name}})).status, 201)
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const r: HttpResult = await call(t, 'GET', `/v1/projects/existing/environments?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    t.is(r.status, 200)
    t.true(r.body.items.length <= 2)
    seen.push(...r.body.items.map((e: any) => e.name))
    cursor = r.body.nextCursor
    pages++
  } while (cursor && pages < 10)
  t.deepEqual(seen.sort(), ['page-a', 'page-b', 'page-c'])
  t.is(pages, 2)
})

test('an unknown endpoint is a 404 in the same shape', async (t) => {
  isError(t, await call(t, 'GET', '/v1/no-such-thing'), 404, 'not_found')
  isError(t, await call(t, 'PUT', '/v1/projects'), 404, 'not_found')
  isError(t, await call(t, 'GET', '/nope'), 404, 'not_found')
  isError(t, await call(t, 'GET', '/v1/projects/nope'), 404, 'not_found')
})

test('no token or a bad one is a 401 with WWW-Authenticate', async (t) => {
  for (const headers of [{}, {authorization: 'Basic dXNlcjpwYXNz'}, {authorization: 'Bearer nonsense-token'}, {authorization: 'Bearer mezu_sess_' + 'a'.repeat(43)}, {authorization: 'Bearer mezu_sa_' + 'a'.repeat(43)}] as Array<Record<string, string>>) {
    const r = await api(t.context.p.apiUrl, t.context.p.caPem, 'GET', '/v1/projects', {headers})
    isError(t, r, 401, 'unauthenticated')
    t.regex(String(r.headers['www-authenticate']), /^Bearer /)
  }
  const unknown = await api(t.context.p.apiUrl, t.context.p.caPem, 'GET', '/v1/no-such-thing')
  t.is(unknown.status, 401, 'an anonymous caller learns nothing about which endpoints exist')
  const post = await api(t.context.p.apiUrl, t.context.p.caPem, 'POST', '/v1/projects', {body: {name: 'anon'}})
  isError(t, post, 401, 'unauthenticated')
  await noProjectCreated(t)
})
