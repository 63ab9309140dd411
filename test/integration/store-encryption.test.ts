import {randomBytes} from 'node:crypto'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {createUser} from '../../platform/store/identity/users.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, type TestPlatform} from '../helpers/platform.js'

const hex = () => randomBytes(12).toString('hex')

/** Every file under dir (db, -wal, -shm, keys, anything), with its bytes. */
function readAll(dir: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...readAll(p))
    else out.push([p, readFileSync(p)])
  }
  return out
}

/** The forms a plaintext could take on disk: UTF-8 and UTF-16 (both byte orders), as given, lower and upper case. */
function forms(value: string): Buffer[] {
  const out: Buffer[] = []
  for (const v of new Set([value, value.toLowerCase(), value.toUpperCase()])) {
    out.push(Buffer.from(v, 'utf8'), Buffer.from(v, 'utf16le'), Buffer.from(v, 'utf16le').swap16())
  }
  return out
}

function assertNoPlaintext(t: any, dir: string, secrets: Record<string, string>, when: string) {
  const files = readAll(dir)
  t.true(files.some(([p]) => p.endsWith('identity.db')) && files.some(([p]) => p.endsWith('config.db')), 'the stores are there')
  for (const [path, bytes] of files) {
    for (const [what, value] of Object.entries(secrets)) {
      for (const form of forms(value)) t.false(bytes.includes(form), `${when}: ${what} appears in ${path}`)
    }
  }
}

async function populate(p: TestPlatform) {
  const v = {
    email: `u${hex()}@example.test`,
    userName: `name-${hex()}`,
    password: `pw-${hex()}`,
    projectName: `p${hex()}`,
    description: `desc-${hex()}`,
    envName: `e${hex()}`,
    accountName: `sa${hex()}`,
    accountDescription: `sa-desc-${hex()}`,
    userAgent: `agent-${hex()}`,
  }
  const call = (method: string, path: string, token: string | undefined, body?: unknown, headers?: Record<string, string>) => api(p.apiUrl, p.caPem, method, path, {token, body, headers})
  await createUser(p.ctx.idb, {email: v.email, name: v.userName, role: 'admin', status: 'active', passwordHash: await p.ctx.stores.passwords.hash(v.password)})
  const login = await call('POST', '/v1/sessions', undefined, {email: v.email, password: v.password}, {'user-agent': v.userAgent})
  if (login.status !== 201) throw new Error(login.text)
  const token = login.body.token as string
  const project = await call('POST', '/v1/projects', token, {name: v.projectName, description: v.description})
  const env = await call('POST', `/v1/projects/${v.projectName}/environments`, token, {name: v.envName})
  const sa = await call('POST', '/v1/service-accounts', token, {name: v.accountName, description: v.accountDescription, scopes: ['projects:read'], project: v.projectName})
  if (project.status !== 201 || env.status !== 201 || sa.status !== 201) throw new Error(project.text + env.text + sa.text)
  return {values: v, token, apiKey: sa.body.apiKey as string, projectId: project.body.id as string}
}

test('no plaintext of a user, a project, an environment or a service account is in any file of the data directory', async (t) => {
  const p = await startTestPlatform(t)
  const {values, token, apiKey} = await populate(p)
  // tokens and keys are kept only as keyed hashes
  const secrets = {...values, sessionToken: token, apiKey, sessionSecret: token.slice('mezu_sess_'.length), apiKeySecret: apiKey.slice('mezu_sa_'.length)}
  // while running, the WAL and shared-memory files hold the newest pages
  assertNoPlaintext(t, p.config.dataDir, secrets, 'running')
  await p.stop()
  assertNoPlaintext(t, p.config.dataDir, secrets, 'stopped')
  // the search is real: the values are findable in the forms it looks for
  const probe = Buffer.concat([Buffer.from('x'), Buffer.from(values.email.toUpperCase(), 'utf16le')])
  t.true(forms(values.email).some((f) => probe.includes(f)))
})

test('a restart keeps every user, project, environment, session and key', async (t) => {
  const p = await startTestPlatform(t)
  const {values, token, apiKey, projectId} = await populate(p)
  const p2 = await p.restart()
  const call = (method: string, path: string, tok: string) => api(p2.apiUrl, p2.caPem, method, path, {token: tok})

  const me = await call('GET', '/v1/me', token)
  t.is(me.status, 200, 'the session from before the restart still works')
  t.is(me.body.principal.name, values.email)
  t.truthy(await loginToken(p2.apiUrl, p2.caPem, values.email, values.password), 'the password still verifies')
  t.truthy(await loginToken(p2.apiUrl, p2.caPem, ADMIN_EMAIL, ADMIN_PASSWORD))

  const project = await call('GET', `/v1/projects/${values.projectName.toUpperCase()}`, token)
  t.is(project.status, 200, 'found by its (blind-indexed) name, in any case')
  t.is(project.body.id, projectId)
  t.is(project.body.description, values.description)
  const envs = await call('GET', `/v1/projects/${projectId}/environments`, token)
  t.deepEqual(envs.body.items.map((e: any) => e.name), [values.envName])

  const asAccount = await call('GET', '/v1/projects', apiKey)
  t.is(asAccount.status, 200, 'the API key still works')
  t.deepEqual(asAccount.body.items.map((x: any) => x.name), [values.projectName])
  const audit = await call('GET', '/v1/audit?action=project.create', token)
  t.is(audit.body.items[0].target.name, values.projectName)
})
