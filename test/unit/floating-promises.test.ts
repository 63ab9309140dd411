import {spawnSync} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

// The store is asynchronous: a store call whose promise is dropped escapes its transaction (and
// its errors), and a promise used as a condition is always true. tsc flags neither.
test('no promise in the sources is dropped or used as a condition', (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'floating-promises.mjs')], {cwd: ROOT, encoding: 'utf8'})
  t.is(r.status, 0, r.stdout + r.stderr)
  t.regex(r.stderr, /^0 finding\(s\)/m)
})
