import {randomBytes} from 'node:crypto'
import {closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {BackupFileError, createBackup, MasterKeyMismatchError, type RestoreKey, restoreBackup, TargetNotEmptyError} from '../../platform/backup/backup.js'
import {MAGIC} from '../../platform/backup/archive.js'
import {buildConfig} from '../../platform/config.js'
import {initDataDir} from '../../platform/init.js'
import {startPlatform} from '../../platform/server.js'
import {api, loginToken} from '../helpers/api.js'
import {mezu} from '../helpers/cli.js'
import {ADMIN_EMAIL, ADMIN_PASSWORD, startTestPlatform, tempDir} from '../helpers/platform.js'

const mode = (path: string) => statSync(path).mode & 0o777

/** Every project name visible to the owner, across pages. */
async function projectNames(apiUrl: string, caPem: string, token: string): Promise<Set<string>> {
  const names = new Set<string>()
  let cursor: string | null = null
  do {
    const r = await api(apiUrl, caPem, 'GET', `/v1/projects?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {token})
    if (r.status !== 200) throw new Error(`list projects: ${r.status} ${r.text}`)
    for (const p of r.body.items) names.add(p.name)
    cursor = r.body.nextCursor
  } while (cursor)
  return names
}

test('a backup taken during a write burst holds every write acknowledged before it started, and the restored directory runs a platform', async (t) => {
  const p = await startTestPlatform(t)
  const dir = p.dir
  const owner = await loginToken(p.apiUrl, p.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)

  // The burst: projects created one after another through the API, each acknowledgement timed.
  const acked: Array<{name: string; at: number}> = []
  let bursting = true
  let warmedUp!: () => void
  const tenAcked = new Promise<void>((resolve) => (warmedUp = resolve))
  const burst = (async () => {
    for (let i = 0; bursting; i++) {
      const name = `burst-${i}`
      const r = await api(p.apiUrl, p.caPem, 'POST', '/v1/projects', {token: owner, body: {name}})
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.text}`)
      acked.push({name, at: Date.now()})
      if (acked.length === 10) warmedUp()
    }
  })()
  t.teardown(() => {
    bursting = false
  })
  await Promise.race([tenAcked, burst])

  const output = join(dir, 'mezu.bak')
  const startedAt = Date.now()
  const backup = await mezu(['platform', 'backup', '--data-dir', p.dataDir, '--output', output, '--json'])
  const writesDuringBackup = acked.filter((a) => a.at > startedAt).length
  bursting = false
  await burst
  t.is(backup.code, 0, backup.stderr)
  t.true(writesDuringBackup > 0, 'the platform kept acknowledging writes while the backup ran')
  const report = JSON.parse(backup.stdout)
  t.is(report.output, output)
  t.deepEqual(report.parts.map((x: {name: string}) => x.name), ['identity.db', 'config.db', 'ca.pem'])
  t.regex(report.masterKeyId, /^v1-[0-9a-f]{24}$/)
  t.is(mode(output), 0o600)
  t.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.mezu.bak')), [], 'no work files left beside the backup')
  t.false(readFileSync(output).includes(readFileSync(join(p.dataDir, 'master.key'))), 'the master key is not in the backup')

  const target = join(dir, 'restored')
  const restored = await mezu(['platform', 'restore', output, '--data-dir', target, '--master-key-file', join(p.dataDir, 'master.key'), '--json'])
  t.is(restored.code, 0, restored.stderr)
  t.is(restored.json().masterKeyId, report.masterKeyId)
  t.is(mode(target), 0o700)
  t.deepEqual(readdirSync(target).sort(), ['ca.pem', 'config.db', 'identity.db', 'master.key'])
  for (const f of readdirSync(target)) t.is(mode(join(target, f)), 0o600, f)

  const again = await startPlatform(buildConfig({dataDir: target, apiPort: 0, edgePort: 0, tunnelPort: 0}), {})
  t.teardown(() => again.stop())
  t.is(again.caPem, p.caPem, 'the restored platform keeps its CA')
  const token = await loginToken(again.apiUrl, again.caPem, ADMIN_EMAIL, ADMIN_PASSWORD)
  const names = await projectNames(again.apiUrl, again.caPem, token)
  const missing = acked.filter((a) => a.at <= startedAt && !names.has(a.name)).map((a) => a.name)
  t.deepEqual(missing, [], 'every write acknowledged before the backup started is restored')
  t.true(names.size >= acked.filter((a) => a.at <= startedAt).length)
})

