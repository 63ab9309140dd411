import test from 'ava'
import {activeSigningKey, ensureSigningKey, publishedSigningKeys, rotateSigningKey} from '../../platform/store/config/signing-keys.js'
import {buildEdgeIdentity} from '../../platform/control/edge-identity.js'
import {mezu} from '../helpers/cli.js'
import {startTestPlatform} from '../helpers/platform.js'

const TTL = 300_000

test('the signing key is created once, stored sealed, and stays the same across builds', async (t) => {
  const p = await startTestPlatform(t)
  const a = await buildEdgeIdentity(p.ctx)
  const b = await buildEdgeIdentity(p.ctx)
  t.is(a.activeKey.kid, b.activeKey.kid)
  t.truthy(a.activeKey.privateJwk)
  t.true(a.publishedKeys.every((k) => k.privateJwk === undefined), 'published keys carry no private part')
  const row = await p.ctx.cdb.db.selectFrom('signing_keys').select('doc').where('id', '=', a.activeKey.kid).executeTakeFirstOrThrow()
  t.false(row.doc.includes(Buffer.from(String(a.activeKey.privateJwk!.d))), 'the private key is sealed at rest')
})

test('rotation keeps the old key published until its tokens expire, then deletes it', async (t) => {
  const p = await startTestPlatform(t)
  const now = Date.now()
  const old = await ensureSigningKey(p.ctx.cdb, now)
  const r = await rotateSigningKey(p.ctx.cdb, TTL, now + 1000)
  t.deepEqual(r.retired, [old.kid])
  t.is((await activeSigningKey(p.ctx.cdb))!.kid, r.active.kid)
  t.deepEqual((await publishedSigningKeys(p.ctx.cdb, TTL, now + 2000)).map((k) => k.kid).sort(), [old.kid, r.active.kid].sort())
  t.deepEqual((await publishedSigningKeys(p.ctx.cdb, TTL, now + 1000 + TTL + 1)).map((k) => k.kid), [r.active.kid])
  const again = await rotateSigningKey(p.ctx.cdb, TTL, now + 1000 + TTL + 1)
  t.is(again.deleted, 1, 'the long-retired key is removed at the next rotation')
})

test('mezu platform rotate-signing-key rotates a stopped platform and refuses a running one', async (t) => {
  const p = await startTestPlatform(t)
  const before = (await buildEdgeIdentity(p.ctx)).activeKey.kid
  const store = p.config.store.url ? ['--store', p.config.store.url] : []
  const refused = await mezu(['platform', 'rotate-signing-key', '--data-dir', p.dataDir, ...store, '--json'])
  t.is(refused.code, 1)
  t.regex(refused.stderr, /running/)
  await p.stop()
  const r = await mezu(['platform', 'rotate-signing-key', '--data-dir', p.dataDir, ...store, '--json'])
  t.is(r.code, 0, r.stderr)
  const out = r.json()
  t.deepEqual(out.retired, [before])
  t.not(out.kid, before)
  const p2 = await p.restart()
  const id = await buildEdgeIdentity(p2.ctx)
  t.is(id.activeKey.kid, out.kid)
  t.deepEqual(id.publishedKeys.map((k) => k.kid).sort(), [before, out.kid].sort())
})
