import {type Static, type TSchema, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {DeletePolicyResult, Page, Policy, PolicyRules, Project} from '../../../src/lib/api-types/index.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {createPolicy, deletePolicy, emptyRules, findPolicyByName, getPolicy, listPolicies, type PolicyDoc, updatePolicy} from '../../store/config/policies.js'
import {listRoutes, updateRoute} from '../../store/config/routes.js'
import {findServiceAccountByName, getServiceAccount} from '../../store/identity/service-accounts.js'
import {normaliseEmail} from '../../store/names.js'
import {requireScope} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {ApiError, notFound} from '../errors.js'
import {normaliseCidr} from '../ip-ranges.js'
import {resolveProject} from '../resolve.js'
import {Email, Name} from '../schemas.js'
import {resolveDirectory} from './directories.js'

const list = <S extends TSchema>(item: S) => Type.Optional(Type.Array(item, {maxItems: 1000}))
const Ref = Type.String({minLength: 1, maxLength: 1000})
const Rules = Type.Object(
  {emails: list(Email), directories: list(Ref), serviceAccounts: list(Ref), ips: list(Type.String({minLength: 1, maxLength: 64}))},
  {additionalProperties: false},
)
const CreateBody = Type.Object({name: Name, public: Type.Optional(Type.Boolean()), allow: Type.Optional(Rules), deny: Type.Optional(Rules)}, {additionalProperties: false})
const UpdateBody = Type.Object(
  {name: Type.Optional(Name), public: Type.Optional(Type.Boolean()), allow: Type.Optional(Rules), deny: Type.Optional(Rules)},
  {additionalProperties: false, minProperties: 1},
)
const ProjectParams = Type.Object({ref: Ref})
const PolicyParams = Type.Object({ref: Ref, policy: Ref})
const DeleteQuery = Type.Object({force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')]))}, {additionalProperties: false})
type RulesIn = Static<typeof Rules>

/** A policy of the project by name or id. */
export async function resolvePolicy(ctx: ControlContext, project: Project, ref: string): Promise<Policy> {
  const p = looksLikeId(ref, 'policy') ? await getPolicy(ctx.cdb, ref) : await findPolicyByName(ctx.cdb, project.id, ref)
  if (!p || p.projectId !== project.id) throw notFound(`policy in project ${project.name}`, ref)
  return p
}

const unique = (xs: string[]) => [...new Set(xs)]

/**
 * Names in a request → what the store keeps: directory and service-account ids, normalised
 * emails and CIDRs. Every unknown name is a 400 naming the list it was in, before anything is written.
 */
async function resolveRules(ctx: ControlContext, side: 'allow' | 'deny', input: RulesIn | undefined, current: PolicyRules): Promise<PolicyRules> {
  if (!input) return current
  const field = (f: string) => `${side}.${f}`
  const ips = input.ips?.map((s) => {
    const c = normaliseCidr(s)
    if (!c) throw new ApiError('invalid_request', `${field('ips')}: "${s}" is not an IP address or CIDR range (like 10.0.0.0/8 or 2001:db8::/32)`, field('ips'))
    return c
  })
  let directories: string[] | undefined
  if (input.directories) {
    directories = []
    for (const ref of input.directories) directories.push(await resolveDirectoryOr400(ctx, ref, field('directories')))
  }
  let serviceAccounts: string[] | undefined
  if (input.serviceAccounts) {
    serviceAccounts = []
    for (const ref of input.serviceAccounts) {
      const a = looksLikeId(ref, 'serviceAccount') ? await getServiceAccount(ctx.idb, ref) : await findServiceAccountByName(ctx.idb, ref)
      if (!a) throw new ApiError('invalid_request', `${field('serviceAccounts')}: no service account "${ref}"`, field('serviceAccounts'))
      serviceAccounts.push(a.id)
    }
  }
  return {
    emails: input.emails ? unique(input.emails.map(normaliseEmail)) : current.emails,
    directories: directories ? unique(directories) : current.directories,
    serviceAccounts: serviceAccounts ? unique(serviceAccounts) : current.serviceAccounts,
    ips: ips ? unique(ips) : current.ips,
  }
}

async function resolveDirectoryOr400(ctx: ControlContext, ref: string, field: string): Promise<string> {
  try {
    return (await resolveDirectory(ctx, ref)).id
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found') throw new ApiError('invalid_request', `${field}: no directory "${ref}"`, field)
    throw error
  }
}

export function registerPolicyRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Params: Static<typeof ProjectParams>}>('/v1/projects/:ref/policies', {schema: {params: ProjectParams}}, async (req): Promise<Page<Policy>> => {
    requireScope(req.principal!, 'policies:read')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    return {items: await listPolicies(ctx.cdb, project.id), nextCursor: null}
  })

  app.post<{Params: Static<typeof ProjectParams>; Body: Static<typeof CreateBody>}>('/v1/projects/:ref/policies', {schema: {params: ProjectParams, body: CreateBody}}, async (req, reply): Promise<Policy> => {
    requireScope(req.principal!, 'policies:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    if (await findPolicyByName(ctx.cdb, project.id, req.body.name)) throw new ApiError('conflict', `project "${project.name}" already has a policy named "${req.body.name}"`, 'name')
    const doc: PolicyDoc = {
      name: req.body.name,
      public: req.body.public ?? false,
      allow: await resolveRules(ctx, 'allow', req.body.allow, emptyRules()),
      deny: await resolveRules(ctx, 'deny', req.body.deny, emptyRules()),
    }
    const policy = await change(ctx, req, {action: 'policy.create', target: {type: 'policy', id: null, name: `${project.name}/${doc.name}`}, details: {public: doc.public}}, () => createPolicy(ctx.cdb, project.id, doc), {
      kind: 'policy', id: (p) => p.id, action: 'created',
    })
    reply.code(201)
    return policy
  })

  app.get<{Params: Static<typeof PolicyParams>}>('/v1/projects/:ref/policies/:policy', {schema: {params: PolicyParams}}, async (req): Promise<Policy> => {
    requireScope(req.principal!, 'policies:read')
    return resolvePolicy(ctx, await resolveProject(ctx, req.principal!, req.params.ref), req.params.policy)
  })

  app.patch<{Params: Static<typeof PolicyParams>; Body: Static<typeof UpdateBody>}>('/v1/projects/:ref/policies/:policy', {schema: {params: PolicyParams, body: UpdateBody}}, async (req): Promise<Policy> => {
    requireScope(req.principal!, 'policies:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const cur = await resolvePolicy(ctx, project, req.params.policy)
    if (req.body.name) {
      const other = await findPolicyByName(ctx.cdb, project.id, req.body.name)
      if (other && other.id !== cur.id) throw new ApiError('conflict', `project "${project.name}" already has a policy named "${req.body.name}"`, 'name')
    }
    const doc: PolicyDoc = {
      name: req.body.name ?? cur.name,
      public: req.body.public ?? cur.public,
      allow: await resolveRules(ctx, 'allow', req.body.allow, cur.allow),
      deny: await resolveRules(ctx, 'deny', req.body.deny, cur.deny),
    }
    return change(ctx, req, {action: 'policy.update', target: {type: 'policy', id: cur.id, name: `${project.name}/${cur.name}`}, details: {fields: Object.keys(req.body)}}, async () => (await updatePolicy(ctx.cdb, cur.id, doc))!, {
      kind: 'policy', id: () => cur.id, action: 'updated',
    })
  })

  app.delete<{Params: Static<typeof PolicyParams>; Querystring: Static<typeof DeleteQuery>}>('/v1/projects/:ref/policies/:policy', {schema: {params: PolicyParams, querystring: DeleteQuery}}, async (req): Promise<DeletePolicyResult> => {
    requireScope(req.principal!, 'policies:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const policy = await resolvePolicy(ctx, project, req.params.policy)
    const using = await listRoutes(ctx.cdb, {policyId: policy.id})
    const names = using.map((r) => `${r.hostname}${r.pathPrefix === '/' ? '' : r.pathPrefix}`)
    if (using.length > 0 && req.query.force !== 'true') {
      throw new ApiError('in_use', `policy "${policy.name}" is used by ${using.length} route(s): ${names.join(', ')}; repeat with --force to delete it (those routes then admit any signed-in user)`)
    }
    await change(ctx, req, {action: 'policy.delete', target: {type: 'policy', id: policy.id, name: `${project.name}/${policy.name}`}, details: {detachedRoutes: using.map((r) => r.id)}}, async () => {
      // Routes fall back to "any signed-in user", never to public.
      for (const r of using) await updateRoute(ctx.cdb, r.id, {policyId: null})
      return deletePolicy(ctx.cdb, policy.id)
    }, {kind: 'policy', id: () => policy.id, action: 'deleted'})
    return {deleted: policy.id, detachedRoutes: names}
  })
}
