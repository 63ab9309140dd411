import {request} from 'node:https'
import type {createLocalJWKSet, JSONWebKeySet, JWTPayload} from 'jose'

type Jose = typeof import('jose')
import {type HeadFields, ResetCode} from '../protocol/frames.js'
import {headValues, REQUEST_PAIRS_AT} from '../protocol/head.js'
import {HEADER_JWT_ASSERTION} from '../protocol/headers.js'
import type {MuxStream} from '../protocol/mux.js'
import type {OriginRequestEvent, StreamHandler} from './origin.js'

/**
 * `mezu tunnel --require-assertion`: the Warpgate checks the edge's Mezu-Jwt-Assertion itself
 * (signature against the platform JWKS, issuer, audience = the request's host, expiry), so a
 * request that reached it without passing the edge is refused: defence in depth.
 */
export type AssertionCheck =
  | {ok: true; claims: JWTPayload & {email?: string; groups?: string[]; kind?: string}}
  | {ok: false; status: 401; code: 'assertion_missing' | 'assertion_invalid' | 'assertion_expired'; message: string}
  /** a genuine assertion, but for another host: the caller is known and not allowed here */
  | {ok: false; status: 403; code: 'assertion_wrong_audience'; message: string}
  /** no platform keys could be fetched yet, so nothing can be verified: not the caller's fault */
  | {ok: false; status: 503; code: 'assertion_keys_unavailable'; message: string}

export interface AssertionVerifierOptions {
  /** https://auth.<domain> */
  issuer: string
  /** loads the JWKS; fetchJwks() below does it over HTTPS with the platform CA pinned */
  loadJwks: () => Promise<JSONWebKeySet>
  /** how long a fetched JWKS is used before fetching again even if every kid is known */
  refreshMs?: number
  /** the shortest gap between two fetches, so forged kids cannot make the Warpgate hammer the edge */
  minRefetchMs?: number
  now?: () => number
}

// jose is loaded with the first key set: a Warpgate without --require-assertion never pays for it.
const loadJose = () => import('jose')

export class AssertionVerifier {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined
  /** set with the first key set; check() runs only after ensureKeys() succeeded */
  private jose: Jose | undefined
  private kids = new Set<string>()
  private fetchedAt = Number.NEGATIVE_INFINITY
  private inflight: Promise<void> | undefined
  private failures = 0
  private lastError: Error | undefined
  private retryAt = Number.NEGATIVE_INFINITY

  constructor(private readonly opts: AssertionVerifierOptions) {}

  /** Checks the assertion on a request for `host` (the route hostname; any :port is ignored). */
  async check(headers: Record<string, string | string[] | undefined>, host: string): Promise<AssertionCheck> {
    const raw = headers[HEADER_JWT_ASSERTION.toLowerCase()]
    const token = Array.isArray(raw) ? (raw.length === 1 ? raw[0] : undefined) : raw
    if (!token) return {ok: false, status: 401, code: 'assertion_missing', message: `the request carries no ${HEADER_JWT_ASSERTION}; it did not come through the edge`}
    const audience = host.replace(/:\d+$/, '').toLowerCase()
    const now = this.opts.now ?? Date.now
    try {
      await this.ensureKeys(kidOf(token))
    } catch (error) {
      return {ok: false, status: 503, code: 'assertion_keys_unavailable', message: `the platform keys could not be fetched to check ${HEADER_JWT_ASSERTION}: ${(error as Error).message}`}
    }
    const {errors, jwtVerify} = this.jose!
    try {
      const {payload} = await jwtVerify(token, this.keys!, {
        issuer: this.opts.issuer, audience, algorithms: ['EdDSA'], currentDate: new Date(now()), clockTolerance: 5,
      })
      return {ok: true, claims: payload}
    } catch (error) {
      if (error instanceof errors.JWTExpired) return {ok: false, status: 401, code: 'assertion_expired', message: `${HEADER_JWT_ASSERTION} has expired`}
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return {ok: false, status: 403, code: 'assertion_wrong_audience', message: `${HEADER_JWT_ASSERTION} was issued for another host`}
      return {ok: false, status: 401, code: 'assertion_invalid', message: `${HEADER_JWT_ASSERTION} does not verify against the platform keys`}
    }
  }

  /** Fetches the keys now (at start-up), so the first request does not wait; resolves with why it failed (retried later). */
  async warm(): Promise<Error | undefined> {
    return this.ensureKeys(undefined).then(() => undefined, (error: Error) => error)
  }

