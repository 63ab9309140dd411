import {spawn} from 'node:child_process'
import {join} from 'node:path'
import test from 'ava'
import {BIN} from '../helpers/cli.js'
import {startOrigin} from '../helpers/origin.js'
import {startTestPlatform, tempDir} from '../helpers/platform.js'
import {addProjectEnv, addRoute} from '../helpers/routes.js'
import {cliUser, ownerCli} from '../helpers/session.js'
import {edgeRequest, startTunnelCli} from '../helpers/tunnel.js'

test('a logged-in user\'s mezu tunnel registers a Warpgate on the fly, serves, exits 0 on SIGINT, and with --state comes back as the same one', async (t) => {
  const platform = await startTestPlatform(t)
  const scope = await addProjectEnv(platform)
  const origin = await startOrigin(t)
  await addRoute(platform, {...scope, hostname: 'fly.mezu.localhost', service: 'fly'})
  const owner = await ownerCli(t, platform)
  const state = join(tempDir(t), 'fly.json')
  const args = [String(origin.port), '--name', 'fly', '--project', 'demo', '--env', 'prod', '--state', state]
  const child = spawn(process.execPath, [BIN, 'tunnel', ...args, '--connections', '1', '--json'], {
    env: {...process.env, ...owner.env, CI: '1', MEZU_WARPGATE_TOKEN: ''}, stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stderr.on('data', (d) => (err += d))
  const connected = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not connected; stderr: ${err}`)), 20_000)
    child.stdout.on('data', (d) => {
      out += d
      if (/"type":"connected"/.test(out)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  await connected
  const registered = out.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'registered')
  t.is(registered.service, 'fly')
  t.deepEqual(registered.urls, [`https://fly.mezu.localhost:${platform.ports.edge}/`])
  t.is((await edgeRequest(platform, 'fly.mezu.localhost', '/hello')).text, 'hello from origin\n')
  const listed = await owner.json(['warpgates', 'list'])
  t.deepEqual(listed.items.map((w: any) => [w.name, w.status]), [['fly', 'connected']])
  child.kill('SIGINT')
  t.is(await exited, 0, err)
  // --state: started again, it is the same Warpgate; no second one is registered
  const again = await startTunnelCli(t, args, owner.env)
  t.is(again.events.find((e) => e.type === 'registered')?.warpgateId, registered.warpgateId)
  t.is((await owner.json(['warpgates', 'list'])).items.length, 1)
  t.is(await again.stop(), 0, again.stderr())
})

test('mezu tunnel refuses a bad TARGET, --grace or --token with a usage error naming it, and starts nothing', async (t) => {
  const platform = await startTestPlatform(t)
  const user = cliUser(t, platform)
  const target = await user.run(['tunnel', 'ftp://x', '--token', 'mezu_wg_x', '--json'])
  t.is(target.code, 2)
  t.regex(JSON.parse(target.stderr).error.message, /TARGET/)
  const port = await user.run(['tunnel', '70000', '--token', 'mezu_wg_x', '--json'])
  t.is(port.code, 2)
  t.regex(JSON.parse(port.stderr).error.message, /port/)
  const grace = await user.run(['tunnel', '3000', '--token', 'mezu_wg_x', '--grace', 'soon', '--json'])
  t.is(grace.code, 2)
  t.regex(JSON.parse(grace.stderr).error.message, /--grace/)
  const token = await user.run(['tunnel', '3000', '--token', 'mezu_sess_nope', '--json'])
  t.is(token.code, 2)
  t.regex(JSON.parse(token.stderr).error.message, /--token/)
  const used = await user.run(['tunnel', '3000', '--token', 'mezu_wg_' + 'A'.repeat(43), '--json'])
  t.is(used.code, 1)
  t.is(JSON.parse(used.stderr).error.code, 'unauthenticated')
  const anonymous = await user.run(['tunnel', '3000', '--project', 'demo', '--env', 'prod', '--json'])
  t.is(anonymous.code, 1)
  t.is(JSON.parse(anonymous.stderr).error.code, 'not_logged_in')
})

test('for people, mezu tunnel hints at --route only when it has no route to make', async (t) => {
  const platform = await startTestPlatform(t)
  await addProjectEnv(platform)
  const origin = await startOrigin(t)
  const owner = await ownerCli(t, platform)
  // Runs `mezu tunnel` without --json until `until` shows on stdout, then stops it with SIGINT.
  const screen = async (args: string[], until: RegExp): Promise<string> => {
    const child = spawn(process.execPath, [BIN, 'tunnel', String(origin.port), '--project', 'demo', '--env', 'prod', '--connections', '1', ...args], {
      env: {...process.env, ...owner.env, CI: '1', MEZU_WARPGATE_TOKEN: ''}, stdio: ['ignore', 'pipe', 'pipe'],
    })
    t.teardown(() => child.kill('SIGKILL'))
    let out = ''
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${until} in: ${out}; stderr: ${err}`)), 20_000)
      child.stdout.on('data', (d) => {
        out += d
        if (until.test(out)) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    child.kill('SIGINT')
    t.is(await exited, 0, err)
    return out
  }
  const bare = await screen(['--name', 'bare'], /connection 0 up/)
  t.regex(bare, /No route points at "bare" yet: add one with --route HOST/)
  const routed = await screen(['--name', 'routed', '--route', 'routed'], /Public URL: https:\/\/routed\.mezu\.localhost:\d+\//)
  t.notRegex(routed, /No route points/)
})
