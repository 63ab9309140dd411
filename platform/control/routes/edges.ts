import {createPublicKey} from 'node:crypto'
import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance, FastifyRequest} from 'fastify'
import type {Edge, EdgeCreated, EdgeEnrolment, Page, Principal} from '../../../src/lib/api-types/index.js'
import {caPin, formatJoinToken, parseJoinToken} from '../../../src/protocol/edge-join.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {TOKEN_PREFIX} from '../../../src/protocol/tokens.js'
import {CertificateError, signEdgeCsr} from '../../pki/csr.js'
import {appendAudit} from '../../store/config/audit.js'
import {transaction, uniqueViolation} from '../../store/db.js'
import {createEdge, type EdgeRecord, findEdgeByToken, getEdge, getEdgeByName, listEdges, recordEnrolment, recordRenewal, revokeEdge} from '../../store/config/edges.js'
import {requireScope} from '../access.js'
import {announce, type ControlContext, change} from '../context.js'
import {edgeCertNames, MAX_EDGE_NAMES} from '../edge-cert-names.js'
import {ApiError, notFound} from '../errors.js'
import {Name, RefParams, type RefParamsT} from '../schemas.js'

/** A join token that is never used stops working after this long. */
const TOKEN_TTL_MS = 24 * 60 * 60 * 1000

