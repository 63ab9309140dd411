import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {mezu} from '../helpers/cli.js'
import {tempDir} from '../helpers/platform.js'

test('mezu autocomplete bash prints the setup, and the generated bash and zsh scripts complete our commands and flags', async (t) => {
  const cache = tempDir(t)
  const env = {MEZU_CONFIG_DIR: tempDir(t), XDG_CACHE_HOME: cache}
  const setup = await mezu(['autocomplete', 'bash'], {env})
  t.is(setup.code, 0, setup.stderr)
  t.regex(setup.stdout, /mezu autocomplete script bash/)
  t.regex(setup.stdout, /~\/\.bashrc/)

  const script = await mezu(['autocomplete', 'script', 'bash'], {env})
  t.is(script.code, 0, script.stderr)
  t.regex(script.stdout, /MEZU_AC_BASH_SETUP_PATH=/)

  const bash = join(cache, 'mezu', 'autocomplete', 'functions', 'bash', 'mezu.bash')
  const zsh = join(cache, 'mezu', 'autocomplete', 'functions', 'zsh', '_mezu')
  t.true(existsSync(bash), bash)
  const bashText = readFileSync(bash, 'utf8')
  t.regex(bashText, /complete (-o default )?-F _mezu_autocomplete mezu/)
  for (const word of ['routes:create', 'context:use', 'doctor', '--hostname', '--no-headers']) t.true(bashText.includes(word), `bash completes ${word}`)

  const zshRun = await mezu(['autocomplete', 'zsh'], {env})
  t.is(zshRun.code, 0, zshRun.stderr)
  t.true(existsSync(zsh), zsh)
  const zshText = readFileSync(zsh, 'utf8')
  t.regex(zshText, /^#compdef mezu/)
  for (const word of ['routes', 'doctor', 'context']) t.true(zshText.includes(word), `zsh completes ${word}`)
})
