import test from 'ava'
import {CryptoError, FieldCipher, KeyedHasher, loadSodium, randomKey, sealedWithUserKey, UserCipherCache} from '../../platform/store/crypto.js'

const key = async (version: number) => ({version, key: await randomKey()})

test('a sealed field opens only with the same table, column and row id', async (t) => {
  const k = await key(1)
  const c = await FieldCipher.create([k], 1)
  const blob = c.seal('users', 'doc', 'usr_1', 'alice@example.test')
  t.is(c.open('users', 'doc', 'usr_1', blob), 'alice@example.test')
  t.false(blob.includes(Buffer.from('alice')))
  t.throws(() => c.open('users', 'doc', 'usr_2', blob), {instanceOf: CryptoError})
  t.throws(() => c.open('projects', 'doc', 'usr_1', blob), {instanceOf: CryptoError})
  t.throws(() => c.open('users', 'name', 'usr_1', blob), {instanceOf: CryptoError})
})

test('a tampered blob is refused, and so is a key of another version', async (t) => {
  const c1 = await FieldCipher.create([await key(1)], 1)
  const blob = c1.seal('t', 'doc', 'r', 'secret')
  const tampered = Buffer.from(blob)
  tampered[tampered.length - 1] ^= 1
  t.throws(() => c1.open('t', 'doc', 'r', tampered), {message: /tampered/})
  const c2 = await FieldCipher.create([await key(2)], 2)
  t.throws(() => c2.open('t', 'doc', 'r', blob), {message: /version 1/})
})

test('with both keys loaded, blobs of either version open (interrupted rotation)', async (t) => {
  const k1 = await key(1)
  const k2 = await key(2)
  const old = (await FieldCipher.create([k1], 1)).seal('t', 'doc', 'r', 'one')
  const both = await FieldCipher.create([k1, k2], 2)
  const fresh = both.seal('t', 'doc', 'r', 'two')
  t.is(FieldCipher.blobVersion(fresh), 2)
  t.is(both.open('t', 'doc', 'r', old), 'one')
  t.is(both.open('t', 'doc', 'r', fresh), 'two')
})

test('blind indexes are deterministic per scope and keyed', async (t) => {
  const s = await loadSodium()
  const h1 = new KeyedHasher(s, await randomKey(), await randomKey())
  const h2 = new KeyedHasher(s, await randomKey(), await randomKey())
  t.deepEqual(h1.blindIndex('users.email', 'a@b.c'), h1.blindIndex('users.email', 'a@b.c'))
  t.notDeepEqual(h1.blindIndex('users.email', 'a@b.c'), h1.blindIndex('projects.name', 'a@b.c'))
  t.notDeepEqual(h1.blindIndex('users.email', 'a@b.c'), h2.blindIndex('users.email', 'a@b.c'))
  const token = 'mezu_sess_abc'
  t.true(h1.tokenMatches(token, h1.tokenHash(token)))
  t.false(h1.tokenMatches('mezu_sess_abd', h1.tokenHash(token)))
})

test('a doc sealed with a user key opens with that key only, binds table, column and row id, and says which key sealed it', async (t) => {
  const master = await FieldCipher.create([await key(1)], 1)
  const alice = master.newUserKey('usr_a')
  const bob = master.newUserKey('usr_b')
  const blob = alice.cipher.sealJson('users', 'usr_a', {email: 'alice@example.test'})
  t.true(sealedWithUserKey(blob))
  t.false(sealedWithUserKey(master.sealJson('users', 'usr_a', {email: 'alice@example.test'})), 'a master-sealed (legacy) doc is told apart')
  t.false(blob.includes(Buffer.from('alice')))
  t.deepEqual(alice.cipher.openJson('users', 'usr_a', blob), {email: 'alice@example.test'})
  // the same key, unwrapped again from its sealed form (what a restart does)
  t.deepEqual(master.openUserKey('usr_a', alice.sealed).openJson('users', 'usr_a', blob), {email: 'alice@example.test'})
  t.throws(() => bob.cipher.openJson('users', 'usr_a', blob), {instanceOf: CryptoError, message: /user's key/})
  t.throws(() => alice.cipher.openJson('users', 'usr_b', blob), {instanceOf: CryptoError})
  t.throws(() => alice.cipher.openJson('sessions', 'usr_a', blob), {instanceOf: CryptoError})
  t.throws(() => master.openJson('users', 'usr_a', blob), {instanceOf: CryptoError, message: /sealed with its user's key, not the master key/})
  t.throws(() => alice.cipher.openJson('users', 'usr_a', master.sealJson('users', 'usr_a', {})), {message: /sealed with the master key/})
  // a sealed user key is bound to its user: it does not open as another user's key
  t.throws(() => master.openUserKey('usr_b', alice.sealed), {instanceOf: CryptoError})
})

test('a user key sealed by one master key opens with a rotated one only when both are loaded, and a wiped cipher refuses to work', async (t) => {
  const k1 = await key(1)
  const k2 = await key(2)
  const old = await FieldCipher.create([k1], 1)
  const {cipher, sealed} = old.newUserKey('usr_a')
  const blob = cipher.seal('sessions', 'doc', 'ses_1', 'agent')
  const both = await FieldCipher.create([k1, k2], 2)
  t.is(Buffer.from(both.openUserKey('usr_a', sealed).openBytes('sessions', 'doc', 'ses_1', blob)).toString(), 'agent')
  const onlyNew = await FieldCipher.create([k2], 2)
  t.throws(() => onlyNew.openUserKey('usr_a', sealed), {message: /version 1/})
  const cache = new UserCipherCache()
  cache.set('usr_a', cipher)
  t.is(cache.get('usr_a'), cipher)
  cache.destroy('usr_a')
  t.is(cache.get('usr_a'), undefined)
  t.throws(() => cipher.openBytes('sessions', 'doc', 'ses_1', blob), {message: /destroyed/})
  t.throws(() => cipher.seal('sessions', 'doc', 'ses_2', 'x'), {message: /destroyed/}, 'never seals with a wiped key')
  cache.set('usr_a', old.openUserKey('usr_a', sealed))
  t.is(cache.get('usr_a'), undefined, 'a destroyed key is never cached again (a read racing the erasure)')
})