const CreateBody = Type.Object({name: Type.Optional(Name)}, {additionalProperties: false})
const NoQuery = Type.Object({}, {additionalProperties: false})
const Url = Type.String({minLength: 1, maxLength: 300})
const EnrolBody = Type.Object({
  // the whole join token, or its secret part alone
  token: Type.String({maxLength: 200, pattern: `^${TOKEN_PREFIX.edgeJoin}[A-Za-z0-9_-]{20,100}(\\.[A-Za-z0-9_-]{43})?$`}),
  csr: Type.String({minLength: 100, maxLength: 16_384}),
  dns: Type.Optional(Type.Array(Type.String({minLength: 1, maxLength: 253}), {maxItems: MAX_EDGE_NAMES})),
  ips: Type.Optional(Type.Array(Type.String({minLength: 2, maxLength: 45}), {maxItems: MAX_EDGE_NAMES})),
  edgeUrl: Type.Optional(Type.String({maxLength: 300, pattern: '^https://'})),
  tunnelUrls: Type.Optional(Type.Array(Type.String({maxLength: 300, pattern: '^tls://'}), {maxItems: MAX_EDGE_NAMES})),
  signingJwk: Type.Optional(Type.Object({
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({pattern: '^[A-Za-z0-9_-]{43}$'}),
    kid: Type.Optional(Type.String({minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$'})),
    alg: Type.Optional(Type.Literal('EdDSA')),
    use: Type.Optional(Type.Literal('sig')),
  }, {additionalProperties: false})),
}, {additionalProperties: false})
type EnrolBodyT = Static<typeof EnrolBody>

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString())

/** An edge as the API shows it: the store's record, with the live state of its control connection when there is one. */
export function edgeView(ctx: ControlContext, e: EdgeRecord): Edge {
  const live = e.revokedAt === null ? ctx.edgesLive?.live(e.id) : undefined
  const status: Edge['status'] = e.revokedAt !== null ? 'revoked' : live ? 'connected' : e.enrolledAt === null ? 'pending' : 'disconnected'
  return {
    id: e.id, name: e.name, status,
    version: live?.version ?? e.version, address: live?.address ?? e.address,
    edgeUrl: e.edgeUrl, tunnelUrls: e.tunnelUrls,
    connectedSince: iso(live?.connectedSince), lastSeenAt: live ? new Date().toISOString() : iso(e.lastSeenAt),
    configVersion: live?.configVersion ?? null, warpgateConnections: live?.warpgateConnections ?? null,
    certificateExpiresAt: iso(e.certExpiresAt), createdAt: iso(e.createdAt)!, enrolledAt: iso(e.enrolledAt), revokedAt: iso(e.revokedAt),
  }
}

export function registerEdgeRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.post<{Body: Static<typeof CreateBody>}>('/v1/edges', {schema: {body: CreateBody}}, async (req, reply): Promise<EdgeCreated> => {
    requireScope(req.principal!, 'edges:write')
    const created = await create(ctx, req, req.body.name)
    const joinToken = formatJoinToken(created.token, ctx.ca.certPem)
    reply.code(201)
    return {
      edge: edgeView(ctx, created.edge), joinToken,
      command: `mezu platform start --role edge --control-url ${ctx.urls.api} --join-token ${joinToken}`,
    }
  })

  app.get<{Querystring: Static<typeof NoQuery>}>('/v1/edges', {schema: {querystring: NoQuery}}, async (req): Promise<Page<Edge>> => {
    requireScope(req.principal!, 'edges:read')
    return {items: (await listEdges(ctx.cdb)).map((e) => edgeView(ctx, e)), nextCursor: null}
  })

  app.get<{Params: RefParamsT}>('/v1/edges/:ref', {schema: {params: RefParams}}, async (req): Promise<Edge> => {
    requireScope(req.principal!, 'edges:read')
    return edgeView(ctx, await resolveEdge(ctx, req.params.ref))
  })

  app.post<{Params: RefParamsT}>('/v1/edges/:ref/revoke', {schema: {params: RefParams}}, async (req): Promise<Edge> => {
    requireScope(req.principal!, 'edges:write')
    const e = await resolveEdge(ctx, req.params.ref)
    if (e.revokedAt !== null) throw new ApiError('conflict', `edge "${e.name}" (${e.id}) is already revoked`)
    await change(ctx, req, {action: 'edge.revoke', target: {type: 'edge', id: e.id, name: e.name}}, () => revokeEdge(ctx.cdb, e.id), {kind: 'edge', id: () => e.id, action: 'revoked'})
    return edgeView(ctx, (await getEdge(ctx.cdb, e.id))!)
  })

  // Public: the join token is the credential. Burning it and recording the certificate commit
  // together, and the burn matches only the token it was given, so a token enrols once.
  app.post<{Body: EnrolBodyT}>('/v1/edges/enrol', {
    schema: {body: EnrolBody},
    config: {public: true},
    // before the schema, which would only call it an unknown field: say why it must never be sent
    preValidation: async (req) => {
      const jwk = (req.body as {signingJwk?: unknown} | null)?.signingJwk
      if (jwk && typeof jwk === 'object' && 'd' in jwk) {
        throw new ApiError('invalid_request', 'signingJwk holds a private key ("d"): send the public JWK only; the private key never leaves the edge', 'signingJwk.d')
      }
    },
  }, async (req, reply): Promise<EdgeEnrolment> => {
    const body = req.body
    const names = edgeCertNames(ctx.config.domain, body)
    const edgeUrl = body.edgeUrl === undefined ? null : advertisedUrl(body.edgeUrl, 'https', 'edgeUrl')
    const tunnelUrls = [...new Set((body.tunnelUrls ?? []).map((u, i) => advertisedUrl(u, 'tls', `tunnelUrls.${i}`)))]
    if (body.signingJwk) checkPublicJwk(body.signingJwk)
    const secret = joinSecret(ctx, body.token)
    const e = await findEdgeByToken(ctx.cdb, secret)
    if (!e || e.revokedAt !== null) throw new ApiError('unauthenticated', 'the join token is unknown, already used or revoked: create a new one with `mezu edges create`', 'token')
    if (e.tokenExpiresAt < Date.now()) throw new ApiError('token_expired', 'the join token has expired: create a new one with `mezu edges create`', 'token')
    const issued = await issue(ctx, e, body.csr, names)
    await change(ctx, req, {action: 'edge.enrol', target: {type: 'edge', id: e.id, name: e.name}, details: {serial: issued.serial, dns: names.dns, ips: names.ips}}, async () => {
      const enrolled = await recordEnrolment(ctx.cdb, e.id, secret, {
        certSerial: issued.serial, certExpiresAt: issued.notAfter.getTime(), edgeUrl, tunnelUrls, signingJwk: body.signingJwk ?? null,
      })
      // rolls back the audit entry: nothing happened
      if (!enrolled) throw new ApiError('unauthenticated', 'the join token was used by another enrolment at the same time', 'token')
    }, {kind: 'edge', id: () => e.id, action: 'updated'})
    reply.code(201)
    return {
      edgeId: e.id, name: e.name, certificatePem: issued.certPem.trimEnd() + '\n' + ctx.ca.certPem.trimEnd() + '\n',
      caPem: ctx.ca.certPem, expiresAt: issued.notAfter.toISOString(), domain: ctx.config.domain,
    }
  })
}

/** A renewal an edge asks for over its control channel (already authenticated by its certificate). */
export interface EdgeRenewal {
  csr: string
  dns?: string[]
  ips?: string[]
}

/**
 * Signs a fresh certificate for a connected edge: a new key of its own (the CSR), the names it
 * would get at enrolment, checked the same way. A revoked edge gets nothing; the certificate,
 * its record and the audit entry commit together.
 */
export async function renewEdgeCertificate(ctx: ControlContext, edgeId: string, body: EdgeRenewal): Promise<{certificatePem: string; expiresAt: string}> {
  if (typeof body.csr !== 'string' || body.csr.length < 100 || body.csr.length > 16_384) throw new ApiError('invalid_request', 'csr must be a PEM certificate request', 'csr')
  for (const k of ['dns', 'ips'] as const) {
    const v = body[k]
    if (v !== undefined && (!Array.isArray(v) || v.length > MAX_EDGE_NAMES || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 253))) {
      throw new ApiError('invalid_request', `${k} must be a list of at most ${MAX_EDGE_NAMES} names`, k)
    }
  }
  const names = edgeCertNames(ctx.config.domain, body)
  const e = await getEdge(ctx.cdb, edgeId)
  if (!e || e.revokedAt !== null) throw new ApiError('forbidden', `edge ${edgeId} is not enrolled or is revoked`)
  const issued = await issue(ctx, e, body.csr, names)
  await transaction(ctx.cdb, async (onCommit) => {
    if (!(await recordRenewal(ctx.cdb, e.id, {certSerial: issued.serial, certExpiresAt: issued.notAfter.getTime()}))) {
      throw new ApiError('forbidden', `edge ${edgeId} was revoked`)
    }
    await appendAudit(ctx.cdb, {
      actor: {kind: 'system', id: e.id, name: `edge ${e.name}`}, action: 'edge.renew', target: {type: 'edge', id: e.id, name: e.name}, ip: null,
      details: {serial: issued.serial, expiresAt: issued.notAfter.toISOString()},
    })
    await announce(ctx, onCommit, {kind: 'edge', id: e.id, action: 'updated'})
  })
  return {certificatePem: issued.certPem.trimEnd() + '\n' + ctx.ca.certPem.trimEnd() + '\n', expiresAt: issued.notAfter.toISOString()}
}

