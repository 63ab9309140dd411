import {spawn, spawnSync} from 'node:child_process'
import {createHash, X509Certificate} from 'node:crypto'
import {chmodSync, cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import Database from 'better-sqlite3'
import {buildConfig} from '../../platform/config.js'
import {startPlatform} from '../../platform/server.js'
import {api, loginToken} from '../helpers/api.js'
import {BIN, mezu} from '../helpers/cli.js'
import {tempDir} from '../helpers/platform.js'

const EMAIL = 'founder@example.test'
const PASSWORD = 'lifecycle password 1'

/** Every file of a directory with its mode and a hash of its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!statSync(dir).isDirectory()) return {'.': createHash('sha256').update(readFileSync(dir)).digest('hex') + ' ' + statSync(dir).mode.toString(8)}
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    out[name] = createHash('sha256').update(readFileSync(p)).digest('hex') + ' ' + statSync(p).mode.toString(8)
  }
  return out
}

/** Starts `mezu platform start --json` and resolves with its first stdout line, parsed. */
function startChild(args: string[], env: NodeJS.ProcessEnv = {}, stdin = '') {
  const child = spawn(process.execPath, [BIN, 'platform', 'start', '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0', '--log-level', 'silent', '--json', ...args], {
    env: {...process.env, CI: '1', MEZU_MASTER_KEY: '', ...env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end(stdin)
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready = new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`platform start printed no line within 90 s; stderr: ${stderr}`)), 90_000)
    child.stdout.on('data', (d) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        resolve(JSON.parse(stdout.slice(0, nl)))
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`platform start exited ${code} before listening; stderr: ${stderr}`))
    })
  })
  return {child, ready, exited, stderr: () => stderr}
}

