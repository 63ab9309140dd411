import {chmodSync, existsSync, readFileSync, watch, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {AuthBrowser, formField} from '../helpers/auth-browser.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {mezuOnPty} from '../helpers/pty.js'
import {seedUser} from '../helpers/seed-user.js'
import {cliUser} from '../helpers/session.js'

// At a terminal (and not in CI) `mezu login --web` opens the browser on the page with the code
// filled in. A stand-in xdg-open on PATH records what it was asked to open.
test('at a terminal, mezu login --web opens the browser on the approval page with the code', async (t) => {
  const p = await startTestPlatform(t, {deviceLogin: {ttlMs: 600_000, intervalSeconds: 1, startsPerMinute: 20}})
  await seedUser(p, 'tia@example.test', {password: 'tia has a long password'})
  const bin = tempDir(t, 'mezu-fake-open-')
  const opened = join(bin, 'opened.txt')
  writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}.tmp' && mv '${opened}.tmp' '${opened}'\n`)
  chmodSync(join(bin, 'xdg-open'), 0o755)
  const u = cliUser(t, p)
  const run = mezuOnPty(['login', '--web'], {...u.env, PATH: `${bin}:${process.env.PATH}`})
  await run.waitFor(/enter the code [A-Z]{4}-[A-Z]{4}/)
  const code = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(run.output())![1]!
  const complete = /\(or open (\S+)\)/.exec(run.output())![1]!
  await fileAppears(bin, opened, 20_000)
  t.is(readFileSync(opened, 'utf8'), complete)
  t.is(complete, `https://auth.${p.domain}:${p.ports.edge}/device?code=${code}`)

  const b = new AuthBrowser(p)
  await b.signIn('tia@example.test', 'tia has a long password')
  const page = await b.get(`/device?code=${code}`)
  t.is((await b.post('/device', {csrf: formField(page.text, 'csrf')!, code, action: 'approve'})).status, 200)
  await run.waitFor(/Logged in to \S+ \(context \S+\) as tia@example\.test \(member\)\./)
  t.is((await run.done).code, 0)
})

/** Resolves when `file` exists in `dir` (watched, not polled), or rejects at the deadline. */
function fileAppears(dir: string, file: string, deadlineMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir)
    const finish = (err?: Error) => {
      clearTimeout(timer)
      watcher.close()
      if (err) reject(err)
      else resolve()
    }
    const timer = setTimeout(() => finish(new Error(`${file} did not appear within ${deadlineMs} ms`)), deadlineMs)
    watcher.on('change', () => existsSync(file) && finish())
    if (existsSync(file)) finish()
  })
}
