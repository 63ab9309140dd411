import {webcrypto} from 'node:crypto'
import * as x509 from '@peculiar/x509'
import test from 'ava'
import {parseJoinToken} from '../../src/protocol/edge-join.js'
import {api, loginToken} from '../helpers/api.js'
import {ADMIN_PASSWORD, startTestPlatform} from '../helpers/platform.js'
import {mezuOnPty} from '../helpers/pty.js'
import {errorOf, seedUser} from '../helpers/seed-user.js'
import {cliUser, ownerCli} from '../helpers/session.js'

x509.cryptoProvider.set(webcrypto as never)

async function csr(): Promise<string> {
  const algorithm = {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'}
  const keys = await webcrypto.subtle.generateKey(algorithm, false, ['sign', 'verify']) as webcrypto.CryptoKeyPair
  return (await x509.Pkcs10CertificateRequestGenerator.create({name: 'CN=edge', keys: keys as never, signingAlgorithm: algorithm})).toString('pem')
}

// Serial on purpose: each test spawns many CLI processes (see sessions.test.ts).
test.serial('edges create prints the join token once with the command to run; --json prints the token, the command and the edge', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const human = await owner.run(['edges', 'create', '--name', 'fra-1'])
  t.is(human.code, 0, human.stderr)
  const token = /^ {2}(mezu_edge_\S+)$/m.exec(human.stdout)?.[1]
  t.truthy(token && parseJoinToken(token), human.stdout)
  t.regex(human.stdout, /Created edge fra-1 \(edg_[0-9a-z]{20}\)/)
  t.true(human.stdout.includes(`mezu platform start --role edge --control-url ${platform.apiUrl} --join-token ${token}`), human.stdout)

  const created = await owner.json(['edges', 'create', '-n', 'fra-2'])
  t.deepEqual(Object.keys(created).sort(), ['command', 'edge', 'joinToken'])
  t.like(created.edge, {name: 'fra-2', status: 'pending'})
  t.true(created.command.endsWith(`--join-token ${created.joinToken}`))
  const enrolled = await api(platform.apiUrl, platform.caPem, 'POST', '/v1/edges/enrol', {body: {token: created.joinToken, csr: await csr()}})
  t.is(enrolled.status, 201, 'the printed token enrols')
  t.is(enrolled.body.edgeId, created.edge.id)

  t.is((await owner.json(['edges', 'create'])).edge.name, 'edge-1')
  const dup = await owner.run(['edges', 'create', '--name', 'FRA-1', '--json'])
  t.is(dup.code, 1)
  t.is(dup.stdout, '')
  t.is(errorOf(dup.stderr).code, 'conflict')
  t.regex(errorOf(dup.stderr).message, /"FRA-1"/)
  const bad = await owner.run(['edges', 'create', '--name', 'no spaces', '--json'])
  t.is(bad.code, 2, 'a name the API refuses is a usage error')
  t.is(errorOf(bad.stderr).code, 'invalid_request')
  const noValue = await owner.run(['edges', 'create', '--name', '--json'])
  t.is(noValue.code, 2)
})