async function initDir(dataDir: string) {
  const r = await mezu(['platform', 'init', '--data-dir', dataDir, '--admin-email', EMAIL, '--admin-password-stdin', '--json'], {stdin: PASSWORD})
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`)
  return r.json()
}

test.serial('init creates a 0600 master key, the stores and the CA, with the owner password read from stdin', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  const r = await mezu(['platform', 'init', '--data-dir', dataDir, '--admin-email', EMAIL, '--admin-password-stdin', '--json'], {stdin: PASSWORD + '\n'})
  t.is(r.code, 0, r.stderr)
  const out = r.json()
  t.is(out.adminEmail, EMAIL)
  t.is(out.generatedPassword, undefined)
  t.is(out.caPath, join(dataDir, 'ca.pem'))
  t.is(out.caFingerprint, new X509Certificate(readFileSync(out.caPath)).fingerprint256)
  t.is(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600)
  t.is(statSync(dataDir).mode & 0o777, 0o700)
  for (const f of ['identity.db', 'config.db']) t.true(existsSync(join(dataDir, f)), f)
  t.false(readFileSync(join(dataDir, 'config.db')).includes('PRIVATE KEY'), 'the CA private key is not stored in clear')

  // the password from stdin (without its newline) is the owner's
  const p = await startPlatform(buildConfig({dataDir, apiPort: 0, edgePort: 0, tunnelPort: 0}))
  try {
    t.truthy(await loginToken(p.apiUrl, p.caPem, EMAIL, PASSWORD))
  } finally {
    await p.stop()
  }
})

test.serial('init without --admin-password-stdin generates a password, prints it once, and it logs in', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  const r = await mezu(['platform', 'init', '--data-dir', dataDir, '--admin-email', EMAIL, '--json'])
  t.is(r.code, 0, r.stderr)
  const {generatedPassword} = r.json()
  t.regex(generatedPassword, /^[A-Za-z0-9_-]{20,}$/)
  for (const f of readdirSync(dataDir)) t.false(readFileSync(join(dataDir, f)).includes(generatedPassword), `${f} holds the password in clear`)
  const p = await startPlatform(buildConfig({dataDir, apiPort: 0, edgePort: 0, tunnelPort: 0}))
  try {
    t.truthy(await loginToken(p.apiUrl, p.caPem, EMAIL, generatedPassword))
  } finally {
    await p.stop()
  }
})

test.serial('a second init refuses, names the directory and changes nothing', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  await initDir(dataDir)
  const before = snapshot(dataDir)
  const r = await mezu(['platform', 'init', '--data-dir', dataDir, '--admin-email', 'other@example.test', '--json'])
  t.is(r.code, 1)
  t.is(r.stdout, '')
  const err = JSON.parse(r.stderr).error
  t.is(err.code, 'already_initialized')
  t.true(err.message.includes(dataDir))
  const human = await mezu(['platform', 'init', '--data-dir', dataDir, '--admin-email', 'other@example.test'])
  t.is(human.code, 1)
  t.regex(human.stderr, new RegExp(`^Error: .*${dataDir}.*\\n$`))
  t.deepEqual(snapshot(dataDir), before)
})

test.serial('start --json prints where it listens, status and trust see it, and SIGTERM or SIGHUP stops it cleanly', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  // start on an empty directory initialises it first
  const run = startChild(['--data-dir', dataDir, '--admin-email', EMAIL, '--admin-password-stdin'], {}, PASSWORD)
  t.teardown(() => run.child.kill('SIGKILL'))
  const info = await run.ready
  t.regex(info.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/)
  t.true(info.ports.api > 0)
  t.is(info.apiUrl, `https://127.0.0.1:${info.ports.api}`)
  t.is(info.dataDir, dataDir)
  t.is(info.pid, run.child.pid)
  t.is(info.initialized.adminEmail, EMAIL)
  t.is(info.initialized.generatedPassword, null)
  const caPem = readFileSync(join(dataDir, 'ca.pem'), 'utf8')
  const health = await api(info.apiUrl, caPem, 'GET', '/healthz')
  t.is(health.status, 200)
  t.truthy(await loginToken(info.apiUrl, caPem, EMAIL, PASSWORD))
  t.true(existsSync(join(dataDir, 'platform.json')))

  const status = await mezu(['platform', 'status', '--data-dir', dataDir, '--json'])
  t.is(status.code, 0, status.stderr)
  const s = status.json()
  t.true(s.running)
  t.true(s.initialized)
  t.true(s.healthy)
  t.is(s.pid, run.child.pid)
  t.is(s.apiUrl, info.apiUrl)

  const trust = await mezu(['platform', 'trust', '--data-dir', dataDir, '--json'])
  t.is(trust.code, 0, trust.stderr)
  const tr = trust.json()
  t.is(tr.path, join(dataDir, 'ca.pem'))
  t.is(tr.pem, caPem)
  t.is(tr.fingerprint, new X509Certificate(caPem).fingerprint256)
  t.is(tr.fingerprint, s.caFingerprint)
  const trustHuman = await mezu(['platform', 'trust', '--data-dir', dataDir])
  t.true(trustHuman.stdout.includes(caPem.trim()))
  t.true(trustHuman.stdout.includes(tr.fingerprint))

  const second = await mezu(['platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--json'])
  t.is(second.code, 1)
  t.regex(JSON.parse(second.stderr).error.message, /already running/)
  t.true(existsSync(join(dataDir, 'platform.json')), 'the refused start leaves the running one alone')

  run.child.kill('SIGTERM')
  t.is(await run.exited, 0, run.stderr())
  t.false(existsSync(join(dataDir, 'platform.json')), 'platform.json is removed on shutdown')
  for (const f of readdirSync(dataDir)) t.false(f.endsWith('-wal') && statSync(join(dataDir, f)).size > 0, `${f} left behind`)

  const after = await mezu(['platform', 'status', '--data-dir', dataDir, '--json'])
  t.is(after.code, 0)
  t.false(after.json().running)
  t.true(after.json().initialized)
  t.is(after.json().apiUrl, null)

  // a closed terminal (SIGHUP) stops it as cleanly
  const again = startChild(['--data-dir', dataDir], {})
  t.teardown(() => again.child.kill('SIGKILL'))
  await again.ready
  again.child.kill('SIGHUP')
  t.is(await again.exited, 0, again.stderr())
  t.false(existsSync(join(dataDir, 'platform.json')), 'platform.json is removed on SIGHUP too')
})

test.serial('status and trust on a directory that holds no platform say so', async (t) => {
  const dataDir = join(tempDir(t), 'nothing')
  const status = await mezu(['platform', 'status', '--data-dir', dataDir, '--json'])
  t.is(status.code, 0)
  t.false(status.json().initialized)
  t.false(status.json().running)
  const trust = await mezu(['platform', 'trust', '--data-dir', dataDir, '--json'])
  t.is(trust.code, 1)
  t.is(trust.stdout, '')
  t.is(JSON.parse(trust.stderr).error.code, 'platform')
  t.false(existsSync(dataDir), 'reading status creates nothing')
})

