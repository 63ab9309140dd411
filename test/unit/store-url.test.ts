import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import test from 'ava'
import {clientConfig, redactUrl} from '../../platform/store/engines/postgres.js'

test('a store URL that is not postgres:// is refused by name, and the password never shows in messages', (t) => {
  t.throws(() => clientConfig('not a url'), {message: /the store URL is not a URL \(expected postgres:\/\/USER@HOST:PORT\/DATABASE\)/})
  t.throws(() => clientConfig('mysql://mezu@db/mezu'), {message: 'the store URL must start with postgres:// (got mysql://)'})
  t.is(redactUrl('postgres://mezu:s3cret@db:5432/mezu'), 'postgres://mezu:***@db:5432/mezu')
  t.notRegex(redactUrl('postgres://mezu:s3cret@db/mezu'), /s3cret/)
})

test('the password file is read and trimmed; a missing or empty one is refused naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mezu-pw-'))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  const file = join(dir, 'db-password')
  writeFileSync(file, 'correct horse\n')
  chmodSync(file, 0o600)
  const config = clientConfig('postgres://mezu@db/mezu', file)
  t.is(config.password, 'correct horse')
  t.is(config.options, '-c search_path=identity,config')
  t.is(clientConfig('postgres://mezu@db/mezu').password, undefined)
  t.throws(() => clientConfig('postgres://mezu@db/mezu', join(dir, 'missing')), {message: `cannot read the store password file ${join(dir, 'missing')} (ENOENT)`})
  writeFileSync(file, '  \n')
  t.throws(() => clientConfig('postgres://mezu@db/mezu', file), {message: `the store password file ${file} is empty`})
})