test('restore refuses a truncated, an altered or a foreign-key backup and a non-empty target, and writes nothing', async (t) => {
  const dir = tempDir(t)
  const dataDir = join(dir, 'data')
  await initDataDir({dataDir, adminEmail: ADMIN_EMAIL, adminPassword: ADMIN_PASSWORD})
  const file = join(dir, 'good.bak')
  const made = await createBackup({dataDir, output: file})
  const keyFile = join(dataDir, 'master.key')
  const key = {file: keyFile}
  const copy = (name: string) => {
    const path = join(dir, name)
    copyFileSync(file, path)
    return path
  }
  const flip = (path: string, offset: number) => {
    const fd = openSync(path, 'r+')
    const b = Buffer.alloc(1)
    readSync(fd, b, 0, 1, offset)
    b[0] ^= 0x01
    writeSync(fd, b, 0, 1, offset)
    closeSync(fd)
  }
  const size = statSync(file).size
  const manifestLength = readFileSync(file).readUInt32BE(MAGIC.length)
  const partsStart = MAGIC.length + 4 + manifestLength
  const target = () => join(dir, `t-${randomBytes(4).toString('hex')}`)
  const refused = async (path: string, expected: RegExp, cls: new (...a: any[]) => Error, k: RestoreKey = key) => {
    const into = target()
    const e = await t.throwsAsync(restoreBackup({file: path, dataDir: into, key: k}), {instanceOf: cls})
    t.regex(e!.message, expected)
    t.false(existsSync(into), `nothing was written for ${path}`)
  }

  const cut = copy('cut.bak')
  truncateSync(cut, size - 100)
  await refused(cut, /is truncated: \d+ of \d+ bytes; part ca\.pem is incomplete/, BackupFileError)
  const cutEarly = copy('cut-early.bak')
  truncateSync(cutEarly, partsStart + 10)
  await refused(cutEarly, /is truncated: .*part identity\.db is incomplete/, BackupFileError)
  const headless = copy('headless.bak')
  truncateSync(headless, 5)
  await refused(headless, /is not a Mezusphere backup/, BackupFileError)

  const inIdentity = copy('flip-identity.bak')
  flip(inIdentity, partsStart + 2000)
  await refused(inIdentity, /part identity\.db of .* is damaged: its SHA-256 does not match/, BackupFileError)
  const inConfig = copy('flip-config.bak')
  flip(inConfig, partsStart + made.parts[0].size + 100)
  await refused(inConfig, /part config\.db of .* is damaged/, BackupFileError)
  const inMac = copy('flip-mac.bak')
  flip(inMac, size - 1)
  await refused(inMac, /was altered after it was written: its authentication code does not match/, BackupFileError)
  // A forger who rewrites a part and its hash in the manifest still lacks the MAC key.
  const forged = copy('forged.bak')
  const bytes = readFileSync(forged)
  const manifest = JSON.parse(bytes.subarray(MAGIC.length + 4, partsStart).toString('utf8'))
  manifest.createdAt = manifest.createdAt.replace(/^\d{4}/, '1999')
  const json = Buffer.from(JSON.stringify(manifest))
  t.is(json.length, manifestLength)
  writeFileSync(forged, Buffer.concat([bytes.subarray(0, MAGIC.length + 4), json, bytes.subarray(partsStart)]))
  await refused(forged, /was altered after it was written/, BackupFileError)

  const otherKey = join(dir, 'other.key')
  writeFileSync(otherKey, 'v1:' + randomBytes(32).toString('base64') + '\n', {mode: 0o600})
  await refused(file, new RegExp(`was made with master key ${made.masterKeyId}, but the key given \\(.*other\\.key\\) is v1-[0-9a-f]{24}`), MasterKeyMismatchError, {file: otherKey})
  await refused(file, /never holds the master key: give the key it was made with \(v1-[0-9a-f]{24}\) with --master-key-file/, MasterKeyMismatchError, {})

  const busy = join(dir, 'busy')
  mkdirSync(busy)
  writeFileSync(join(busy, 'notes.txt'), 'keep me')
  await t.throwsAsync(restoreBackup({file, dataDir: busy, key}), {instanceOf: TargetNotEmptyError, message: /busy is not empty \(it holds notes\.txt\)/})
  t.deepEqual(readdirSync(busy), ['notes.txt'])

  // The same refusals through the CLI: exit 1 and a JSON error with a stable code.
  const tampered = await mezu(['platform', 'restore', inIdentity, '--data-dir', target(), '--master-key-file', keyFile, '--json'])
  t.is(tampered.code, 1)
  t.is(JSON.parse(tampered.stderr).error.code, 'backup_invalid')
  t.regex(JSON.parse(tampered.stderr).error.message, /identity\.db/)
  const wrongKey = await mezu(['platform', 'restore', file, '--data-dir', target(), '--master-key-file', otherKey, '--json'])
  t.is(wrongKey.code, 1)
  t.is(JSON.parse(wrongKey.stderr).error.code, 'master_key_mismatch')
  const nonEmpty = await mezu(['platform', 'restore', file, '--data-dir', busy, '--master-key-file', keyFile, '--json'])
  t.is(nonEmpty.code, 1)
  t.regex(JSON.parse(nonEmpty.stderr).error.message, /is not empty/)

  // The right key by MEZU_MASTER_KEY restores without writing a key file.
  const viaEnv = target()
  const r = await restoreBackup({file, dataDir: viaEnv, key: {env: readFileSync(keyFile, 'utf8').trim()}})
  t.is(r.masterKeyFile, null)
  t.deepEqual(readdirSync(viaEnv).sort(), ['ca.pem', 'config.db', 'identity.db'])

  // A half-finished key rotation leaves two keys in use: no backup until it is finished.
  writeFileSync(join(dataDir, 'master.key.next'), 'v2:' + randomBytes(32).toString('base64') + '\n', {mode: 0o600})
  await t.throwsAsync(createBackup({dataDir, output: join(dir, 'mid-rotation.bak')}), {message: /master-key rotation is unfinished .*mezu platform rotate-key/})
  t.false(existsSync(join(dir, 'mid-rotation.bak')))
})
