import {generateKeyPairSync, randomBytes, timingSafeEqual} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {request} from 'node:https'
import {join} from 'node:path'
import type {EdgeEnrolment} from '../../../src/lib/api-types/index.js'
import {controlServerIdentity} from '../../../src/protocol/control-identity.js'
import {caPin, parseJoinToken} from '../../../src/protocol/edge-join.js'
import {createKeyAndCsr} from '../../../src/protocol/csr.js'
import type {EdgeSigningKey} from '../identity-snapshot.js'

/** What an enrolled edge node keeps in its data directory (key files 0600). */
export interface EdgeNodeState {
  edgeId: string
  name: string
  controlUrl: string
  domain: string
  caPem: string
  certPem: string
  keyPem: string
  expiresAt: string
  /** when the certificate was received (ms, this machine's clock), to schedule its renewal; absent in state saved before renewal existed */
  issuedAt?: number
  signingKey: EdgeSigningKey
}

export const EDGE_STATE_FILE = 'edge-node.json'
/** Written while an edge node runs (pid, addresses), removed when it stops: what `mezu platform status` reads. */
export const EDGE_LOCK_FILE = 'edge.json'

/** The edge node's saved enrolment, or undefined before its first start. */
export function loadEdgeState(dataDir: string): EdgeNodeState | undefined {
  const path = join(dataDir, EDGE_STATE_FILE)
  if (!existsSync(path)) return undefined
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as EdgeNodeState
  } catch (error) {
    throw new Error(`${path} is not readable edge state (${(error as Error).message}); move it away and enrol again with a new join token`)
  }
}

/** Saves the state whole (key files 0600), replacing the old one atomically. */
export function saveEdgeState(dataDir: string, state: EdgeNodeState): void {
  mkdirSync(dataDir, {recursive: true, mode: 0o700})
  const path = join(dataDir, EDGE_STATE_FILE)
  // written whole then renamed: a crash never leaves half a key behind
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n', {mode: 0o600})
  renameSync(`${path}.tmp`, path)
  writeFileSync(join(dataDir, 'ca.pem'), state.caPem, {mode: 0o644})
}

/**
 * First start of an edge node: fetch the platform CA over an unverified connection and trust it
 * only if it matches the pin in the join token, make a P-256 key and an Ed25519 signing key here
 * (neither leaves the machine), and enrol with a CSR. The join token works once.
 */
export async function enrolEdge(opts: {dataDir: string; controlUrl: string; joinToken: string; dns: string[]; ips: string[]; edgeUrl?: string; tunnelUrls?: string[]}): Promise<EdgeNodeState> {
  const parsed = parseJoinToken(opts.joinToken)
  if (!parsed) throw new Error('the join token is not one from `mezu edges create` (mezu_edge_<secret>.<pin>)')
  const {caPem} = await jsonRequest<{caPem: string}>(opts.controlUrl, '/v1/ca', 'GET', undefined, {insecure: true})
  const want = Buffer.from(parsed.pin)
  const got = Buffer.from(caPin(caPem))
  if (want.length !== got.length || !timingSafeEqual(want, got)) {
    throw new Error(`the platform CA at ${opts.controlUrl} does not match the join token's pin: wrong address, or someone in between`)
  }
  const {keyPem, csrPem} = await createKeyAndCsr('mezu-edge')
  const signing = generateKeyPairSync('ed25519')
  const kid = `edk_${randomBytes(12).toString('hex')}`
  const publicJwk = signing.publicKey.export({format: 'jwk'}) as Record<string, unknown>
  const privateJwk = signing.privateKey.export({format: 'jwk'}) as Record<string, unknown>
  const e = await jsonRequest<EdgeEnrolment>(opts.controlUrl, '/v1/edges/enrol', 'POST', {
    token: parsed.secret, csr: csrPem, dns: opts.dns, ips: opts.ips,
    ...(opts.edgeUrl && {edgeUrl: opts.edgeUrl}), ...(opts.tunnelUrls?.length && {tunnelUrls: opts.tunnelUrls}),
    signingJwk: {...publicJwk, kid},
  }, {caPem})
  const state: EdgeNodeState = {
    edgeId: e.edgeId, name: e.name, controlUrl: opts.controlUrl, domain: e.domain, caPem: e.caPem, certPem: e.certificatePem, keyPem,
    expiresAt: e.expiresAt, issuedAt: Date.now(), signingKey: {kid, publicJwk: {...publicJwk, kid}, privateJwk: {...privateJwk, kid}},
  }
  saveEdgeState(opts.dataDir, state)
  return state
}

function jsonRequest<T>(base: string, path: string, method: 'GET' | 'POST', body: unknown, tls: {caPem?: string; insecure?: boolean}): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = request(new URL(path, base), {
      method, minVersion: 'TLSv1.3', timeout: 30_000,
      // the join token is sent only to the control plane, not to another edge holding a certificate from the CA
      ...(tls.insecure ? {rejectUnauthorized: false} : {ca: tls.caPem, checkServerIdentity: controlServerIdentity(tls.caPem!, base)}),
      headers: {'user-agent': 'mezu-edge', ...(payload && {'content-type': 'application/json', 'content-length': Buffer.byteLength(payload)})},
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        let parsed: {error?: {message?: string}} & T
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          return reject(new Error(`${base}${path} answered ${res.statusCode} with a body that is not JSON`))
        }
        if ((res.statusCode ?? 500) >= 400) return reject(new Error(`${base}${path}: ${parsed.error?.message ?? `HTTP ${res.statusCode}`}`))
        resolve(parsed)
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${base} did not answer in time`)))
    req.on('error', (e) => reject(e.message.startsWith(base) ? e : new Error(`cannot reach ${base}: ${e.message}`)))
    req.end(payload)
  })
}
