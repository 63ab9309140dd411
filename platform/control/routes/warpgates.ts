import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance, FastifyRequest} from 'fastify'
import type {Warpgate, WarpgateCertificate, WarpgateCreated} from '../../../src/lib/api-types/index.js'
import {RENEWAL_MAX_SKEW_MS} from '../../../src/protocol/identity.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {TOKEN_PREFIX} from '../../../src/protocol/tokens.js'
import {LOCAL_EDGE_ID} from '../../../src/protocol/tunnel.js'
import {CertificateError, signWarpgateCsr, verifyRenewalSignature, verifyWarpgateCert} from '../../pki/csr.js'
import {getEnvironment} from '../../store/config/environments.js'
import {listRoutes} from '../../store/config/routes.js'
import {createWarpgate, findWarpgateByToken, getWarpgate, listWarpgates, recordCertificate, recordRegistration, revokeWarpgate, type WarpgateRecord} from '../../store/config/warpgates.js'
import {canReachProject, projectReach, requireScope} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {routeUrl} from '../edge-config.js'
import {ApiError, notFound} from '../errors.js'
import {resolveEnvironment, resolveProject} from '../resolve.js'
import {Name, RefParams, type RefParamsT} from '../schemas.js'

/** A registration token that is never used stops working after this long. */
const TOKEN_TTL_MS = 24 * 60 * 60 * 1000

const Ref = Type.String({minLength: 1, maxLength: 200})
const CreateBody = Type.Object({project: Ref, environment: Ref, name: Type.Optional(Name), service: Type.Optional(Name)}, {additionalProperties: false})
const ListQuery = Type.Object({project: Type.Optional(Ref), environment: Type.Optional(Ref)}, {additionalProperties: false})
const GetQuery = Type.Object({project: Type.Optional(Ref)}, {additionalProperties: false})
const Pem = Type.String({minLength: 100, maxLength: 16_384})
const RegisterBody = Type.Object({
  token: Type.String({minLength: TOKEN_PREFIX.warpgate.length + 1, maxLength: 200, pattern: '^mezu_wg_[A-Za-z0-9_-]+$'}),
  csr: Pem,
}, {additionalProperties: false})
const RenewBody = Type.Object({
  certificate: Pem,
  csr: Pem,
  signedAt: Type.Integer({minimum: 0}),
  signature: Type.String({minLength: 16, maxLength: 512, pattern: '^[A-Za-z0-9+/=]+$'}),
}, {additionalProperties: false})

