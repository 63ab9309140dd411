import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import tls from 'node:tls'
import test from 'ava'
import {chromium} from 'playwright-core'
import {spawnMezu} from '../helpers/cli.js'
import {startTestPlatform} from '../helpers/platform.js'
import {seedUser} from '../helpers/seed-user.js'
import {cliUser} from '../helpers/session.js'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

/** SHA-256 of the SPKI of the certificate the edge presents for `servername`, for Chromium's pin list. */
function edgeSpki(port: number, caPem: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({host: '127.0.0.1', port, servername, ca: [caPem]}, () => {
      const der = s.getPeerX509Certificate()!.publicKey.export({type: 'spki', format: 'der'})
      s.end()
      resolve(createHash('sha256').update(der).digest('base64'))
    })
    s.on('error', reject)
  })
}

// Real headless Chromium against the real platform's edge: the person opens the URL the CLI
// printed, is sent to sign in, comes back to the approval page and presses Approve.
test('a person approves `mezu login --web` in a real browser: sign in, confirm the code, approve, and the CLI is logged in', async (t) => {
  if (!CHROMIUM) return t.fail('chromium is not installed (the CI image installs it)')
  const p = await startTestPlatform(t, {deviceLogin: {ttlMs: 600_000, intervalSeconds: 1, startsPerMinute: 20}})
  await seedUser(p, 'bea@example.test', {password: 'bea has a long password'})
  const spki = await edgeSpki(p.ports.edge!, p.caPem, `auth.${p.domain}`)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [`--ignore-certificate-errors-spki-list=${spki}`, `--host-resolver-rules=MAP *.${p.domain} 127.0.0.1`, '--no-sandbox'],
  })
  t.teardown(() => browser.close())

  const u = cliUser(t, p)
  const cli = spawnMezu(['login', '--web', '--json'], {env: u.env})
  const ev = await cli.stderrJson<{userCode: string; verificationUrlComplete: string}>((v) => v.event === 'device_code')
  const page = await browser.newPage()
  await page.goto(ev.verificationUrlComplete)
  t.true(page.url().startsWith(`https://auth.${p.domain}:${p.ports.edge}/login?return=`))
  await page.fill('#email', 'bea@example.test')
  await page.fill('#password', 'bea has a long password')
  await page.click('button[type=submit]')
  t.is(page.url(), ev.verificationUrlComplete)
  t.is(await page.textContent('#code'), ev.userCode)
  t.is(await page.textContent('#email'), 'bea@example.test')
  await page.click('#approve')
  t.is(await page.textContent('#title'), 'Login approved')

  const r = await cli.done
  t.is(r.code, 0, r.stderr)
  t.is(r.json().user.email, 'bea@example.test')
  t.is((await u.json(['whoami'])).principal.name, 'bea@example.test')
})