/** Creates the edge and writes the audit entry; a default name (`edge-N`) is retried if a concurrent create took it. */
async function create(ctx: ControlContext, req: FastifyRequest, requested: string | undefined): Promise<{token: string; edge: EdgeRecord}> {
  for (let attempt = 0; ; attempt++) {
    const name = requested ?? (await defaultName(ctx))
    const taken = await getEdgeByName(ctx.cdb, name)
    // a default name taken since it was picked (a concurrent create) is picked again
    if (taken && requested === undefined && attempt < 10) continue
    if (taken) throw new ApiError('conflict', `an edge named "${name}" already exists`, 'name')
    try {
      return await change(ctx, req, {action: 'edge.create', target: {type: 'edge', id: null, name}},
        () => createEdge(ctx.cdb, {name, tokenTtlMs: TOKEN_TTL_MS}),
        {kind: 'edge', id: (r) => r.edge.id, action: 'created'})
    } catch (error) {
      if (!uniqueViolation(error)) throw error
      if (requested !== undefined || attempt >= 10) throw new ApiError('conflict', `an edge named "${name}" already exists`, 'name')
    }
  }
}

/** The first free `edge-N`. */
async function defaultName(ctx: ControlContext): Promise<string> {
  const taken = new Set((await listEdges(ctx.cdb)).map((e) => e.name.toLowerCase()))
  let n = 1
  while (taken.has(`edge-${n}`)) n++
  return `edge-${n}`
}

/** The secret part of a join token; a whole token must carry this platform's CA pin. */
function joinSecret(ctx: ControlContext, token: string): string {
  const whole = parseJoinToken(token)
  if (!whole) return token
  if (whole.pin !== caPin(ctx.ca.certPem)) throw new ApiError('unauthenticated', 'the join token was made by another platform: its CA pin is not this platform\'s CA', 'token')
  return whole.secret
}

async function issue(ctx: ControlContext, e: EdgeRecord, csr: string, names: {dns: string[]; ips: string[]}) {
  try {
    return await signEdgeCsr(ctx.ca, csr, e.id, names, ctx.config.edgeCertTtlMs)
  } catch (error) {
    if (error instanceof CertificateError) throw new ApiError('invalid_request', error.message, 'csr')
    throw error
  }
}

/** An address an edge advertises: one scheme, host and port (tls needs one), no user, path or query. */
function advertisedUrl(raw: string, scheme: 'https' | 'tls', field: string): string {
  const like = scheme === 'https' ? 'https://edge.example.com[:PORT]' : 'tls://edge.example.com:PORT'
  const refuse = (why: string) => new ApiError('invalid_request', `${field.split('.')[0]}: "${raw}" must be a URL like ${like}: ${why}`, field)
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw refuse('it does not parse')
  }
  if (u.protocol !== `${scheme}:`) throw refuse(`its scheme must be ${scheme}`)
  if (u.username || u.password) throw refuse('it may not hold a user or password')
  if ((u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) throw refuse('give the address only, without a path or query')
  if (!u.hostname) throw refuse('it has no host')
  if (scheme === 'tls' && !u.port) throw refuse('it needs a port')
  return `${scheme}://${u.host.toLowerCase()}`
}

/** The schema checked the JWK's shape; this checks that `x` is an Ed25519 public key at all. */
function checkPublicJwk(jwk: NonNullable<EnrolBodyT['signingJwk']>): void {
  try {
    createPublicKey({key: {kty: jwk.kty, crv: jwk.crv, x: jwk.x}, format: 'jwk'})
  } catch {
    throw new ApiError('invalid_request', 'signingJwk.x is not an Ed25519 public key', 'signingJwk.x')
  }
}

/** By id, or by name in any letter case. */
async function resolveEdge(ctx: ControlContext, ref: string): Promise<EdgeRecord> {
  const e = looksLikeId(ref, 'edge') ? await getEdge(ctx.cdb, ref) : await getEdgeByName(ctx.cdb, ref)
  if (!e) throw notFound('edge', ref)
  return e
}
