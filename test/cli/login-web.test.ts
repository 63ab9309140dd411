import {existsSync, statSync} from 'node:fs'
import anyTest, {type TestFn} from 'ava'
import {api} from '../helpers/api.js'
import {AuthBrowser, formField} from '../helpers/auth-browser.js'
import {spawnMezu} from '../helpers/cli.js'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {credentialsOf, storedContext} from '../helpers/contexts.js'
import {cliUser, ownerCli} from '../helpers/session.js'
import {seedUser} from '../helpers/seed-user.js'
import {hookScope} from '../helpers/shared.js'
import {findUserByEmail, updateUser} from '../../platform/store/identity/users.js'

const test = anyTest as TestFn<{p: TestPlatform}>
const scope = hookScope()
const PASSWORD = 'a long enough password'

test.before(async (t) => {
  // interval 1 s so the CLI notices an approval quickly; everything else as shipped
  const p = await startTestPlatform(scope.t, {deviceLogin: {ttlMs: 600_000, intervalSeconds: 1, startsPerMinute: 100}})
  t.context = {p}
})
test.after.always(() => scope.dispose())


interface CodeEvent {
  event: string
  userCode: string
  verificationUrl: string
  verificationUrlComplete: string
  expiresIn: number
  interval: number
}

/** A person with a password, signed in on auth.<domain> in their own browser. */
async function signedInBrowser(p: TestPlatform, email: string): Promise<AuthBrowser> {
  await seedUser(p, email, {password: PASSWORD})
  const b = new AuthBrowser(p)
  await b.signIn(email, PASSWORD)
  return b
}

/** Opens the approval page for a code and presses approve or deny with the page's CSRF token. */
async function decide(b: AuthBrowser, userCode: string, action: 'approve' | 'deny') {
  const page = await b.get(`/device?code=${encodeURIComponent(userCode)}`)
  if (page.status !== 200) throw new Error(`approval page answered ${page.status}: ${page.text.slice(0, 300)}`)
  return b.post('/device', {csrf: formField(page.text, 'csrf')!, code: formField(page.text, 'code')!, action})
}

function startDevice(p: TestPlatform) {
  return api(p.apiUrl, p.caPem, 'POST', '/v1/device-logins', {body: {}})
}

function pollDevice(p: TestPlatform, deviceCode: string) {
  return api(p.apiUrl, p.caPem, 'POST', '/v1/device-logins/token', {body: {deviceCode}})
}

