import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {CreateServiceAccountResponse, Page, Principal, ServiceAccount} from '../../../src/lib/api-types/index.js'
import {parseDuration, parseExpiry} from '../../../src/lib/duration.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {
  createServiceAccount, deleteServiceAccount, findServiceAccountByName, getServiceAccount, listServiceAccounts,
  revokeServiceAccount, rotateApiKey, type ServiceAccountRecord,
} from '../../store/identity/service-accounts.js'
import {isPlatformScope, isValidScope, requireScope, SCOPES} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {ApiError, notFound} from '../errors.js'
import {resolveProject} from '../resolve.js'
import {Name, RefParams, type RefParamsT} from '../schemas.js'

const CreateBody = Type.Object(
  {
    name: Name,
    scopes: Type.Array(Type.String({maxLength: 64}), {minItems: 1, maxItems: 64}),
    project: Type.Optional(Type.String({minLength: 1, maxLength: 200})),
    description: Type.Optional(Type.String({maxLength: 1000})),
    expires: Type.Optional(Type.String({minLength: 2, maxLength: 40})),
  },
  {additionalProperties: false},
)
const RotateBody = Type.Object({grace: Type.Optional(Type.String({maxLength: 20}))}, {additionalProperties: false})

export function publicAccount(a: ServiceAccountRecord): ServiceAccount {
  const {expiresAtMs: _e, revokedAtMs: _r, ...rest} = a
  return rest
}

/** A project-scoped account reaches only the accounts of its own project; others are 404. */
function withinReach(p: Principal, a: ServiceAccountRecord): boolean {
  return !(p.kind === 'service-account' && p.projectId && a.projectId !== p.projectId)
}

async function resolveAccount(ctx: ControlContext, p: Principal, ref: string): Promise<ServiceAccountRecord> {
  const a = looksLikeId(ref, 'serviceAccount') ? await getServiceAccount(ctx.idb, ref) : await findServiceAccountByName(ctx.idb, ref)
  if (!a || !withinReach(p, a)) throw notFound('service account', ref)
  return a
}

