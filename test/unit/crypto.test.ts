import test from 'ava'
import {CryptoError, FieldCipher, KeyedHasher, loadSodium, randomKey} from '../../platform/store/crypto.js'

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
