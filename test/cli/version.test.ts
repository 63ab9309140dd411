import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'
import {mezu, WARPGATE_BIN} from '../helpers/cli.js'

const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'package.json'), 'utf8')) as {version: string}

test('mezu-warpgate --version prints the package version like mezu --version, and as JSON under --json', async (t) => {
  const cli = await mezu(['--version'])
  t.is(cli.code, 0)
  t.regex(cli.stdout, new RegExp(`/${pkg.version.replaceAll('.', '\\.')} \\S+ node-v`))
  const wg = await mezu(['--version'], {bin: WARPGATE_BIN})
  t.is(wg.code, 0, wg.stderr)
  t.is(wg.stderr, '')
  t.is(wg.stdout, `mezu-warpgate/${pkg.version} ${process.platform}-${process.arch} node-${process.version}\n`)
  t.is(wg.stdout.split(' ').slice(1).join(' '), cli.stdout.split(' ').slice(1).join(' '), 'the same platform and node words as mezu --version')
  const json = await mezu(['--version', '--json'], {bin: WARPGATE_BIN})
  t.deepEqual(JSON.parse(json.stdout), {version: pkg.version, platform: `${process.platform}-${process.arch}`, node: process.version})
})