export function registerServiceAccountRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get('/v1/service-accounts', async (req): Promise<Page<ServiceAccount>> => {
    requireScope(req.principal!, 'service-accounts:read')
    return {items: (await listServiceAccounts(ctx.idb)).filter((a) => withinReach(req.principal!, a)).map(publicAccount), nextCursor: null}
  })

  app.post<{Body: Static<typeof CreateBody>}>('/v1/service-accounts', {schema: {body: CreateBody}}, async (req, reply): Promise<CreateServiceAccountResponse> => {
    const p = req.principal!
    requireScope(p, 'service-accounts:write')
    const bad = req.body.scopes.find((s) => !isValidScope(s))
    if (bad) throw new ApiError('invalid_request', `unknown scope "${bad}"; scopes are ${SCOPES.join(', ')} (or resource:* / *)`, 'scopes')
    if (p.kind === 'service-account') {
      // An account can never mint one with more reach than itself.
      const beyond = req.body.scopes.find((s) => !(p.scopes ?? []).includes('*') && !(p.scopes ?? []).includes(s))
      if (beyond) throw new ApiError('forbidden', `cannot grant scope "${beyond}" that this service account does not hold`)
    }
    let expiresAt: number | null = null
    if (req.body.expires) {
      const t = parseExpiry(req.body.expires)
      if (t === undefined) throw new ApiError('invalid_request', `expires must be a duration like 30d or an ISO date, got "${req.body.expires}"`, 'expires')
      if (t <= Date.now()) throw new ApiError('invalid_request', `expires is in the past (${new Date(t).toISOString()})`, 'expires')
      expiresAt = t
    }
    const project = req.body.project ? await resolveProject(ctx, p, req.body.project) : null
    // `*` stays allowed (it grants every project scope); naming a platform scope is a mistake worth saying
    const platformWide = project && req.body.scopes.find((s) => s !== '*' && isPlatformScope(s))
    if (platformWide) throw new ApiError('invalid_request', `scope "${platformWide}" covers the whole platform: an account limited to project "${project.name}" cannot hold it; drop it or create the account without --project`, 'scopes')
    if (p.kind === 'service-account' && p.projectId && project?.id !== p.projectId) throw new ApiError('forbidden', 'a project-scoped service account can only create accounts for its project')
    if (await findServiceAccountByName(ctx.idb, req.body.name)) throw new ApiError('conflict', `a service account named "${req.body.name}" already exists`, 'name')
    const {account, apiKey} = await change(ctx, req, {action: 'service-account.create', target: {type: 'service-account', id: null, name: req.body.name}, details: {scopes: req.body.scopes, projectId: project?.id ?? null}}, () =>
      createServiceAccount(ctx.idb, {name: req.body.name, description: req.body.description, scopes: req.body.scopes, projectId: project?.id ?? null, expiresAt, createdBy: p.id}), {
      kind: 'service-account', id: (r) => r.account.id, action: 'created',
    })
    reply.code(201)
    return {serviceAccount: publicAccount(account), apiKey}
  })

  app.get<{Params: RefParamsT}>('/v1/service-accounts/:ref', {schema: {params: RefParams}}, async (req): Promise<ServiceAccount> => {
    requireScope(req.principal!, 'service-accounts:read')
    return publicAccount(await resolveAccount(ctx, req.principal!, req.params.ref))
  })

  app.post<{Params: RefParamsT; Body: Static<typeof RotateBody>}>('/v1/service-accounts/:ref/rotate', {schema: {params: RefParams, body: RotateBody}}, async (req) => {
    requireScope(req.principal!, 'service-accounts:write')
    const a = await resolveAccount(ctx, req.principal!, req.params.ref)
    if (a.status !== 'active') throw new ApiError('conflict', `service account "${a.name}" is ${a.status}; its key cannot be rotated`)
    const grace = req.body?.grace ? parseDuration(req.body.grace) : 0
    if (grace === undefined) throw new ApiError('invalid_request', `grace must be a duration like 1h, got "${req.body.grace}"`, 'grace')
    const apiKey = await change(ctx, req, {action: 'service-account.rotate-key', target: {type: 'service-account', id: a.id, name: a.name}, details: {graceMs: grace}}, () => rotateApiKey(ctx.idb, a.id, grace), {
      kind: 'service-account', id: () => a.id, action: 'updated',
    })
    return {serviceAccount: publicAccount((await getServiceAccount(ctx.idb, a.id))!), apiKey, previousKeyValidUntil: grace ? new Date(Date.now() + grace).toISOString() : null}
  })

  app.post<{Params: RefParamsT}>('/v1/service-accounts/:ref/revoke', {schema: {params: RefParams}}, async (req) => {
    requireScope(req.principal!, 'service-accounts:write')
    const a = await resolveAccount(ctx, req.principal!, req.params.ref)
    await change(ctx, req, {action: 'service-account.revoke', target: {type: 'service-account', id: a.id, name: a.name}}, () => revokeServiceAccount(ctx.idb, a.id), {
      kind: 'service-account', id: () => a.id, action: 'revoked',
    })
    return publicAccount((await getServiceAccount(ctx.idb, a.id))!)
  })

  app.delete<{Params: RefParamsT}>('/v1/service-accounts/:ref', {schema: {params: RefParams}}, async (req, reply) => {
    requireScope(req.principal!, 'service-accounts:write')
    const a = await resolveAccount(ctx, req.principal!, req.params.ref)
    await change(ctx, req, {action: 'service-account.delete', target: {type: 'service-account', id: a.id, name: a.name}}, () => deleteServiceAccount(ctx.idb, a.id), {
      kind: 'service-account', id: () => a.id, action: 'deleted',
    })
    reply.code(204)
  })
}