test.serial('edges list shows status, version, address, config, Warpgates and last seen; --plain and --no-headers shape it; get shows one', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  const a = (await owner.json(['edges', 'create', '--name', 'a'])).edge
  const b = await owner.json(['edges', 'create', '--name', 'b'])
  t.is((await api(platform.apiUrl, platform.caPem, 'POST', '/v1/edges/enrol', {body: {token: b.joinToken, csr: await csr(), edgeUrl: 'https://b.example.net'}})).status, 201)
  platform.ctx.edgesLive = {live: (id) => (id === b.edge.id ? {connectedSince: Date.now() - 120_000, address: '198.51.100.4', version: '0.3.1', configVersion: 17, warpgateConnections: 2} : undefined)}

  const listed = await owner.json(['edges', 'list'])
  t.deepEqual(listed.items.map((e: any) => [e.name, e.status]), [['a', 'pending'], ['b', 'connected']])
  t.deepEqual((await owner.json(['edges'])).items.map((e: any) => e.id), listed.items.map((e: any) => e.id), 'list is the default')

  const plain = await owner.run(['edges', 'list', '--plain'])
  t.is(plain.code, 0, plain.stderr)
  const lines = plain.stdout.trimEnd().split('\n')
  t.is(lines[0], 'NAME\tID\tSTATUS\tVERSION\tADDRESS\tCONFIG\tWARPGATES\tLAST SEEN')
  t.is(lines[1], `a\t${a.id}\tpending\t\t\t\t\t-`)
  t.regex(lines[2], new RegExp(`^b\\t${b.edge.id}\\tconnected\\t0\\.3\\.1\\t198\\.51\\.100\\.4\\t17\\t2\\t\\d+s ago$`))
  const bare = await owner.run(['edges', 'list', '--no-headers'])
  t.deepEqual(bare.stdout.trimEnd().split('\n'), lines.slice(1), 'a pipe is plain; --no-headers drops the header')

  const got = await owner.run(['edges', 'get', 'b'])
  t.is(got.code, 0, got.stderr)
  for (const re of [/^name\s+b$/m, /^status\s+connected$/m, /^config version\s+17$/m, /^warpgate connections\s+2$/m, /^edge URL\s+https:\/\/b\.example\.net$/m, /^revoked\s+-$/m]) t.regex(got.stdout, re)
  t.is((await owner.json(['edges', 'get', a.id])).name, 'a')
  const missing = await owner.run(['edges', 'get', 'nope', '--json'])
  t.is(missing.code, 1)
  t.is(errorOf(missing.stderr).code, 'not_found')
  const noArg = await owner.run(['edges', 'get', '--json'])
  t.is(noArg.code, 2)
  t.is(errorOf(noArg.stderr).code, 'usage')
})

test.serial('edges revoke needs --yes without a terminal, revokes once, and is refused to a member', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['edges', 'create', '--name', 'gone'])

  for (const args of [['edges', 'revoke', 'gone'], ['edges', 'revoke', 'gone', '--json']]) {
    const r = await owner.run(args)
    t.is(r.code, 1, args.join(' '))
    t.regex(r.stderr, /not_confirmed|--yes/)
  }
  t.is((await owner.json(['edges', 'get', 'gone'])).status, 'pending', 'nothing was revoked')

  const revoked = await owner.json(['edges', 'revoke', 'gone', '--yes'])
  t.is(revoked.status, 'revoked')
  t.truthy(revoked.revokedAt)
  const again = await owner.run(['edges', 'revoke', 'gone', '-y', '--json'])
  t.is(again.code, 1)
  t.is(errorOf(again.stderr).code, 'conflict')

  await seedUser(platform, 'dev@example.test', {role: 'member', password: ADMIN_PASSWORD})
  const member = cliUser(t, platform, {MEZU_TOKEN: await loginToken(platform.apiUrl, platform.caPem, 'dev@example.test', ADMIN_PASSWORD)})
  for (const args of [['edges', 'list'], ['edges', 'create'], ['edges', 'revoke', 'gone', '--yes']]) {
    const r = await member.run([...args, '--json'])
    t.is(r.code, 1, args.join(' '))
    t.is(errorOf(r.stderr).code, 'forbidden')
  }
})

test.serial('on a terminal, revoke asks first: "no" keeps the edge, "yes" revokes it', async (t) => {
  const platform = await startTestPlatform(t)
  const owner = await ownerCli(t, platform)
  await owner.json(['edges', 'create', '--name', 'asked'])

  const no = mezuOnPty(['edges', 'revoke', 'asked'], owner.env)
  await no.waitFor(/Revoke edge asked\?/)
  no.type('n\r')
  const refused = await no.done
  t.is(refused.code, 1)
  t.regex(refused.output, /not confirmed/)
  t.is((await owner.json(['edges', 'get', 'asked'])).status, 'pending')

  const yes = mezuOnPty(['edges', 'revoke', 'asked'], owner.env)
  await yes.waitFor(/Revoke edge asked\?/)
  yes.type('y\r')
  const done = await yes.done
  t.is(done.code, 0, done.output)
  t.regex(done.output, /Revoked edge asked \(edg_/)
  t.is((await owner.json(['edges', 'get', 'asked'])).status, 'revoked')
})
