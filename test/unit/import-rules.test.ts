import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

interface Import {
  file: string
  /** the specifier as written */
  spec: string
  /** repo-relative .ts path for project imports, else undefined */
  target?: string
}

function sources(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(ROOT, dir), {withFileTypes: true})) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sources(p))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** Every import, re-export and dynamic import of a file (type-only ones too: they couple modules the same way). */
function importsOf(file: string, text = readFileSync(join(ROOT, file), 'utf8')): Import[] {
  const specs = new Set<string>()
  const patterns = [/\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g]
  for (const re of patterns) for (const m of text.matchAll(re)) specs.add(m[1])
  return [...specs].map((spec) => ({
    file,
    spec,
    target: spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts') : undefined,
  }))
}

const all = [...sources('src'), ...sources('platform')].flatMap((f) => importsOf(f))
const from = (prefix: string) => all.filter((i) => i.file.startsWith(prefix))
const show = (bad: Import[]) => bad.map((i) => `${i.file} imports ${i.spec}`).join('\n')

test('the scanner sees imports of every form', (t) => {
  const found = importsOf('src/commands/x.ts', `import a from './a.js'\nimport type {B} from '../lib/b.js'\nexport {c} from "./c.js"\nimport './side.js'\nconst d = await import('node:fs')\nimport {\n  e,\n  f,\n} from 'got'`)
  t.deepEqual(found.map((i) => i.spec).sort(), ['../lib/b.js', './a.js', './c.js', './side.js', 'got', 'node:fs'])
  t.is(found.find((i) => i.spec === '../lib/b.js')!.target, 'src/lib/b.ts')
  t.true(all.length > 100, `scanned ${all.length} imports`)
})

test('src/protocol imports nothing from the project outside itself', (t) => {
  const bad = from('src/protocol/').filter((i) => i.target && !i.target.startsWith('src/protocol/'))
  t.is(show(bad), '')
})

test('platform/edge never imports platform/store, and edge and Warpgate never import each other', (t) => {
  t.is(show(from('platform/edge/').filter((i) => i.target?.startsWith('platform/store/') || i.target?.startsWith('src/warpgate/'))), '')
})

test('src/warpgate never imports platform/*', (t) => {
  t.is(show(from('src/warpgate/').filter((i) => i.target?.startsWith('platform/'))), '')
})

test('src/warpgate never imports the update notifier: the connector calls nothing but its edge', (t) => {
  t.is(show(from('src/warpgate/').filter((i) => i.target === 'src/lib/update-notice.ts' || i.target === 'src/lib/base-command.ts')), '')
})

test('commands import only src/lib, except platform commands (admin, server) and tunnel (the connector\'s public face, src/warpgate/index.ts)', (t) => {
  const allowed = (i: Import) => {
    const target = i.target!
    if (target.startsWith('src/lib/')) return true
    if (i.file.startsWith('src/commands/platform/') && (target === 'platform/admin.ts' || target === 'platform/server.ts')) return true
    if (/^src\/commands\/tunnel(\.ts|\/)/.test(i.file) && target === 'src/warpgate/index.ts') return true
    return false
  }
  const commands = from('src/commands/')
  t.true(commands.length > 20)
  t.is(show(commands.filter((i) => i.target && !allowed(i))), '')
})

test('no command file imports got, fs, better-sqlite3 or tls', (t) => {
  const banned = /^(?:node:)?(?:fs|fs\/promises|tls)$|^got$|^better-sqlite3$/
  t.is(show(from('src/commands/').filter((i) => banned.test(i.spec))), '')
})

test('only platform/store knows the database engines (better-sqlite3, pg, kysely)', (t) => {
  const bad = all.filter((i) => ['better-sqlite3', 'pg', 'kysely'].includes(i.spec) && !i.file.startsWith('platform/store/'))
  t.is(show(bad), '')
})
