import test from 'ava'
import {startTestPlatform} from '../helpers/platform.js'
import {mezuOnPty} from '../helpers/pty.js'
import {cliUser, ownerCli} from '../helpers/session.js'

test('on a terminal, delete asks first: "no" keeps the user, "yes" erases them', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['users', 'create', '--email', 'tty@example.test'])

  const no = mezuOnPty(['users', 'delete', 'tty@example.test'], owner.env)
  await no.waitFor(/Erase tty@example\.test/)
  no.type('n\r')
  const refused = await no.done
  t.is(refused.code, 1)
  t.regex(refused.output, /not confirmed/)
  t.is((await owner.json(['users', 'get', 'tty@example.test'])).status, 'invited')

  const yes = mezuOnPty(['users', 'delete', 'tty@example.test'], owner.env)
  await yes.waitFor(/Erase tty@example\.test/)
  yes.type('y\r')
  const erased = await yes.done
  t.is(erased.code, 0, erased.output)
  t.regex(erased.output, /Erased tty@example\.test/)
  t.is((await owner.run(['users', 'get', 'tty@example.test', '--json'])).code, 1)
})

test('on a terminal, login --invite asks for the new password twice and refuses when they differ', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const {invite} = await owner.json(['users', 'create', '--email', 'pat@example.test'])
  const pat = cliUser(t, platform)

  const differ = mezuOnPty(['login', '--invite', invite.code], pat.env)
  await differ.waitFor(/New password/)
  differ.type('first password\r')
  await differ.waitFor(/Repeat/)
  differ.type('other password\r')
  const bad = await differ.done
  t.is(bad.code, 1)
  t.regex(bad.output, /differ/)

  const ok = mezuOnPty(['login', '--invite', invite.code], pat.env)
  await ok.waitFor(/New password/)
  ok.type('same password\r')
  await ok.waitFor(/Repeat/)
  ok.type('same password\r')
  const good = await ok.done
  t.is(good.code, 0, good.output)
  t.notRegex(good.output, /same password/)
  t.is((await pat.json(['whoami'])).principal.name, 'pat@example.test')
})

test('on a terminal, export shows progress on stderr; piped, it does not', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const run = mezuOnPty(['users', 'export', '--format', 'csv'], owner.env)
  const res = await run.done
  t.is(res.code, 0)
  t.regex(res.output, /Exported 1 user\(s\)/)
  const piped = await owner.run(['users', 'export', '--format', 'csv'])
  t.notRegex(piped.stdout + piped.stderr, /Exported/)
})