test('mezu login --web --json: the code is approved in a signed-in browser, the CLI saves the session, and whoami works', async (t) => {
  const {p} = t.context
  const browser = await signedInBrowser(p, 'wendy@example.test')
  const u = cliUser(t, p)
  const cli = spawnMezu(['login', '--web', '--json'], {env: u.env})
  const ev = await cli.stderrJson<CodeEvent>((v) => v.event === 'device_code')
  t.regex(ev.userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  t.is(ev.verificationUrl, `https://auth.${p.domain}:${p.ports.edge}/device`)
  t.is(ev.verificationUrlComplete, `${ev.verificationUrl}?code=${ev.userCode}`)
  t.is(ev.interval, 1)
  t.is(ev.expiresIn, 600)
  t.false(JSON.stringify(ev).includes('mezu_dev_'), 'the device code is never shown')

  const page = await browser.get(new URL(ev.verificationUrlComplete).pathname + new URL(ev.verificationUrlComplete).search)
  t.is(page.status, 200)
  t.true(page.text.includes(ev.userCode))
  t.true(page.text.includes('wendy@example.test'))
  const approved = await browser.post('/device', {csrf: formField(page.text, 'csrf')!, code: ev.userCode, action: 'approve'})
  t.is(approved.status, 200)
  t.regex(approved.text, /Login approved/)

  const r = await cli.done
  t.is(r.code, 0, r.stderr)
  const out = r.json()
  t.is(out.user.email, 'wendy@example.test')
  t.is(out.apiUrl, p.apiUrl)
  t.is(statSync(credentialsOf(u.env)).mode & 0o777, 0o600)
  const creds = storedContext(u.env)
  t.regex(creds.token, /^mezu_sess_/)
  t.is(creds.tokenKind, 'session')
  const me = await u.json(['whoami'])
  t.is(me.principal.kind, 'user')
  t.is(me.principal.name, 'wendy@example.test')

  const owner = await ownerCli(t, p)
  const got = await owner.json(['users', 'get', 'wendy@example.test'])
  const web = got.lastLogins.find((l: {method: string}) => l.method === 'web')
  t.like(web, {method: 'web', client: 'cli', result: 'success'})
  t.truthy(got.lastLogins.find((l: {method: string; client?: string}) => l.method === 'edge-password' && l.client === 'browser'), 'the browser sign-in is in the history too')
  const audit = await owner.json(['audit', 'list', '--action', 'device-login.'])
  t.like(audit.items.find((e: {actor: {name: string}}) => e.actor.name === 'wendy@example.test'), {action: 'device-login.approve', actor: {kind: 'user', name: 'wendy@example.test'}, target: {type: 'device-login', name: 'cli'}})
})

test('mezu login --web without --json tells a person where to go, and a denial exits 1 with a clear message and saves nothing', async (t) => {
  const {p} = t.context
  const browser = await signedInBrowser(p, 'dana@example.test')
  const u = cliUser(t, p)
  const cli = spawnMezu(['login', '--web'], {env: u.env})
  const m = await cli.stderrMatch(/open (https:\/\/\S+\/device) and enter the code ([A-Z]{4}-[A-Z]{4})/)
  t.is(m[1], `https://auth.${p.domain}:${p.ports.edge}/device`)
  const denied = await decide(browser, m[2]!, 'deny')
  t.is(denied.status, 200)
  t.regex(denied.text, /Login denied/)
  const r = await cli.done
  t.is(r.code, 1)
  t.is(r.stdout, '')
  t.regex(r.stderr, /Error: the login was refused in the browser/)
  t.false(existsSync(credentialsOf(u.env)))

  const owner = await ownerCli(t, p)
  const got = await owner.json(['users', 'get', 'dana@example.test'])
  t.like(got.lastLogins.find((l: {method: string}) => l.method === 'web'), {client: 'cli', result: 'denied'})
})

test('a denial under --json is the access_denied error object on stderr', async (t) => {
  const {p} = t.context
  const browser = await signedInBrowser(p, 'dora@example.test')
  const u = cliUser(t, p)
  const cli = spawnMezu(['login', '--web', '--json'], {env: u.env})
  const ev = await cli.stderrJson<CodeEvent>((v) => v.event === 'device_code')
  t.is((await decide(browser, ev.userCode, 'deny')).status, 200)
  const r = await cli.done
  t.is(r.code, 1)
  t.is(r.stdout, '')
  t.is(JSON.parse(r.stderr.trim().split('\n').at(-1)!).error.code, 'access_denied')
})

test('Ctrl-C stops the polling: exit 130, a cancelled error on stderr, nothing saved', async (t) => {
  const {p} = t.context
  const u = cliUser(t, p)
  const cli = spawnMezu(['login', '--web', '--json'], {env: u.env})
  await cli.stderrJson<CodeEvent>((v) => v.event === 'device_code')
  cli.child.kill('SIGINT')
  const r = await cli.done
  t.is(r.code, 130)
  t.is(r.stdout, '')
  t.is(JSON.parse(r.stderr.trim().split('\n').at(-1)!).error.code, 'cancelled')
  t.false(existsSync(credentialsOf(u.env)))
})

test('an expired code: the CLI exits 1 with expired_token and the page refuses the code', async (t) => {
  const short = await startTestPlatform(t, {deviceLogin: {ttlMs: 2500, intervalSeconds: 1, startsPerMinute: 100}})
  const browser = await signedInBrowser(short, 'ezra@example.test')
  const u = cliUser(t, short)
  const cli = spawnMezu(['login', '--web', '--json'], {env: u.env})
  const ev = await cli.stderrJson<CodeEvent>((v) => v.event === 'device_code')
  t.is(ev.expiresIn, 2)
  const r = await cli.done
  t.is(r.code, 1)
  const err = JSON.parse(r.stderr.trim().split('\n').at(-1)!).error
  t.is(err.code, 'expired_token')
  t.regex(err.message, /mezu login --web/)
  t.false(existsSync(credentialsOf(u.env)))
  const page = await browser.get(`/device?code=${ev.userCode}`)
  t.is(page.status, 400)
  t.regex(page.text, /not valid/)
  t.is(formField(page.text, 'csrf'), undefined, 'no approve form for an expired code')
})

test('a wrong code on the page is refused without touching the real pending login, which can still be approved', async (t) => {
  const {p} = t.context
  const browser = await signedInBrowser(p, 'walt@example.test')
  const started = await startDevice(p)
  t.is(started.status, 201)
  const {userCode, deviceCode} = started.body
  // a well-formed code nobody was given, a malformed one, and nothing at all
  const wrong = userCode === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB'
  const page = await browser.get(`/device?code=${wrong}`)
  t.is(page.status, 400)
  t.regex(page.text, /not valid/)
  t.is((await browser.get('/device?code=hello%20world')).status, 400)
  const blank = await browser.get('/device')
  t.is(blank.status, 200)
  t.regex(blank.text, /Enter the code your terminal shows/)
  // posting a wrong code with a good CSRF token
  const csrf = formField(blank.text, 'csrf') ?? formField((await browser.get(`/device?code=${userCode}`)).text, 'csrf')!
  const post = await browser.post('/device', {csrf, code: wrong, action: 'approve'})
  t.is(post.status, 400)
  t.is((await pollDevice(p, deviceCode)).body.error.code, 'authorization_pending')
  // the code is case- and dash-insensitive on the page
  const typed = await browser.get(`/device?code=${userCode.toLowerCase().replace('-', '')}`)
  t.is(typed.status, 200)
  t.true(typed.text.includes(userCode))
  t.is((await decide(browser, userCode, 'approve')).status, 200)
  const token = await pollDevice(p, deviceCode)
  t.is(token.status, 201)
  t.is(token.body.user.email, 'walt@example.test')
})

test('approving without the CSRF token, or with a forged one, is refused and the login stays pending', async (t) => {
  const {p} = t.context
  const browser = await signedInBrowser(p, 'cora@example.test')
  const {body: start} = await startDevice(p)
  const page = await browser.get(`/device?code=${start.userCode}`)
  t.is(page.status, 200)
  const noToken = await browser.post('/device', {code: start.userCode, action: 'approve'})
  t.is(noToken.status, 403)
  const forged = await browser.post('/device', {csrf: 'forged', code: start.userCode, action: 'approve'})
  t.is(forged.status, 403)
  // the right token without the cookie it is bound to (another site posting from the victim's browser)
  const stranger = new AuthBrowser(p)
  stranger.cookies.set('__Host-mezu_session', browser.cookies.get('__Host-mezu_session')!)
  const unbound = await stranger.post('/device', {csrf: formField(page.text, 'csrf')!, code: start.userCode, action: 'approve'})
  t.is(unbound.status, 403)
  const poll = await pollDevice(p, start.deviceCode)
  t.is(poll.status, 428)
  t.is(poll.body.error.code, 'authorization_pending')
})

test('the approval page needs a signed-in browser: it sends you to sign in and back to the same code', async (t) => {
  const {p} = t.context
  await seedUser(p, 'nina@example.test', {password: PASSWORD})
  const {body: start} = await startDevice(p)
  const b = new AuthBrowser(p)
  const first = await b.get(`/device?code=${start.userCode}`)
  t.is(first.status, 303)
  const login = new URL(first.headers.location!, b.origin)
  t.is(login.pathname, '/login')
  const back = `${b.origin}/device?code=${start.userCode}`
  t.is(login.searchParams.get('return'), back)
  // a POST without a session approves nothing either
  const blind = await b.post('/device', {csrf: 'x', code: start.userCode, action: 'approve'})
  t.not(blind.status, 200)
  const signedIn = await b.signIn('nina@example.test', PASSWORD, back)
  t.is(signedIn.headers.location, back, 'signing in continues to the approval page')
  t.truthy(b.cookies.get('__Host-mezu_session'))
  const page = await b.get(new URL(back).pathname + new URL(back).search)
  t.is(page.status, 200)
  t.true(page.text.includes(start.userCode))
  t.is((await pollDevice(p, start.deviceCode)).body.error.code, 'authorization_pending')
})

test('the login page refuses return URLs on auth.<domain> other than the approval page', async (t) => {
  const {p} = t.context
  await seedUser(p, 'otto@example.test', {password: PASSWORD})
  const b = new AuthBrowser(p)
  for (const ret of [`${b.origin}/logout`, `${b.origin}/device?code=X&next=https://evil.example`, `https://auth.${p.domain}:1/device`, `${b.origin}/device#x`]) {
    const r = await b.signIn('otto@example.test', PASSWORD, ret)
    t.is(r.headers.location, '/', `${ret} is not followed`)
  }
})

test('the device code is single use: the second poll after approval gets expired_token', async (t) => {
  const {p} = t.context
  const browser = await signedInBrowser(p, 'sam@example.test')
  const {body: start} = await startDevice(p)
  t.regex(start.deviceCode, /^mezu_dev_[A-Za-z0-9_-]{43}$/)
  t.is((await decide(browser, start.userCode, 'approve')).status, 200)
  const first = await pollDevice(p, start.deviceCode)
  t.is(first.status, 201)
  t.regex(first.body.token, /^mezu_sess_/)
  t.is((await api(p.apiUrl, p.caPem, 'GET', '/v1/me', {token: first.body.token})).body.principal.name, 'sam@example.test')
  const again = await pollDevice(p, start.deviceCode)
  t.is(again.status, 410)
  t.is(again.body.error.code, 'expired_token')
  // and the approved user code is gone from the page
  t.is((await browser.get(`/device?code=${start.userCode}`)).status, 400)
})

test('polling faster than the interval is answered slow_down; unknown and malformed device codes are refused', async (t) => {
  const {p} = t.context
  const {body: start} = await startDevice(p)
  t.is((await pollDevice(p, start.deviceCode)).body.error.code, 'authorization_pending')
  const fast = await pollDevice(p, start.deviceCode)
  t.is(fast.status, 429)
  t.is(fast.body.error.code, 'slow_down')
  t.is((await pollDevice(p, 'mezu_dev_' + 'A'.repeat(43))).body.error.code, 'expired_token')
  const bad = await pollDevice(p, '')
  t.is(bad.status, 400)
  t.is(bad.body.error.code, 'invalid_request')
  const extra = await api(p.apiUrl, p.caPem, 'POST', '/v1/device-logins', {body: {client: 'cli', scope: 'admin'}})
  t.is(extra.status, 400)
  for (const client of ['browser', 'Official Admin Console', '']) {
    const r = await api(p.apiUrl, p.caPem, 'POST', '/v1/device-logins', {body: {client}})
    t.is(r.status, 400, client)
    t.is(r.body.error.field, 'client')
  }
})

test('starting web logins is rate-limited per client address', async (t) => {
  const limited = await startTestPlatform(t, {deviceLogin: {ttlMs: 600_000, intervalSeconds: 1, startsPerMinute: 2}})
  t.is((await startDevice(limited)).status, 201)
  t.is((await startDevice(limited)).status, 201)
  const third = await startDevice(limited)
  t.is(third.status, 429)
  t.is(third.body.error.code, 'too_many_requests')
  t.truthy(third.headers['retry-after'])
})

test('wrong codes on the page count like failed passwords: after the limit even the right code waits at that address', async (t) => {
  const strict = await startTestPlatform(t, {deviceLogin: {ttlMs: 600_000, intervalSeconds: 1, startsPerMinute: 100}, loginLimit: {slowAfter: 100, lockAfter: 3, ipLockAfter: 3, windowMs: 60_000, lockMs: 60_000, delayMs: 0, maxDelayMs: 0}})
  const browser = await signedInBrowser(strict, 'gus@example.test')
  const {body: start} = await startDevice(strict)
  const wrong = start.userCode === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB'
  for (let i = 0; i < 3; i++) t.is((await browser.get(`/device?code=${wrong}`)).status, 400)
  const locked = await browser.get(`/device?code=${start.userCode}`)
  t.is(locked.status, 429)
  t.regex(locked.text, /Too many wrong codes/)
  t.is((await pollDevice(strict, start.deviceCode)).body.error.code, 'authorization_pending')
  // the same person from another address is not locked out
  browser.localAddress = '127.0.0.2'
  t.is((await browser.get(`/device?code=${start.userCode}`)).status, 200)
  browser.localAddress = undefined
  t.is((await browser.get(`/device?code=${start.userCode}`)).status, 429)
  // an address locked out for failed passwords cannot start (or poll) a web login either
  for (let i = 0; i < 3; i++) await api(strict.apiUrl, strict.caPem, 'POST', '/v1/sessions', {body: {email: 'gus@example.test', password: 'not it at all'}})
  const refused = await startDevice(strict)
  t.is(refused.status, 429)
  t.is(refused.body.error.code, 'too_many_requests')
  t.is((await pollDevice(strict, start.deviceCode)).status, 429)
})

test('an approval by an account disabled before the CLI collects it is refused and recorded', async (t) => {
  const {p} = t.context
  const browser = await signedInBrowser(p, 'vic@example.test')
  const {body: start} = await startDevice(p)
  t.is((await decide(browser, start.userCode, 'approve')).status, 200)
  await updateUser(p.ctx.idb, (await findUserByEmail(p.ctx.idb, 'vic@example.test'))!.id, {status: 'disabled'})
  const r = await pollDevice(p, start.deviceCode)
  t.is(r.status, 403)
  t.is(r.body.error.code, 'access_denied')
  const owner = await ownerCli(t, p)
  const got = await owner.json(['users', 'get', 'vic@example.test'])
  t.like(got.lastLogins.find((l: {method: string}) => l.method === 'web'), {client: 'cli', result: 'refused-disabled'})
})
