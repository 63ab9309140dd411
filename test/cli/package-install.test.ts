import {spawn} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {api} from '../helpers/api.js'
import {BIN} from '../helpers/cli.js'
import {firstLine, stopChild} from '../../src/lib/local-platform.js'
import {tempDir} from '../helpers/platform.js'

const ROOT = join(BIN, '..', '..')
/** What `npm pack` needs to build: the sources, not dist (prepack must make it). */
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'oclif.manifest.json', 'bin', 'src', 'platform', 'templates', 'test', 'bench', 'deploy']

/** Runs a command to completion without blocking the event loop (ava's timeout messages must get out). */
function run(cmd: string, args: string[], opts: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
  })
}

test('the packed tarball builds itself, ships only what the binaries need, and installed globally runs mezu and mezu-warpgate', async (t) => {
  // npm pack builds the project and the install fetches its dependencies.
  t.timeout(6 * 60_000)
  const dir = tempDir(t, 'mezu-pack-')
  const src = join(dir, 'src')
  for (const entry of SOURCES) cpSync(join(ROOT, entry), join(src, entry), {recursive: true})
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(src, 'node_modules'))

  const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], {cwd: src})
  t.is(pack.code, 0, pack.stderr)
  t.true(existsSync(join(src, 'dist', 'src', 'commands', 'platform', 'start.js')), 'prepack built dist')
  // Build scripts print to stdout before npm's JSON document.
  const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('\n[') + 1)) as Array<{filename: string; files: Array<{path: string}>}>
  const files = info.files.map((f) => f.path)
  for (const needed of ['bin/run.js', 'bin/warpgate.js', 'oclif.manifest.json', 'dist/src/commands/platform/start.js', 'dist/src/warpgate/main.js', 'dist/platform/server.js', 'templates/pages/login.html', 'templates/services/hello/mezu.json', 'deploy/systemd/mezu-platform.service', 'deploy/systemd/mezu-warpgate@.service']) {
    t.true(files.includes(needed), `ships ${needed}`)
  }
  const unwanted = files.filter((f) => /^dist\/(test|bench)\/|^(src|platform|test|bench)\/|\.map$|\.ts$|^bin\/(dev|demo)\.js$|^tsconfig/.test(f))
  t.deepEqual(unwanted, [], 'no tests, bench, sources, source maps or development entry points')

  const prefix = join(dir, 'prefix')
  // better-sqlite3's install script (prebuild-install, else a 3-minute node-gyp compile) looks for a
  // prebuilt binary in a local folder before GitHub, which this machine cannot reach: hand it the
  // module this checkout's npm ci built, packed the way its release assets are.
  const prebuilds = join(dir, 'prebuilds')
  const sqlite = join(ROOT, 'node_modules', 'better-sqlite3')
  const sqliteVersion = (JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as {version: string}).version
  mkdirSync(prebuilds)
  const asset = join(prebuilds, `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`)
  const tar = await run('tar', ['-czf', asset, '-C', sqlite, 'build/Release/better_sqlite3.node'])
  t.is(tar.code, 0, tar.stderr)
  const install = await run('npm', ['install', '--global', '--prefix', prefix, join(dir, info.filename), '--prefer-offline', '--no-audit', '--no-fund', '--allow-scripts=better-sqlite3'], {
    env: {...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds},
  })
  t.is(install.code, 0, install.stderr)
  const installed = join(prefix, 'lib', 'node_modules', 'mezusphere')
  t.false(existsSync(join(installed, 'dist', 'test')))
  const version = (JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {version: string}).version

  // The installed binaries, with nothing of this checkout on their path or in their environment.
  const home = join(dir, 'home')
  const env: NodeJS.ProcessEnv = {PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: home, CI: '1', MEZU_CONFIG_DIR: join(home, 'config'), MEZU_DATA_DIR: join(home, 'data')}
  const mezuBin = join(prefix, 'bin', 'mezu')
  const warpgateBin = join(prefix, 'bin', 'mezu-warpgate')

  const v = await run(mezuBin, ['--version'], {env})
  t.is(v.code, 0, v.stderr)
  t.true(v.stdout.startsWith(`mezusphere/${version} `), v.stdout)

  const init = await run(mezuBin, ['platform', 'init', '--admin-email', 'owner@example.test', '--json'], {env})
  t.is(init.code, 0, init.stderr)
  const initialized = JSON.parse(init.stdout)
  t.is(initialized.adminEmail, 'owner@example.test')

  const platform = spawn(mezuBin, ['platform', 'start', '--api-port', '0', '--edge-port', '0', '--tunnel-port', '0', '--log-level', 'warn', '--json'], {env, stdio: ['ignore', 'pipe', 'pipe']})
  t.teardown(() => stopChild(platform))
  let stderr = ''
  platform.stderr!.on('data', (d) => (stderr += d))
  const started = JSON.parse(await firstLine(platform, 'mezu platform start').catch((error) => Promise.reject(new Error(`${error.message}\n${stderr}`))))
  t.regex(started.apiUrl, /^https:\/\/127\.0\.0\.1:\d+/)
  const health = await api(started.apiUrl, readFileSync(started.caPath, 'utf8'), 'GET', '/healthz')
  t.is(health.status, 200)
  const exited = new Promise<number | null>((resolve) => platform.once('exit', (code) => resolve(code)))
  platform.kill('SIGTERM')
  t.is(await exited, 0, 'SIGTERM stops the platform cleanly')

  const help = await run(warpgateBin, ['--help'], {env})
  t.is(help.code, 0, help.stderr)
  t.regex(help.stdout, /mezu-warpgate TARGET/)
  const wv = await run(warpgateBin, ['--version'], {env})
  t.is(wv.code, 0, wv.stderr)
  t.is(wv.stdout.split(' ')[0], `mezu-warpgate/${version}`, 'the version from the installed package')
})
