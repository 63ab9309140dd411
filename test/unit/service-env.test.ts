import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import test from 'ava'
import {serviceIdentityEnv} from '../../src/warpgate/service-env.js'
import type {Credentials} from '../../src/warpgate/registration.js'
import {tempDir} from '../helpers/platform.js'

const CA = '-----BEGIN CERTIFICATE-----\nUExBVEZPUk0=\n-----END CERTIFICATE-----\n'
const creds = (edgeUrl: string) => ({caPem: CA, info: {edgeUrl}}) as unknown as Credentials

test('names the issuer, the JWKS URL with the edge port, and a private file holding the platform CA; remove() deletes it', (t) => {
  const id = serviceIdentityEnv(creds('https://mezu.localhost:8443'), {})
  t.is(id.env.MEZU_ISSUER, 'https://auth.mezu.localhost')
  t.is(id.env.MEZU_JWKS_URL, 'https://auth.mezu.localhost:8443/.well-known/jwks.json')
  t.is(readFileSync(id.env.NODE_EXTRA_CA_CERTS!, 'utf8'), CA)
  t.is(statSync(id.env.NODE_EXTRA_CA_CERTS!).mode & 0o777, 0o600)
  id.remove()
  id.remove()
  t.false(existsSync(id.env.NODE_EXTRA_CA_CERTS!))
})

test('keeps the certificates of a NODE_EXTRA_CA_CERTS the Warpgate itself was given', (t) => {
  const mine = join(tempDir(t), 'corp.pem')
  writeFileSync(mine, '-----BEGIN CERTIFICATE-----\nQ09SUA==\n-----END CERTIFICATE-----\n')
  const id = serviceIdentityEnv(creds('https://example.com'), {NODE_EXTRA_CA_CERTS: mine})
  t.teardown(() => id.remove())
  const bundle = readFileSync(id.env.NODE_EXTRA_CA_CERTS!, 'utf8')
  t.true(bundle.includes('UExBVEZPUk0=') && bundle.includes('Q09SUA=='))
  t.is(id.env.MEZU_JWKS_URL, 'https://auth.example.com/.well-known/jwks.json')
})
