import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import test from 'ava'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

test('the README\'s command reference is the one generated from oclif.manifest.json (npm run docs:commands)', (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'docs-commands.js'), '--check'], {encoding: 'utf8'})
  t.is(r.status, 0, r.stderr)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {summary: string}>}
  for (const [id, cmd] of Object.entries(manifest.commands)) {
    t.true(readme.includes(`\`mezu ${id.replaceAll(':', ' ')}`), `${id} is in the reference`)
    t.true(readme.includes(cmd.summary), `${id}'s summary is in the reference`)
  }
})

test('the check fails when the README is stale', (t) => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import {renderCommands} from ${JSON.stringify(join(ROOT, 'bin', 'docs-commands.js'))}
    const manifest = {commands: {'x:y': {summary: 'one', aliases: [], args: {}, flags: {}}}}
    process.stdout.write(renderCommands(manifest))
  `], {encoding: 'utf8'})
  t.is(r.status, 0, r.stderr)
  t.regex(r.stdout, /\| `mezu x y` \| one \|/)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  t.false(readme.includes(r.stdout), 'a different manifest renders differently, so --check would fail')
})
