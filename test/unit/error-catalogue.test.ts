import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'
import {API_ERRORS} from '../../platform/control/errors.js'
import {CLI_ERRORS} from '../../src/lib/errors.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** The rows of the first markdown table after a line containing `heading`: cells, trimmed, without the header. */
function tableAfter(heading: string): string[][] {
  const lines = readme.split('\n')
  const start = lines.findIndex((l) => l.includes(heading))
  if (start < 0) throw new Error(`README has no "${heading}"`)
  const rows: string[][] = []
  let i = start + 1
  while (i < lines.length && !lines[i].startsWith('|')) i++
  for (; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i].split('|').slice(1, -1).map((c) => c.trim()))
  return rows.slice(2)
}

const code = (cell: string) => /^`([a-z_]+)`$/.exec(cell)?.[1] ?? `(not a code: ${cell})`

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

test('the README documents every API error code with its status, and nothing else', (t) => {
  const rows = tableAfter('API errors')
  t.true(rows.length > 5)
  t.deepEqual(rows.map((r) => code(r[0])).sort(), Object.keys(API_ERRORS).sort())
  for (const [c, status] of rows) t.is(Number(status), API_ERRORS[code(c) as keyof typeof API_ERRORS]?.status, `status of ${c}`)
})

test('the README documents every CLI error code, and nothing else', (t) => {
  const rows = tableAfter('CLI errors')
  t.true(rows.length > 5)
  t.deepEqual(rows.map((r) => code(r[0])).sort(), Object.keys(CLI_ERRORS).sort())
  t.true(rows.every((r) => r[1].length > 0), 'each has a meaning')
})

test('the CLI raises only catalogued codes', (t) => {
  const known = new Set([...Object.keys(CLI_ERRORS), ...Object.keys(API_ERRORS)])
  const used = new Set<string>()
  for (const file of sources('src')) {
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/new MezuError\(\s*'([^']+)'/g)) used.add(m[1])
  }
  t.true(used.size > 5)
  t.deepEqual([...used].filter((c) => !known.has(c)), [])
})
