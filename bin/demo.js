#!/usr/bin/env node
// The Quickstart's main job, driven through the real `mezu` CLI: start the platform on the embedded
// store, create a demo project and environment, publish templates/services/hello through a
// Warpgate behind a login-protected route, print what to open, and stop everything on Ctrl-C.
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import {LocalMezu} from '../dist/src/lib/local-platform.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const home = join(root, '.mezu-demo')
const email = 'admin@mezu.localhost'
mkdirSync(home, {recursive: true, mode: 0o700})

// The owner's password is made once and kept (0600) so the demo can be restarted.
const passwordFile = join(home, 'owner-password')
if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(15).toString('base64url') + '\n', {mode: 0o600})
const password = readFileSync(passwordFile, 'utf8').trim()

const mezu = new LocalMezu({configDir: join(home, 'cli'), dataDir: join(home, 'data')})
const children = []

function shutdown(code = 0) {
  for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM')
  setTimeout(() => process.exit(code), 3000).unref()
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code))
}
process.once('SIGINT', () => shutdown(0))
process.once('SIGTERM', () => shutdown(0))
process.once('SIGHUP', () => shutdown(0))

let info
try {
  const platform = await mezu.startPlatform({email, password})
  children.push(platform.child)
  platform.child.once('exit', (code) => {
    if (code) {
      process.stderr.write(`the platform stopped (exit ${code})\n`)
      shutdown(1)
    }
  })
  info = platform.info
  mezu.loginAndUse(info, {email, password, project: 'demo', env: 'dev'})
} catch (error) {
  process.stderr.write(`${error.message}\n`)
  if (/platform start exited/.test(error.message)) process.stderr.write('is another one using ports 7443/7444/8443? (mezu platform status)\n')
  shutdown(1)
  await new Promise(() => {})
}

const tunnel = mezu.spawn(['tunnel', join(root, 'templates', 'services', 'hello'), '--route', 'hello', '--project', 'demo', '--env', 'dev', '--require-assertion'])
children.push(tunnel)
tunnel.once('exit', (code) => {
  if (code) {
    process.stderr.write(`mezu tunnel stopped (exit ${code})\n`)
    shutdown(1)
  }
})
const lines = createInterface({input: tunnel.stdout})
let announced = false
lines.on('line', (line) => {
  if (!announced && /^Public URL: /.test(line)) {
    announced = true
    const url = line.replace(/^Public URL: /, '').replace(/ \(existing route\)$/, '')
    process.stdout.write(`
Mezusphere is running.

  Open        ${url}
              (log in as ${email} with password ${password})
  Trust CA    ${info.caPath}   (import it in your browser, or: curl --cacert ${info.caPath} ${url})
  Control API ${info.apiUrl}

Try, in another terminal:
  export MEZU_CONFIG_DIR=${join(home, 'cli')}
  node bin/run.js routes list
  node bin/run.js warpgates list
  node bin/run.js logs --follow
  node bin/run.js policies create open --public && node bin/run.js routes update ${new URL(url).hostname} --policy open

Ctrl-C stops everything.
`)
    return
  }
  process.stdout.write(`  tunnel: ${line}\n`)
})