/** A bad data directory: exit 1, one clear sentence on stderr, no stack trace, nothing modified. */
async function refusesUnchanged(t: any, dataDir: string, env: NodeJS.ProcessEnv, pattern: RegExp, human = false) {
  const before = snapshot(dataDir)
  for (const json of human ? [false, true] : [true]) {
    const r = await mezu(['platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0', ...(json ? ['--json'] : [])], {env})
    t.is(r.code, 1, r.stderr)
    t.is(r.stdout, '')
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace')
    if (json) {
      const err = JSON.parse(r.stderr).error
      t.is(err.code, 'platform')
      t.regex(err.message, pattern)
      t.false(err.message.includes('\n'), 'one line')
    } else {
      t.regex(r.stderr, /^Error: [^\n]+\n$/, 'one line')
      t.regex(r.stderr, pattern)
    }
  }
  t.deepEqual(snapshot(dataDir), before, 'the data directory is unchanged')
}

test.serial('a bad data directory fails with one sentence and is never modified', async (t) => {
  const root = tempDir(t)
  const good = join(root, 'good')
  await initDir(good)

  // a wrong master key
  const wrongKey = join(root, 'wrong-key')
  cpSync(good, wrongKey, {recursive: true})
  await refusesUnchanged(t, wrongKey, {MEZU_MASTER_KEY: `v1:${Buffer.alloc(32, 7).toString('base64')}`}, /master key does not open/, true)
  // a malformed master key
  await refusesUnchanged(t, wrongKey, {MEZU_MASTER_KEY: 'not-a-key'}, /MEZU_MASTER_KEY/)

  // a schema newer than this mezu
  const newer = join(root, 'newer')
  cpSync(good, newer, {recursive: true})
  const db = new Database(join(newer, 'config.db'))
  db.pragma('user_version = 99')
  db.close()
  await refusesUnchanged(t, newer, {}, /config\.db has schema version 99, newer than this mezu/)

  // a file where the directory should be (root ignores chmod 000, so unreadability is shown this way)
  const notDir = join(root, 'not-a-dir')
  writeFileSync(notDir, 'hello\n', {mode: 0o644})
  await refusesUnchanged(t, notDir, {}, /not a directory/)

  // a directory whose stores are not SQLite
  const garbage = join(root, 'garbage')
  cpSync(good, garbage, {recursive: true})
  writeFileSync(join(garbage, 'identity.db'), 'this is not a database')
  await refusesUnchanged(t, garbage, {}, /identity\.db/)
})

/** Runs the real binary as an unprivileged user (root reads any directory, so the test drops to nobody). */
function mezuAs(uid: number, args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {uid, gid: uid, env: {PATH: process.env.PATH, HOME: '/tmp', CI: '1', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

// As root the test needs an unprivileged user that can run the binary from where it is checked out.
const canTestUnreadable = process.getuid?.() !== 0 || spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(BIN)})`], {uid: 65534, gid: 65534}).status === 0

;(canTestUnreadable ? test.serial : test.serial.skip)('a data directory this user cannot read fails with one sentence and is never modified', async (t) => {
  const root = tempDir(t)
  const dataDir = join(root, 'data')
  await initDir(dataDir)
  const asRoot = process.getuid?.() === 0
  // as root: the directory stays root's (0700) and mezu runs as nobody; otherwise: chmod 000
  chmodSync(root, 0o755)
  if (!asRoot) chmodSync(dataDir, 0o000)
  t.teardown(() => chmodSync(dataDir, 0o700))
  const run = (args: string[]) => (asRoot ? mezuAs(65534, args) : mezu(args))
  const before = asRoot ? snapshot(dataDir) : undefined
  const modeBefore = statSync(dataDir).mode

  const start = await run(['platform', 'start', '--data-dir', dataDir, '--api-port', '0', '--json'])
  t.is(start.code, 1, start.stderr)
  t.is(start.stdout, '')
  const err = JSON.parse(start.stderr).error
  t.is(err.code, 'platform')
  t.regex(err.message, /not readable/)
  const human = await run(['platform', 'start', '--data-dir', dataDir, '--api-port', '0'])
  t.is(human.code, 1)
  t.regex(human.stderr, /^Error: [^\n]*not readable[^\n]*\n$/)
  const status = await run(['platform', 'status', '--data-dir', dataDir, '--json'])
  t.is(status.code, 0)
  t.regex(JSON.parse(status.stdout).problem, /not readable/)
  for (const cmd of [['platform', 'trust'], ['platform', 'rotate-key']]) {
    const r = await run([...cmd, '--data-dir', dataDir, '--json'])
    t.is(r.code, 1)
    t.regex(JSON.parse(r.stderr).error.message, /not readable/)
  }

  t.is(statSync(dataDir).mode, modeBefore, 'the mode is unchanged')
  if (before) t.deepEqual(snapshot(dataDir), before, 'the files are unchanged')
})
