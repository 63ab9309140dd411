import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*from\s+'([^']+)'/gm)].map((m) => join(dirname(file), m[1]!))
}

test('platform/edge never imports platform/store or platform/control', (t) => {
  for (const file of sources(join(ROOT, 'platform', 'edge'))) {
    for (const target of imports(file)) {
      const rel = relative(ROOT, target)
      t.false(rel.startsWith('platform/store') || rel.startsWith('platform/control'), `${relative(ROOT, file)} imports ${rel}`)
    }
  }
})

test('src/warpgate/assertion.ts imports nothing from platform/', (t) => {
  for (const target of imports(join(ROOT, 'src', 'warpgate', 'assertion.ts'))) t.false(relative(ROOT, target).startsWith('platform'), target)
})