  private async ensureKeys(kid: string | undefined): Promise<void> {
    const clock = this.opts.now ?? Date.now
    const now = clock()
    const stale = now - this.fetchedAt > (this.opts.refreshMs ?? 10 * 60_000)
    const unknownKid = kid !== undefined && !this.kids.has(kid) && now - this.fetchedAt > (this.opts.minRefetchMs ?? 30_000)
    if (this.keys && !stale && !unknownKid) return
    // After a failed fetch, wait out a growing pause: an unreachable edge must not cost every request a fetch.
    if (now < this.retryAt) {
      if (this.keys) return
      throw this.lastError!
    }
    const fetching = (this.inflight ??= Promise.all([this.opts.loadJwks(), loadJose()]).then(
      ([set, jose]) => {
        this.jose = jose
        this.keys = jose.createLocalJWKSet(set)
        this.kids = new Set(set.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string'))
        this.fetchedAt = clock()
        this.failures = 0
      },
      (error: Error) => {
        this.failures++
        this.lastError = error
        this.retryAt = clock() + Math.min(30_000, 500 * 2 ** (this.failures - 1))
        throw error
      },
    ).finally(() => {
      this.inflight = undefined
    }))
    // A set that is merely old keeps serving while the refresh runs; only an unknown kid waits for it.
    if (this.keys && !unknownKid) {
      fetching.catch(() => {})
      return
    }
    try {
      await fetching
    } catch (error) {
      // keep verifying with the keys we have; without any, nothing can pass
      if (!this.keys) throw error
    }
  }
}

function kidOf(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as {kid?: unknown}
    return typeof header.kid === 'string' ? header.kid : undefined
  } catch {
    return undefined
  }
}

/**
 * Fetches https://auth.<domain>/.well-known/jwks.json trusting only the pinned platform CA.
 * `connectTo` dials another address than the URL's host (the name is still used for SNI,
 * the Host header and certificate checks), for edges reached by IP.
 */
export function fetchJwks(url: string, caPem: string | string[], opts: {timeoutMs?: number; connectTo?: string} = {}): () => Promise<JSONWebKeySet> {
  const u = new URL(url)
  if (u.protocol !== 'https:') throw new Error(`the JWKS URL must be https, got ${url}`)
  return () =>
    new Promise((resolve, reject) => {
      const req = request({
        host: opts.connectTo ?? u.hostname, port: u.port || 443, path: u.pathname + u.search, servername: u.hostname,
        ca: caPem, minVersion: 'TLSv1.2', timeout: opts.timeoutMs ?? 10_000, agent: false,
        headers: {host: u.host, accept: 'application/json'},
      }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > 256 * 1024) req.destroy(new Error('the JWKS is larger than 256 KiB'))
          else chunks.push(c)
        })
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}`))
          try {
            const set = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONWebKeySet
            if (!Array.isArray(set.keys)) throw new Error('no "keys" array')
            resolve(set)
          } catch (error) {
            reject(new Error(`${url} did not return a JWKS: ${(error as Error).message}`))
          }
        })
      })
      req.on('timeout', () => req.destroy(new Error(`fetching ${url} timed out`)))
      req.on('error', reject)
      req.end()
    })
}

/** Where a Warpgate finds the assertion issuer and its keys, from the edge's public base URL. */
export interface JwksLocation {
  /** https://auth.<domain> */
  issuer: string
  /** https://auth.<domain>[:port]/.well-known/jwks.json */
  jwksUrl: string
  /** set for a *.localhost domain: the address to dial */
  connectTo?: string
}

export function jwksLocation(edgeUrl: string): JwksLocation {
  const edge = new URL(edgeUrl)
  const domain = edge.hostname.toLowerCase()
  const port = edge.port && edge.port !== '443' ? `:${edge.port}` : ''
  // Every *.localhost name is the loopback address (RFC 6761) and browsers treat it so, but
  // Node's resolver only asks /etc/hosts and DNS, which usually know just "localhost".
  const loopback = domain === 'localhost' || domain.endsWith('.localhost')
  return {issuer: `https://auth.${domain}`, jwksUrl: `https://auth.${domain}${port}/.well-known/jwks.json`, ...(loopback ? {connectTo: '127.0.0.1'} : {})}
}

/**
 * The StreamHandler `--require-assertion` puts in front of the origin: a stream is forwarded only
 * when its Mezu-Jwt-Assertion verifies for its :authority; otherwise the Warpgate answers JSON
 * {error: {code, message}} itself and the origin never sees the request. The edge signs an
 * assertion for every request it forwards, public routes included ("anonymous"), so this checks
 * "came through the edge", not "is signed in": the policy is the edge's job.
 */
const ASSERTION = HEADER_JWT_ASSERTION.toLowerCase()

export class AssertionGate implements StreamHandler {
  constructor(
    private readonly verifier: AssertionVerifier,
    private readonly next: StreamHandler,
    private readonly onRefused?: (e: OriginRequestEvent) => void,
  ) {}

  serveStream(stream: MuxStream, head: HeadFields, flags: number): void {
    const started = performance.now()
    // The request body waits under the stream's credit until the origin proxy takes it.
    const assertion = headValues(head, REQUEST_PAIRS_AT, ASSERTION)
    this.verifier.check({[ASSERTION]: assertion.length === 1 ? assertion[0] : assertion.length ? assertion : undefined}, head[2]).then((r) => {
      // the edge may have cancelled while the keys were fetched
      if (stream.closed) return
      if (r.ok) return this.next.serveStream(stream, head, flags)
      const body = Buffer.from(JSON.stringify({error: {code: r.code, message: r.message}}))
      stream.sendHead([String(r.status), 'content-type', 'application/json', 'cache-control', 'no-store', 'content-length', String(body.length)])
      stream.end(body)
      // answered before the body arrived: stop the upload (the edge keeps the response it has)
      if (!stream.remoteEnded) stream.reset(ResetCode.NO_ERROR)
      this.onRefused?.({method: head[0], path: head[1], status: r.status, durationMs: Math.round(performance.now() - started), error: r.code})
    }, () => stream.reset())
  }

}
