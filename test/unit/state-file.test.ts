import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import selfsigned from 'selfsigned'
import type {Credentials} from '../../src/warpgate/registration.js'
import {loadState, saveState} from '../../src/warpgate/state-file.js'
import {tempDir} from '../helpers/platform.js'

const API = 'https://127.0.0.1:7443'

async function credentials(expiresAt: number): Promise<Credentials> {
  const pems = await selfsigned.generate([{name: 'commonName', value: 'wg'}], {keySize: 2048})
  return {keyPem: pems.private, certPem: pems.cert, caPem: pems.cert, expiresAt, issuedAt: expiresAt - 60_000, info: {warpgateId: 'wg_x'} as Credentials['info']}
}

test('saved credentials load back for the same platform while valid; the file is 0600', async (t) => {
  const path = join(tempDir(t), 'deep', 'wg.json')
  const creds = await credentials(Date.now() + 60_000)
  saveState(path, API, creds)
  t.is(statSync(path).mode & 0o777, 0o600)
  t.deepEqual(loadState(path, API).credentials, creds)
})

test('another platform, an expired certificate or no file give no credentials and say why', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'wg.json')
  t.regex(loadState(path, API).reason, /does not exist yet/)
  const expiresAt = Date.now() + 60_000
  saveState(path, API, await credentials(expiresAt))
  const other = loadState(path, 'https://other:7443')
  t.is(other.credentials, undefined)
  t.regex(other.reason, /belongs to the platform at https:\/\/127\.0\.0\.1:7443/)
  const late = loadState(path, API, expiresAt + 1)
  t.is(late.credentials, undefined)
  t.regex(late.reason, new RegExp(`expired at ${new Date(expiresAt).toISOString()}`))
})

test('a file that is not a state file is an error naming it, and is left as it was', async (t) => {
  const dir = tempDir(t)
  for (const text of ['not json', '{}', JSON.stringify({version: 1, apiUrl: API, credentials: {keyPem: 'k', certPem: 'junk', caPem: 'c', expiresAt: 1, issuedAt: 0, info: {warpgateId: 'wg_x'}}})]) {
    const path = join(dir, 'wg.json')
    writeFileSync(path, text)
    t.throws(() => loadState(path, API), {message: /wg\.json is not a Warpgate state file/})
    t.is(readFileSync(path, 'utf8'), text)
  }
})

test('the latest edge list is saved beside the credentials and loads back; a file without one, or with one that does not read, loads without it', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'wg.json')
  const creds = await credentials(Date.now() + 60_000)
  const edges = [{edge: 'local', urls: ['tls://127.0.0.1:7444']}, {edge: 'edg_0123456789abcdefghjk', urls: ['tls://edge-2.example.test:7444']}]
  saveState(path, API, creds, edges)
  t.deepEqual(loadState(path, API).edges, edges)
  saveState(path, API, creds)
  t.false('edges' in loadState(path, API))
  writeFileSync(path, JSON.stringify({version: 1, apiUrl: API, credentials: creds, edges: [{edge: 'local', urls: ['http://x:1']}]}))
  const loaded = loadState(path, API)
  t.deepEqual(loaded.credentials, creds, 'the identity still loads')
  t.is(loaded.edges, undefined)
})