export function registerWarpgateRoutes(app: FastifyInstance, ctx: ControlContext): void {
  const view = (w: WarpgateRecord): Promise<Warpgate> => toView(ctx, w)

  app.post<{Body: Static<typeof CreateBody>}>('/v1/warpgates', {schema: {body: CreateBody}}, async (req, reply): Promise<WarpgateCreated> => {
    requireScope(req.principal!, 'warpgates:write')
    const project = await resolveProject(ctx, req.principal!, req.body.project)
    const env = await resolveEnvironment(ctx, project, req.body.environment)
    const service = req.body.service ?? req.body.name ?? 'default'
    const name = req.body.name ?? service
    const created = await change(ctx, req, {action: 'warpgate.create', target: {type: 'warpgate', id: null, name: `${project.name}/${env.name}/${name}`}, details: {service}},
      () => createWarpgate(ctx.cdb, {projectId: project.id, environmentId: env.id, name, service, tokenTtlMs: TOKEN_TTL_MS}),
      {kind: 'warpgate', id: (r) => r.warpgate.id, action: 'created'})
    reply.code(201)
    return {warpgate: await view(created.warpgate), token: created.token}
  })

  app.get<{Querystring: Static<typeof ListQuery>}>('/v1/warpgates', {schema: {querystring: ListQuery}}, async (req) => {
    const p = req.principal!
    requireScope(p, 'warpgates:read')
    let projectIds = await projectReach(ctx, p)
    let environmentId: string | undefined
    if (req.query.project) {
      const project = await resolveProject(ctx, p, req.query.project)
      projectIds = [project.id]
      if (req.query.environment) environmentId = (await resolveEnvironment(ctx, project, req.query.environment)).id
    } else if (req.query.environment) {
      throw new ApiError('invalid_request', 'environment needs project', 'project')
    }
    const items: Warpgate[] = []
    for (const w of await listWarpgates(ctx.cdb, {projectIds, environmentId})) items.push(await view(w))
    return {items, nextCursor: null}
  })

  app.get<{Params: RefParamsT; Querystring: Static<typeof GetQuery>}>('/v1/warpgates/:ref', {schema: {params: RefParams, querystring: GetQuery}}, async (req): Promise<Warpgate> => {
    requireScope(req.principal!, 'warpgates:read')
    return view(await resolveWarpgate(ctx, req, req.params.ref, req.query.project))
  })

  app.post<{Params: RefParamsT; Querystring: Static<typeof GetQuery>}>('/v1/warpgates/:ref/revoke', {schema: {params: RefParams, querystring: GetQuery}}, async (req): Promise<Warpgate> => {
    requireScope(req.principal!, 'warpgates:write')
    const w = await resolveWarpgate(ctx, req, req.params.ref, req.query.project)
    if (w.revokedAt !== null) throw new ApiError('conflict', `Warpgate "${w.name}" (${w.id}) is already revoked`)
    await change(ctx, req, {action: 'warpgate.revoke', target: {type: 'warpgate', id: w.id, name: w.name}}, () => revokeWarpgate(ctx.cdb, w.id), {kind: 'warpgate', id: () => w.id, action: 'revoked'})
    return view((await getWarpgate(ctx.cdb, w.id))!)
  })

  // Public: the token is the credential. Burning it and recording the certificate commit together,
  // and the burn matches only that token, so a token registers once even when raced.
  app.post<{Body: Static<typeof RegisterBody>}>('/v1/warpgates/register', {schema: {body: RegisterBody}, config: {public: true}}, async (req, reply): Promise<WarpgateCertificate> => {
    const w = await findWarpgateByToken(ctx.cdb, req.body.token)
    if (!w || w.revokedAt !== null) throw new ApiError('unauthenticated', 'the registration token is unknown, already used or revoked: create a new one with `mezu warpgates create`')
    if (w.tokenExpiresAt < Date.now()) throw new ApiError('token_expired', 'the registration token has expired: create a new one with `mezu warpgates create`')
    const issued = await issue(ctx, w, req.body.csr)
    await change(ctx, req, {action: 'warpgate.register', target: {type: 'warpgate', id: w.id, name: w.name}, details: {serial: issued.serial}}, async () => {
      // rolls back the audit entry: of two registrations racing with one token, the loser recorded nothing
      if (!(await recordRegistration(ctx.cdb, w.id, req.body.token, {serial: issued.serial, expiresAt: issued.notAfter.getTime()}))) {
        throw new ApiError('unauthenticated', 'the registration token was used by another registration at the same time')
      }
    }, {kind: 'warpgate', id: () => w.id, action: 'updated'})
    reply.code(201)
    return certificateAnswer(ctx, w, issued)
  })

  // Public: the Warpgate proves itself by signing the new CSR's hash and a timestamp with the key of
  // its current (CA-signed, unexpired, unrevoked) certificate. This keeps the API one TLS endpoint with
  // no client certificates while giving the same proof of possession as mTLS.
  app.post<{Body: Static<typeof RenewBody>}>('/v1/warpgates/renew', {schema: {body: RenewBody}, config: {public: true}}, async (req): Promise<WarpgateCertificate> => {
    let current
    try {
      current = await verifyWarpgateCert(ctx.ca, req.body.certificate)
    } catch (error) {
      if (error instanceof CertificateError) throw new ApiError('unauthenticated', error.message, 'certificate')
      throw error
    }
    if (Math.abs(Date.now() - req.body.signedAt) > RENEWAL_MAX_SKEW_MS) throw new ApiError('unauthenticated', 'signedAt is too far from the platform clock', 'signedAt')
    if (!(await verifyRenewalSignature(current.publicKey, req.body.csr, req.body.signedAt, req.body.signature))) {
      throw new ApiError('unauthenticated', 'the renewal signature does not verify with the certificate', 'signature')
    }
    const w = await getWarpgate(ctx.cdb, current.warpgateId)
    if (!w) throw new ApiError('unauthenticated', 'the Warpgate no longer exists')
    if (w.revokedAt !== null) throw new ApiError('token_revoked', 'the Warpgate was revoked')
    const issued = await issue(ctx, w, req.body.csr)
    await change(ctx, req, {action: 'warpgate.renew', target: {type: 'warpgate', id: w.id, name: w.name}, details: {serial: issued.serial}},
      () => recordCertificate(ctx.cdb, w.id, {serial: issued.serial, expiresAt: issued.notAfter.getTime()}))
    return certificateAnswer(ctx, w, issued)
  })
}

