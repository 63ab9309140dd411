import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import {coversHost} from '../../pki/cert-files.js'
import type {Environment, Page, Principal, Project, Route, RouteCreated} from '../../../src/lib/api-types/index.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {getProject} from '../../store/config/projects.js'
import {listEnvironments} from '../../store/config/environments.js'
import {createRoute, deleteRoute, findRouteByHostPath, getRoute, listRoutes, projectsOnHost, type RouteRecord, updateRoute} from '../../store/config/routes.js'
import {canReachProject, projectReach, requireScope} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {ApiError, notFound} from '../errors.js'
import {resolveEnvironment, resolveProject} from '../resolve.js'
import {edgePortOf, normaliseHostname, normalisePathPrefix, routeUrl} from '../route-address.js'
import {Name, PageQuery} from '../schemas.js'
import {resolvePolicy} from './policies.js'

const Ref = Type.String({minLength: 1, maxLength: 1000})
const Host = Type.String({minLength: 1, maxLength: 300})
const Path = Type.String({minLength: 1, maxLength: 2000})
const BodyLimit = Type.Integer({minimum: 1, maximum: 1024 ** 4})
const RateLimit = Type.Integer({minimum: 1, maximum: 1_000_000})
const CreateBody = Type.Object(
  {
    project: Ref, env: Type.Optional(Ref), hostname: Host, path: Type.Optional(Path), service: Name, policy: Type.Optional(Ref),
    bodyLimitBytes: Type.Optional(BodyLimit), rateLimitPerMinute: Type.Optional(RateLimit),
  },
  {additionalProperties: false},
)
const UpdateBody = Type.Object(
  {
    hostname: Type.Optional(Host), path: Type.Optional(Path), service: Type.Optional(Name), policy: Type.Optional(Type.Union([Ref, Type.Null()])),
    bodyLimitBytes: Type.Optional(Type.Union([BodyLimit, Type.Null()])), rateLimitPerMinute: Type.Optional(Type.Union([RateLimit, Type.Null()])),
  },
  {additionalProperties: false, minProperties: 1},
)
const ListQuery = Type.Object({project: Type.Optional(Ref), env: Type.Optional(Ref), ...PageQuery.properties}, {additionalProperties: false})
const Params = Type.Object({ref: Ref})

/** What a person should know about a new route's host: the edge's certificate does not name it. */
function certificateWarnings(ctx: ControlContext, hostname: string): string[] {
  const cert = ctx.edgeCertificate?.()
  // With ACME every route host gets a certificate of its own (its status is in `acme`).
  if (!cert || ctx.acme || coversHost(cert.leaf, hostname)) return []
  return [`the edge's certificate (${cert.source}) does not cover ${hostname}: browsers will refuse https://${hostname} until the certificate names it`]
}

export function withUrl(ctx: ControlContext, r: RouteRecord): Route {
  const route: Route = {...r, url: routeUrl(r.hostname, r.pathPrefix, edgePortOf(ctx.urls.edge, ctx.config.edgePort))}
  if (ctx.acme) route.acme = ctx.acme.status(r.hostname) ?? {status: 'pending', reason: null, challenge: null, nextAttemptAt: null, expiresAt: null, issuedAt: null}
  return route
}

/** A route by id or by "hostname[/path]" (a bare label is under the platform domain); out of reach is 404. */
async function resolveRoute(ctx: ControlContext, p: Principal, ref: string): Promise<RouteRecord> {
  let r: RouteRecord | undefined
  if (looksLikeId(ref, 'route')) {
    r = await getRoute(ctx.cdb, ref)
  } else {
    const slash = ref.indexOf('/')
    let host: string
    let pathPrefix: string
    try {
      host = normaliseHostname(slash === -1 ? ref : ref.slice(0, slash), ctx.config.domain)
      pathPrefix = normalisePathPrefix(slash === -1 ? '/' : ref.slice(slash))
    } catch {
      throw notFound('route', ref)
    }
    r = await findRouteByHostPath(ctx.cdb, host, pathPrefix)
  }
  const reach = r && (await projectReach(ctx, p))
  if (!r || (reach && !reach.includes(r.projectId))) throw notFound('route', ref)
  return r
}

async function pickEnvironment(ctx: ControlContext, project: Project, ref: string | undefined): Promise<Environment> {
  if (ref) return resolveEnvironment(ctx, project, ref)
  const envs = (await listEnvironments(ctx.cdb, project.id, {limit: 2})).items
  if (envs.length === 1) return envs[0]
  throw new ApiError('invalid_request', envs.length === 0
    ? `project "${project.name}" has no environment yet: create one with \`mezu envs create NAME --project ${project.name}\``
    : `project "${project.name}" has several environments: name one with --env`, 'env')
}

async function refuseTaken(ctx: ControlContext, hostname: string, pathPrefix: string, self?: string): Promise<void> {
  const other = await findRouteByHostPath(ctx.cdb, hostname, pathPrefix)
  if (other && other.id !== self) throw new ApiError('conflict', `a route for ${hostname}${pathPrefix} already exists (${other.id})`, 'hostname')
}

/**
 * A hostname belongs to one project: otherwise another project could claim a longer path prefix on
 * it and receive those paths under its own policy, with assertions bearing this host's audience.
 * The owning project is named only to callers who can reach it.
 */
