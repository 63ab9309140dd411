import {createHash, X509Certificate} from 'node:crypto'
import {existsSync} from 'node:fs'
import {connect} from 'node:tls'
import test from 'ava'
import {chromium} from 'playwright-core'
import {startTestPlatform, type TestPlatform} from '../helpers/platform.js'
import {ownerCli} from '../helpers/session.js'
import {scaffoldHello, startTunnelCli} from '../helpers/tunnel.js'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
const PASSWORD = 'ivy has a long password'

/**
 * The SHA-256 of the SPKI of the certificate the edge presents, read over a TLS connection that
 * verifies it against the platform CA first: Chromium then trusts exactly that key.
 */
function edgeSpki(platform: TestPlatform): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({host: '127.0.0.1', port: platform.ports.edge!, servername: `auth.${platform.domain}`, ca: platform.caPem}, () => {
      const cert = new X509Certificate(sock.getPeerCertificate().raw)
      sock.end()
      resolve(createHash('sha256').update(cert.publicKey.export({type: 'spki', format: 'der'})).digest('base64'))
    })
    sock.on('error', reject)
  })
}

// Real headless Chromium → the real edge → a real `mezu tunnel --require-assertion` → the real
// hello template, which verifies Mezu-Jwt-Assertion against the platform's JWKS itself.
test('an invited user sets a password, is sent to login by a protected route, lands on hello with a verified email, signs out and is asked again', async (t) => {
  if (!CHROMIUM) return t.fail('chromium is not installed (apt-get install -y chromium)')
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['projects', 'create', 'demo'])
  await owner.json(['envs', 'create', 'prod', '--project', 'demo'])
  const {invite} = await owner.json(['users', 'create', '--email', 'ivy@example.test', '--name', 'Ivy'])

  const dir = await scaffoldHello(t)
  const host = `hello.${platform.domain}`
  const tunnel = await startTunnelCli(t, [dir, '--route', host, '--project', 'demo', '--env', 'prod', '--require-assertion'], owner.env)
  const route = await tunnel.waitForEvent((e) => e.type === 'route', 'the route')
  const url = `${route.url}welcome`

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [`--ignore-certificate-errors-spki-list=${await edgeSpki(platform)}`, `--host-resolver-rules=MAP *.${platform.domain} 127.0.0.1`, '--no-sandbox'],
  })
  t.teardown(() => browser.close())
  const context = await browser.newContext()
  const page = await context.newPage()
  const loginPrefix = `https://auth.${platform.domain}:${platform.ports.edge}/login?return=`

  // the invitation link sets the password
  await page.goto(invite.link)
  t.is(await page.textContent('#invited-email'), 'ivy@example.test')
  await page.fill('#password', PASSWORD)
  await page.fill('#confirm', PASSWORD)
  await page.click('button[type=submit]')
  await page.waitForURL(/\/login\?notice=password-set/)

  // the protected route sends the browser to login; a wrong password is refused
  await page.goto(url)
  t.true(page.url().startsWith(loginPrefix), page.url())
  await page.fill('#email', 'ivy@example.test')
  await page.fill('#password', 'not the password at all')
  await page.click('button[type=submit]')
  t.is(await page.textContent('#error'), 'email or password is wrong')

  await page.fill('#password', PASSWORD)
  await page.click('button[type=submit]')
  await page.waitForURL(url)
  t.is(await page.textContent('#hello'), 'Hello, ivy@example.test!')
  // the page's CSP forbids fetch(), so a second tab asks for JSON with the same session
  const api = await context.newPage()
  await api.route('**/api', (r) => r.continue({headers: {...r.request().headers(), accept: 'application/json'}}))
  await api.goto(`${route.url}api`)
  t.deepEqual(JSON.parse(await api.textContent('body') ?? ''), {hello: 'ivy@example.test', path: '/api', verified: true})
  await api.close()
  const session = (await page.context().cookies(url)).find((c) => c.name === '__Host-mezu_session')!
  t.true(session.httpOnly && session.secure)
  t.is(session.sameSite, 'Lax')
  await tunnel.waitForEvent((e) => e.type === 'request' && e.path === '/welcome' && e.status === 200, 'the Warpgate let /welcome through')

  // following a link to the sign-out page signs nobody out; its button does
  await page.goto(`${route.url}.mezu/logout`)
  t.is(await page.textContent('#email'), 'ivy@example.test')
  await page.goto(url)
  t.is(await page.textContent('#hello'), 'Hello, ivy@example.test!')
  await page.goto(`${route.url}.mezu/logout`)
  await page.click('#sign-out')
  await page.waitForURL(`https://auth.${platform.domain}:${platform.ports.edge}/logout`)
  t.is(await page.textContent('#title'), 'Signed out')
  await page.goto(url)
  t.true(page.url().startsWith(loginPrefix), page.url())
  t.false(tunnel.events.some((e) => e.type === 'request' && e.status >= 400), 'the Warpgate refused nothing the edge sent')
  t.is(await tunnel.stop(), 0, tunnel.stderr())
})
