import {createHash, X509Certificate} from 'node:crypto'
import {existsSync} from 'node:fs'
import test from 'ava'
import {chromium} from 'playwright-core'
import {ADMIN_EMAIL, ADMIN_PASSWORD} from '../helpers/platform.js'
import {startStandIn} from '../helpers/edge-stand-in.js'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

// Real headless Chromium against the stand-in edge. The browser trusts exactly the edge's
// certificate (SPKI pin), and *.mezu.localhost resolves to the loopback address.
test('a browser is sent to login, signs in, sees its identity at the origin, signs out and is asked to sign in again', async (t) => {
  if (!CHROMIUM) return t.fail('chromium is not installed (the CI image installs it)')
  const e = await startStandIn(t)
  e.addRoute(`hello.${e.domain}`, '/', null)
  const spki = createHash('sha256').update(new X509Certificate(e.certPem).publicKey.export({type: 'spki', format: 'der'})).digest('base64')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [`--ignore-certificate-errors-spki-list=${spki}`, `--host-resolver-rules=MAP *.${e.domain} 127.0.0.1`, '--no-sandbox'],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage()
  const url = `https://hello.${e.domain}:${e.port}/welcome`

  await page.goto(url)
  t.true(page.url().startsWith(`https://auth.${e.domain}:${e.port}/login?return=`))
  await page.fill('#email', ADMIN_EMAIL)
  await page.fill('#password', 'not the password')
  await page.click('button[type=submit]')
  t.is(await page.textContent('#error'), 'email or password is wrong')

  await page.fill('#password', ADMIN_PASSWORD)
  await page.click('button[type=submit]')
  await page.waitForURL(url)
  const echoed = JSON.parse(await page.textContent('body') ?? '{}')
  t.is(echoed.headers['mezu-user-email'], ADMIN_EMAIL)
  const cookies = await page.context().cookies(url)
  const session = cookies.find((c) => c.name === '__Host-mezu_session')!
  t.true(session.httpOnly && session.secure)
  t.is(session.sameSite, 'Lax')

  await page.goto(`https://hello.${e.domain}:${e.port}/.mezu/logout`)
  t.is(await page.textContent('#title'), 'Signed out')
  await page.goto(url)
  t.true(page.url().startsWith(`https://auth.${e.domain}:${e.port}/login?return=`))
})