async function issue(ctx: ControlContext, w: WarpgateRecord, csr: string) {
  try {
    return await signWarpgateCsr(ctx.ca, csr, w.id, ctx.config.warpgateCertTtlMs)
  } catch (error) {
    if (error instanceof CertificateError) throw new ApiError('invalid_request', error.message, 'csr')
    throw error
  }
}

async function certificateAnswer(ctx: ControlContext, w: WarpgateRecord, issued: {certPem: string; notAfter: Date}): Promise<WarpgateCertificate> {
  return {
    warpgateId: w.id, service: w.service, projectId: w.projectId, environmentId: w.environmentId,
    certificatePem: issued.certPem, caPem: ctx.ca.certPem, expiresAt: issued.notAfter.toISOString(),
    ...tunnelAddresses(ctx), edgeUrl: ctx.urls.edge, urls: await serviceUrls(ctx, w),
  }
}

/**
 * Where a Warpgate dials: every edge with its addresses (tunnelEdges), and for Warpgates that
 * predate it the same addresses as one flat list (tunnelUrls, tunnelUrl the first).
 */
function tunnelAddresses(ctx: ControlContext): Pick<WarpgateCertificate, 'tunnelUrl' | 'tunnelUrls' | 'tunnelEdges'> {
  const listed = ctx.tunnelDirectory?.current() ?? []
  const tunnelEdges = listed.length ? listed.map((e) => ({edge: e.edge, urls: [...e.urls]})) : [{edge: LOCAL_EDGE_ID, urls: ctx.urls.tunnels}]
  const tunnelUrls = [...new Set(tunnelEdges.flatMap((e) => e.urls))]
  return {tunnelUrl: tunnelUrls[0] ?? ctx.urls.tunnel, tunnelUrls, tunnelEdges}
}

/** Where end users reach this Warpgate's service: the routes to it in its environment. */
async function serviceUrls(ctx: ControlContext, w: WarpgateRecord): Promise<string[]> {
  const port = ctx.urls.edge ? Number(new URL(ctx.urls.edge).port || 443) : null
  return (await listRoutes(ctx.cdb, {environmentId: w.environmentId})).filter((r) => r.service === w.service).map((r) => routeUrl(r, port))
}

/** By id, or by name within --project (a name may repeat across projects). */
async function resolveWarpgate(ctx: ControlContext, req: FastifyRequest, ref: string, projectRef: string | undefined): Promise<WarpgateRecord> {
  const p = req.principal!
  if (looksLikeId(ref, 'warpgate')) {
    const w = await getWarpgate(ctx.cdb, ref)
    if (!w || !(await canReachProject(ctx, p, w.projectId))) throw notFound('Warpgate', ref)
    return w
  }
  const projectIds = projectRef ? [(await resolveProject(ctx, p, projectRef)).id] : await projectReach(ctx, p)
  const matches = (await listWarpgates(ctx.cdb, {projectIds})).filter((w) => w.name === ref)
  if (matches.length === 0) throw notFound('Warpgate', ref)
  if (matches.length > 1) throw new ApiError('conflict', `${matches.length} Warpgates are named "${ref}": use the id or pass project`, 'ref')
  return matches[0]
}

async function toView(ctx: ControlContext, w: WarpgateRecord): Promise<Warpgate> {
  const live = w.revokedAt === null ? ctx.warpgatesLive?.live(w.id) : undefined
  const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString())
  const status: Warpgate['status'] = w.revokedAt !== null ? 'revoked' : live && live.connections > 0 ? 'connected' : w.registeredAt === null ? 'pending' : 'disconnected'
  return {
    id: w.id, name: w.name, service: w.service, projectId: w.projectId, environmentId: w.environmentId,
    environment: (await getEnvironment(ctx.cdb, w.environmentId))?.name ?? w.environmentId,
    status, connections: live?.connections ?? 0, healthy: live && live.connections > 0 ? live.healthy : null,
    remoteIps: live?.remoteIps ?? [], version: live?.version ?? null, connectedSince: iso(live?.connectedSince),
    lastSeenAt: live && live.connections > 0 ? new Date().toISOString() : iso(w.lastSeenAt),
    certificateExpiresAt: iso(w.certExpiresAt), urls: await serviceUrls(ctx, w), createdAt: iso(w.createdAt)!, revokedAt: iso(w.revokedAt),
  }
}
