import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {Directory, DirectoryMember, Page} from '../../../src/lib/api-types/index.js'
import {looksLikeId} from '../../../src/protocol/ids.js'
import {
  addMember, countChildren, countMembers, createDirectory, deleteDirectoryTree, findChildDirectory, findDirectoryByPath,
  getDirectory, isSelfOrDescendant, listDirectories, loadDirectoryTree, membersOf, moveDirectory, removeMember, renameDirectory, subtreeIds,
} from '../../store/identity/directories.js'
import {findUserByEmail, getUser, type UserRecord} from '../../store/identity/users.js'
import {requireScope} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {ApiError, notFound} from '../errors.js'
import {Email, Name} from '../schemas.js'

const Ref = Type.String({minLength: 1, maxLength: 1000})
const Params = Type.Object({ref: Ref})
const MemberParams = Type.Object({ref: Ref, user: Type.String({minLength: 1, maxLength: 254})})
const CreateBody = Type.Object({name: Name, parent: Type.Optional(Ref)}, {additionalProperties: false})
// parent: null moves to the root
const UpdateBody = Type.Object({name: Type.Optional(Name), parent: Type.Optional(Type.Union([Ref, Type.Null()]))}, {additionalProperties: false, minProperties: 1})
const DeleteQuery = Type.Object({force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')]))}, {additionalProperties: false})
const MemberBody = Type.Object({email: Email}, {additionalProperties: false})

/** A directory by id or path ("eng/platform"). */
export async function resolveDirectory(ctx: ControlContext, ref: string, what = 'directory'): Promise<Directory> {
  const d = looksLikeId(ref, 'directory') ? await getDirectory(ctx.idb, ref) : await findDirectoryByPath(ctx.idb, ref)
  if (!d) throw notFound(what, ref)
  return d
}

async function resolveUser(ctx: ControlContext, ref: string): Promise<UserRecord> {
  const u = looksLikeId(ref, 'user') ? await getUser(ctx.idb, ref) : await findUserByEmail(ctx.idb, ref)
  if (!u) throw notFound('user', ref)
  return u
}

async function siblingConflict(ctx: ControlContext, parentId: string | null, name: string, self?: string): Promise<void> {
  const other = await findChildDirectory(ctx.idb, parentId, name)
  if (other && other.id !== self) throw new ApiError('conflict', `a directory "${other.path}" already exists`, 'name')
}

const feed = (id: string, action: 'created' | 'updated' | 'deleted') => ({kind: 'directory', id: () => id, action})

export function registerDirectoryRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get('/v1/directories', async (req): Promise<Page<Directory>> => {
    requireScope(req.principal!, 'directories:read')
    return {items: await listDirectories(ctx.idb), nextCursor: null}
  })

  app.post<{Body: Static<typeof CreateBody>}>('/v1/directories', {schema: {body: CreateBody}}, async (req, reply): Promise<Directory> => {
    requireScope(req.principal!, 'directories:write')
    const parent = req.body.parent ? await resolveDirectory(ctx, req.body.parent, 'parent directory') : null
    await siblingConflict(ctx, parent?.id ?? null, req.body.name)
    const path = parent ? `${parent.path}/${req.body.name}` : req.body.name
    const d = await change(ctx, req, {action: 'directory.create', target: {type: 'directory', id: null, name: path}}, () => createDirectory(ctx.idb, req.body.name, parent?.id ?? null), {
      kind: 'directory', id: (r) => r.id, action: 'created',
    })
    reply.code(201)
    return d
  })

  app.get<{Params: Static<typeof Params>}>('/v1/directories/:ref', {schema: {params: Params}}, async (req): Promise<Directory> => {
    requireScope(req.principal!, 'directories:read')
    return resolveDirectory(ctx, req.params.ref)
  })

  app.patch<{Params: Static<typeof Params>; Body: Static<typeof UpdateBody>}>('/v1/directories/:ref', {schema: {params: Params, body: UpdateBody}}, async (req): Promise<Directory> => {
    requireScope(req.principal!, 'directories:write')
    const d = await resolveDirectory(ctx, req.params.ref)
    let parentId = d.parentId
    if (req.body.parent !== undefined) {
      const parent = req.body.parent === null ? null : await resolveDirectory(ctx, req.body.parent, 'parent directory')
      if (parent && isSelfOrDescendant(await loadDirectoryTree(ctx.idb), d.id, parent.id)) {
        throw new ApiError('conflict', `cannot move "${d.path}" under "${parent.path}": a directory cannot be inside itself`, 'parent')
      }
      parentId = parent?.id ?? null
    }
    const name = req.body.name ?? d.name
    await siblingConflict(ctx, parentId, name, d.id)
    return change(ctx, req, {action: 'directory.update', target: {type: 'directory', id: d.id, name: d.path}, details: {...req.body}}, async () => {
      if (name !== d.name) await renameDirectory(ctx.idb, d.id, name)
      if (parentId !== d.parentId) await moveDirectory(ctx.idb, d.id, parentId)
      return (await getDirectory(ctx.idb, d.id))!
    }, feed(d.id, 'updated'))
  })

  app.delete<{Params: Static<typeof Params>; Querystring: Static<typeof DeleteQuery>}>('/v1/directories/:ref', {schema: {params: Params, querystring: DeleteQuery}}, async (req, reply) => {
    requireScope(req.principal!, 'directories:write')
    const d = await resolveDirectory(ctx, req.params.ref)
    const sub = await subtreeIds(ctx.idb, d.id)
    let members = 0
    for (const id of sub) members += await countMembers(ctx.idb, id)
    if (((await countChildren(ctx.idb, d.id)) > 0 || members > 0) && req.query.force !== 'true') {
      throw new ApiError('not_empty', `directory "${d.path}" is not empty (sub-directories: ${sub.length - 1}, memberships: ${members}); repeat with --force to delete them too`)
    }
    await change(ctx, req, {action: 'directory.delete', target: {type: 'directory', id: d.id, name: d.path}, details: {directories: sub.length, memberships: members}}, () => deleteDirectoryTree(ctx.idb, d.id), feed(d.id, 'deleted'))
    reply.code(204)
  })

  app.get<{Params: Static<typeof Params>}>('/v1/directories/:ref/members', {schema: {params: Params}}, async (req): Promise<Page<DirectoryMember>> => {
    requireScope(req.principal!, 'directories:read')
    const d = await resolveDirectory(ctx, req.params.ref)
    const items: DirectoryMember[] = []
    for (const m of await membersOf(ctx.idb, d.id)) {
      const u = await getUser(ctx.idb, m.userId)
      if (u) items.push({id: u.id, email: u.email, name: u.name, addedAt: new Date(m.addedAt).toISOString()})
    }
    return {items, nextCursor: null}
  })

  app.post<{Params: Static<typeof Params>; Body: Static<typeof MemberBody>}>('/v1/directories/:ref/members', {schema: {params: Params, body: MemberBody}}, async (req, reply): Promise<Directory> => {
    requireScope(req.principal!, 'directories:write')
    const d = await resolveDirectory(ctx, req.params.ref)
    const u = await resolveUser(ctx, req.body.email)
    if ((await membersOf(ctx.idb, d.id)).some((m) => m.userId === u.id)) throw new ApiError('conflict', `${u.email} is already a member of "${d.path}"`, 'email')
    await change(ctx, req, {action: 'directory.member.add', target: {type: 'directory', id: d.id, name: d.path}, details: {userId: u.id}}, () => addMember(ctx.idb, d.id, u.id), feed(d.id, 'updated'))
    reply.code(201)
    return (await getDirectory(ctx.idb, d.id))!
  })

  app.delete<{Params: Static<typeof MemberParams>}>('/v1/directories/:ref/members/:user', {schema: {params: MemberParams}}, async (req, reply) => {
    requireScope(req.principal!, 'directories:write')
    const d = await resolveDirectory(ctx, req.params.ref)
    const u = await resolveUser(ctx, req.params.user)
    if (!(await membersOf(ctx.idb, d.id)).some((m) => m.userId === u.id)) throw new ApiError('not_found', `${u.email} is not a member of "${d.path}"`)
    await change(ctx, req, {action: 'directory.member.remove', target: {type: 'directory', id: d.id, name: d.path}, details: {userId: u.id}}, () => removeMember(ctx.idb, d.id, u.id), feed(d.id, 'updated'))
    reply.code(204)
  })
}
