#!/usr/bin/env node
// The Quickstart's main job, driven through the real `mezu` CLI: start the platform on the embedded
// store, create a demo project and environment, publish templates/services/hello through a
// Warpgate behind a login-protected route, print what to open, and stop everything on Ctrl-C.
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const home = join(root, '.mezu-demo')
const dataDir = join(home, 'data')
const bin = join(root, 'bin', 'run.js')
const email = 'admin@mezu.localhost'
mkdirSync(home, {recursive: true, mode: 0o700})

// The owner's password is made once and kept (0600) so the demo can be restarted.
const passwordFile = join(home, 'owner-password')
if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(15).toString('base64url') + '\n', {mode: 0o600})
const password = readFileSync(passwordFile, 'utf8').trim()

const env = {...process.env, MEZU_CONFIG_DIR: join(home, 'cli'), MEZU_DATA_DIR: dataDir}
delete env.MEZU_TOKEN
const children = []

function mezu(args, input) {
  const r = spawnSync(process.execPath, [bin, ...args], {env, input, encoding: 'utf8'})
  return {code: r.status, out: r.stdout, err: r.stderr}
}

function mustMezu(args, input, okCodes = []) {
  const r = mezu(args, input)
  if (r.code !== 0 && !okCodes.some((c) => r.err.includes(`"code":"${c}"`))) {
    process.stderr.write(`mezu ${args.join(' ')} failed:\n${r.err}`)
    shutdown(1)
  }
  return r
}

function shutdown(code = 0) {
  for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM')
  setTimeout(() => process.exit(code), 3000).unref()
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code))
}
process.once('SIGINT', () => shutdown(0))
process.once('SIGTERM', () => shutdown(0))

const platform = spawn(process.execPath, [bin, 'platform', 'start', '--json', '--log-level', 'warn', '--admin-email', email, '--admin-password-stdin'], {env, stdio: ['pipe', 'pipe', 'inherit']})
children.push(platform)
platform.stdin.end(password + '\n')
platform.once('exit', (code) => {
  if (code) {
    process.stderr.write(`the platform stopped (exit ${code}); is another one using ports 7443/7444/8443? (mezu platform status)\n`)
    process.exit(1)
  }
})
const first = await new Promise((resolve) => createInterface({input: platform.stdout}).once('line', resolve))
const info = JSON.parse(first)

mustMezu(['login', '--api-url', info.apiUrl, '--ca-file', info.caPath, '--email', email, '--password-stdin', '--json'], password)
mustMezu(['projects', 'create', 'demo', '--json'], '', ['conflict'])
mustMezu(['envs', 'create', 'dev', '--project', 'demo', '--json'], '', ['conflict'])
mustMezu(['use', 'demo/dev', '--json'])

const tunnel = spawn(process.execPath, [bin, 'tunnel', join(root, 'templates', 'services', 'hello'), '--route', 'hello', '--project', 'demo', '--env', 'dev', '--require-assertion'], {env, stdio: ['ignore', 'pipe', 'inherit']})
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