async function refuseForeignHost(ctx: ControlContext, p: Principal, hostname: string, projectId: string): Promise<void> {
  const other = [...(await projectsOnHost(ctx.cdb, hostname))].find((id) => id !== projectId)
  if (!other) return
  const owner = (await canReachProject(ctx, p, other)) ? await getProject(ctx.cdb, other) : undefined
  throw new ApiError('conflict', owner
    ? `${hostname} belongs to project "${owner.name}": to move it, delete its routes there first`
    : `${hostname} is used by another project`, 'hostname')
}

const label = (r: {hostname: string; pathPrefix: string}) => `${r.hostname}${r.pathPrefix === '/' ? '' : r.pathPrefix}`

export function registerRouteRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Querystring: Static<typeof ListQuery>}>('/v1/routes', {schema: {querystring: ListQuery}}, async (req): Promise<Page<Route>> => {
    const p = req.principal!
    requireScope(p, 'routes:read')
    let filter: {projectId?: string; environmentId?: string} = {}
    if (req.query.project) {
      const project = await resolveProject(ctx, p, req.query.project)
      filter = {projectId: project.id, environmentId: req.query.env ? (await resolveEnvironment(ctx, project, req.query.env)).id : undefined}
    } else if (req.query.env) {
      throw new ApiError('invalid_request', 'env needs a project', 'project')
    }
    const reach = await projectReach(ctx, p)
    const items = (await listRoutes(ctx.cdb, filter)).filter((r) => !reach || reach.includes(r.projectId)).map((r) => withUrl(ctx, r))
    return {items, nextCursor: null}
  })

  app.post<{Body: Static<typeof CreateBody>}>('/v1/routes', {schema: {body: CreateBody}}, async (req, reply): Promise<RouteCreated> => {
    const p = req.principal!
    requireScope(p, 'routes:write')
    const project = await resolveProject(ctx, p, req.body.project)
    const env = await pickEnvironment(ctx, project, req.body.env)
    const hostname = normaliseHostname(req.body.hostname, ctx.config.domain)
    const pathPrefix = normalisePathPrefix(req.body.path ?? '/')
    const policy = req.body.policy ? await resolvePolicy(ctx, project, req.body.policy) : null
    // The checks run inside the write's transaction: two projects racing for one hostname are serialised.
    const route = await change(ctx, req, {action: 'route.create', target: {type: 'route', id: null, name: label({hostname, pathPrefix})}, details: {projectId: project.id, environmentId: env.id, policyId: policy?.id ?? null}}, async () => {
      await refuseForeignHost(ctx, p, hostname, project.id)
      await refuseTaken(ctx, hostname, pathPrefix)
      return createRoute(ctx.cdb, {
        projectId: project.id, environmentId: env.id, policyId: policy?.id ?? null, hostname, pathPrefix, service: req.body.service,
        bodyLimitBytes: req.body.bodyLimitBytes ?? null, rateLimitPerMinute: req.body.rateLimitPerMinute ?? null,
      })
    }, {kind: 'route', id: (r) => r.id, action: 'created'})
    reply.code(201)
    return {...withUrl(ctx, route), warnings: certificateWarnings(ctx, hostname)}
  })

  app.get<{Params: Static<typeof Params>}>('/v1/routes/:ref', {schema: {params: Params}}, async (req): Promise<Route> => {
    requireScope(req.principal!, 'routes:read')
    return withUrl(ctx, await resolveRoute(ctx, req.principal!, req.params.ref))
  })

  app.patch<{Params: Static<typeof Params>; Body: Static<typeof UpdateBody>}>('/v1/routes/:ref', {schema: {params: Params, body: UpdateBody}}, async (req): Promise<Route> => {
    const p = req.principal!
    requireScope(p, 'routes:write')
    const cur = await resolveRoute(ctx, p, req.params.ref)
    const project = (await getProject(ctx.cdb, cur.projectId))!
    const hostname = req.body.hostname === undefined ? cur.hostname : normaliseHostname(req.body.hostname, ctx.config.domain)
    const pathPrefix = req.body.path === undefined ? cur.pathPrefix : normalisePathPrefix(req.body.path)
    const policyId = req.body.policy === undefined ? undefined : req.body.policy === null ? null : (await resolvePolicy(ctx, project, req.body.policy)).id
    const route = await change(ctx, req, {action: 'route.update', target: {type: 'route', id: cur.id, name: label(cur)}, details: {fields: Object.keys(req.body)}}, async () => {
      await refuseForeignHost(ctx, p, hostname, cur.projectId)
      await refuseTaken(ctx, hostname, pathPrefix, cur.id)
      const updated = await updateRoute(ctx.cdb, cur.id, {hostname, pathPrefix, service: req.body.service, policyId, bodyLimitBytes: req.body.bodyLimitBytes, rateLimitPerMinute: req.body.rateLimitPerMinute})
      // deleted meanwhile by a concurrent request
      if (!updated) throw notFound('route', req.params.ref)
      return updated
    }, {
      kind: 'route', id: () => cur.id, action: 'updated',
    })
    return withUrl(ctx, route)
  })

  app.delete<{Params: Static<typeof Params>}>('/v1/routes/:ref', {schema: {params: Params}}, async (req, reply) => {
    requireScope(req.principal!, 'routes:write')
    const r = await resolveRoute(ctx, req.principal!, req.params.ref)
    await change(ctx, req, {action: 'route.delete', target: {type: 'route', id: r.id, name: label(r)}}, () => deleteRoute(ctx.cdb, r.id), {kind: 'route', id: () => r.id, action: 'deleted'})
    reply.code(204)
  })
}
