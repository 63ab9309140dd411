import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {Environment, Page, Project} from '../../../src/lib/api-types/index.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {countEnvironments, createEnvironment, deleteEnvironment, findEnvironmentByName, listEnvironments, renameEnvironment} from '../../store/config/environments.js'
import {createProject, deleteProject, findProjectByName, listProjects, updateProject} from '../../store/config/projects.js'
import {addProjectMember, forgetProject, membersOfProject, removeProjectMember} from '../../store/identity/project-members.js'
import {findUserByEmail, getUser, publicUser} from '../../store/identity/users.js'
import {projectReach, requireRole, requireScope} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {ApiError, notFound} from '../errors.js'
import {resolveEnvironment, resolveProject} from '../resolve.js'
import {Email, Name, PageQuery, type PageQueryT, parsePage, RefParams, type RefParamsT} from '../schemas.js'

const CreateBody = Type.Object({name: Name, description: Type.Optional(Type.String({maxLength: 1000}))}, {additionalProperties: false})
const UpdateBody = Type.Object({name: Type.Optional(Name), description: Type.Optional(Type.String({maxLength: 1000}))}, {additionalProperties: false, minProperties: 1})
const DeleteQuery = Type.Object({force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')]))}, {additionalProperties: false})
const EnvBody = Type.Object({name: Name}, {additionalProperties: false})
const EnvParams = Type.Object({ref: Type.String({minLength: 1, maxLength: 200}), env: Type.String({minLength: 1, maxLength: 200})})
const MemberBody = Type.Object({email: Email}, {additionalProperties: false})
const MemberParams = Type.Object({ref: Type.String({minLength: 1, maxLength: 200}), user: Type.String({minLength: 1, maxLength: 254})})

export function registerProjectRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Querystring: PageQueryT}>('/v1/projects', {schema: {querystring: PageQuery}}, async (req): Promise<Page<Project>> => {
    const p = req.principal!
    requireScope(p, 'projects:read')
    return listProjects(ctx.cdb, parsePage(req.query), await projectReach(ctx, p))
  })

  app.post<{Body: Static<typeof CreateBody>}>('/v1/projects', {schema: {body: CreateBody}}, async (req, reply): Promise<Project> => {
    const p = req.principal!
    requireScope(p, 'projects:write')
    if (p.kind === 'service-account' && p.projectId) throw new ApiError('forbidden', 'a project-scoped service account cannot create projects')
    if (await findProjectByName(ctx.cdb, req.body.name)) throw new ApiError('conflict', `a project named "${req.body.name}" already exists`, 'name')
    const project = await change(ctx, req, {action: 'project.create', target: {type: 'project', id: null, name: req.body.name}}, () => createProject(ctx.cdb, req.body), {
      kind: 'project', id: (r) => r.id, action: 'created',
    })
    // The creator of a project always reaches it, whatever their role.
    if (p.kind === 'user') await addProjectMember(ctx.idb, project.id, p.id)
    reply.code(201)
    return project
  })

  app.get<{Params: RefParamsT}>('/v1/projects/:ref', {schema: {params: RefParams}}, async (req): Promise<Project> => {
    requireScope(req.principal!, 'projects:read')
    return resolveProject(ctx, req.principal!, req.params.ref)
  })

  app.patch<{Params: RefParamsT; Body: Static<typeof UpdateBody>}>('/v1/projects/:ref', {schema: {params: RefParams, body: UpdateBody}}, async (req): Promise<Project> => {
    requireScope(req.principal!, 'projects:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    if (req.body.name) {
      const other = await findProjectByName(ctx.cdb, req.body.name)
      if (other && other.id !== project.id) throw new ApiError('conflict', `a project named "${req.body.name}" already exists`, 'name')
    }
    return change(ctx, req, {action: 'project.update', target: {type: 'project', id: project.id, name: project.name}, details: {...req.body}}, async () => (await updateProject(ctx.cdb, project.id, req.body))!, {
      kind: 'project', id: () => project.id, action: 'updated',
    })
  })

  app.delete<{Params: RefParamsT; Querystring: Static<typeof DeleteQuery>}>('/v1/projects/:ref', {schema: {params: RefParams, querystring: DeleteQuery}}, async (req, reply) => {
    requireScope(req.principal!, 'projects:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const envs = await countEnvironments(ctx.cdb, project.id)
    if (envs > 0 && req.query.force !== 'true') {
      throw new ApiError('not_empty', `project "${project.name}" has ${envs} environment(s); repeat with --force to delete them and everything in them`)
    }
    await change(ctx, req, {action: 'project.delete', target: {type: 'project', id: project.id, name: project.name}, details: {environments: envs}}, () => deleteProject(ctx.cdb, project.id), {
      kind: 'project', id: () => project.id, action: 'deleted',
    })
    await forgetProject(ctx.idb, project.id)
    reply.code(204)
  })

  // Environments
  app.get<{Params: RefParamsT; Querystring: PageQueryT}>('/v1/projects/:ref/environments', {schema: {params: RefParams, querystring: PageQuery}}, async (req): Promise<Page<Environment>> => {
    requireScope(req.principal!, 'projects:read')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    return listEnvironments(ctx.cdb, project.id, parsePage(req.query))
  })

  app.post<{Params: RefParamsT; Body: Static<typeof EnvBody>}>('/v1/projects/:ref/environments', {schema: {params: RefParams, body: EnvBody}}, async (req, reply): Promise<Environment> => {
    requireScope(req.principal!, 'projects:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    if (await findEnvironmentByName(ctx.cdb, project.id, req.body.name)) {
      throw new ApiError('conflict', `project "${project.name}" already has an environment named "${req.body.name}"`, 'name')
    }
    const env = await change(ctx, req, {action: 'environment.create', target: {type: 'environment', id: null, name: `${project.name}/${req.body.name}`}}, () => createEnvironment(ctx.cdb, project.id, req.body.name), {
      kind: 'environment', id: (e) => e.id, action: 'created',
    })
    reply.code(201)
    return env
  })

  app.get<{Params: Static<typeof EnvParams>}>('/v1/projects/:ref/environments/:env', {schema: {params: EnvParams}}, async (req): Promise<Environment> => {
    requireScope(req.principal!, 'projects:read')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    return resolveEnvironment(ctx, project, req.params.env)
  })

  app.patch<{Params: Static<typeof EnvParams>; Body: Static<typeof EnvBody>}>('/v1/projects/:ref/environments/:env', {schema: {params: EnvParams, body: EnvBody}}, async (req): Promise<Environment> => {
    requireScope(req.principal!, 'projects:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const env = await resolveEnvironment(ctx, project, req.params.env)
    const other = await findEnvironmentByName(ctx.cdb, project.id, req.body.name)
    if (other && other.id !== env.id) throw new ApiError('conflict', `project "${project.name}" already has an environment named "${req.body.name}"`, 'name')
    return change(ctx, req, {action: 'environment.rename', target: {type: 'environment', id: env.id, name: env.name}, details: {name: req.body.name}}, async () => (await renameEnvironment(ctx.cdb, env.id, req.body.name))!, {
      kind: 'environment', id: () => env.id, action: 'updated',
    })
  })

  app.delete<{Params: Static<typeof EnvParams>}>('/v1/projects/:ref/environments/:env', {schema: {params: EnvParams}}, async (req, reply) => {
    requireScope(req.principal!, 'projects:write')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const env = await resolveEnvironment(ctx, project, req.params.env)
    await change(ctx, req, {action: 'environment.delete', target: {type: 'environment', id: env.id, name: `${project.name}/${env.name}`}}, () => deleteEnvironment(ctx.cdb, env.id), {
      kind: 'environment', id: () => env.id, action: 'deleted',
    })
    reply.code(204)
  })

  // Project membership: which member-role users reach a project.
  app.get<{Params: RefParamsT}>('/v1/projects/:ref/members', {schema: {params: RefParams}}, async (req) => {
    requireScope(req.principal!, 'projects:read')
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const items = []
    for (const id of await membersOfProject(ctx.idb, project.id)) {
      const u = await getUser(ctx.idb, id)
      if (u) items.push(publicUser(u))
    }
    return {items, nextCursor: null}
  })

  app.post<{Params: RefParamsT; Body: Static<typeof MemberBody>}>('/v1/projects/:ref/members', {schema: {params: RefParams, body: MemberBody}}, async (req, reply) => {
    requireRole(req.principal!, ['owner', 'admin'])
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const user = await findUserByEmail(ctx.idb, req.body.email)
    if (!user) throw notFound('user', req.body.email)
    await change(ctx, req, {action: 'project.member.add', target: {type: 'project', id: project.id, name: project.name}, details: {userId: user.id}}, () => addProjectMember(ctx.idb, project.id, user.id))
    reply.code(201)
    return publicUser(user)
  })

  app.delete<{Params: Static<typeof MemberParams>}>('/v1/projects/:ref/members/:user', {schema: {params: MemberParams}}, async (req, reply) => {
    requireRole(req.principal!, ['owner', 'admin'])
    const project = await resolveProject(ctx, req.principal!, req.params.ref)
    const user = looksLikeId(req.params.user, 'user') ? await getUser(ctx.idb, req.params.user) : await findUserByEmail(ctx.idb, req.params.user)
    if (!user || !(await membersOfProject(ctx.idb, project.id)).includes(user.id)) throw notFound(`member of project ${project.name}`, req.params.user)
    await change(ctx, req, {action: 'project.member.remove', target: {type: 'project', id: project.id, name: project.name}, details: {userId: user.id}}, () => removeProjectMember(ctx.idb, project.id, user.id))
    reply.code(204)
  })
}

