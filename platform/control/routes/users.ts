import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {CreateUserResponse, EraseUserResponse, Page, User, UserDetails, UserStatus, UserStatusChange} from '../../../src/lib/api-types/index.js'
import {anonymiseAuditFor, appendAudit} from '../../store/config/audit.js'
import {forgetEmail} from '../../store/config/policies.js'
import {transaction} from '../../store/db.js'
import {auditNames, eraseIdentity} from '../../store/identity/erasure.js'
import {loginHistory} from '../../store/identity/login-history.js'
import {projectsOfUser} from '../../store/identity/project-members.js'
import {listSessions, revokeSessionsOfUser} from '../../store/identity/sessions.js'
import {membersOf} from '../../store/identity/directories.js'
import {addUserToDirectories, directoriesOfUser} from '../../store/identity/user-directories.js'
import {createUser, findUserByEmail, listUsers, publicUser, updateUser} from '../../store/identity/users.js'
import {requireScope} from '../access.js'
import {type ControlContext, actorOf, announce, change, clientIp} from '../context.js'
import {ApiError} from '../errors.js'
import {Email, PageQuery, parsePage} from '../schemas.js'
import {DirectoryRefs, DisplayName, RoleSchema} from '../user-schemas.js'
import {issueInvitation, keepAnOwner, requireOwnerFor, resolveDirectories, resolveUser} from '../user-rules.js'
import {registerInviteRoutes} from './invites.js'
import {registerUserTransferRoutes} from './users-transfer.js'


const CreateBody = Type.Object(
  {email: Email, name: Type.Optional(DisplayName), role: Type.Optional(RoleSchema), directories: Type.Optional(DirectoryRefs)},
  {additionalProperties: false},
)
const UpdateBody = Type.Object(
  {email: Type.Optional(Email), name: Type.Optional(DisplayName), role: Type.Optional(RoleSchema)},
  {additionalProperties: false, minProperties: 1},
)
const UsersQuery = Type.Object(
  {
    ...PageQuery.properties,
    role: Type.Optional(RoleSchema),
    status: Type.Optional(Type.Unsafe<UserStatus>({type: 'string', enum: ['active', 'invited', 'disabled']})),
    directory: Type.Optional(Type.String({minLength: 1, maxLength: 300})),
  },
  {additionalProperties: false},
)
type UsersQueryT = Static<typeof UsersQuery>
const UserParams = Type.Object({ref: Type.String({minLength: 1, maxLength: 254})})
type UserParamsT = Static<typeof UserParams>

const LAST_LOGINS = 10

/** Users: create (with an invitation), list, get, update, disable/enable, erase. */
export function registerUserRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Querystring: UsersQueryT}>('/v1/users', {schema: {querystring: UsersQuery}}, async (req): Promise<Page<User>> => {
    requireScope(req.principal!, 'users:read')
    const {role, status, directory} = req.query
    const inDirectory = directory === undefined ? undefined : new Set((await membersOf(ctx.idb, (await resolveDirectories(ctx, [directory], 'directory'))[0])).map((m) => m.userId))
    const keep = role || status || inDirectory
      ? (u: User) => (!role || u.role === role) && (!status || u.status === status) && (!inDirectory || inDirectory.has(u.id))
      : undefined
    const page = await listUsers(ctx.idb, parsePage(req.query), keep)
    return {items: page.items.map(publicUser), nextCursor: page.nextCursor}
  })

  app.post<{Body: Static<typeof CreateBody>}>('/v1/users', {schema: {body: CreateBody}}, async (req, reply): Promise<CreateUserResponse> => {
    const p = req.principal!
    requireScope(p, 'users:write')
    const role = req.body.role ?? 'member'
    requireOwnerFor(p, [role], 'create')
    if (await findUserByEmail(ctx.idb, req.body.email)) throw new ApiError('conflict', `a user with email ${req.body.email} already exists`, 'email')
    const dirs = await resolveDirectories(ctx, req.body.directories ?? [])
    const created = await change(ctx, req, {action: 'user.create', target: {type: 'user', id: null, name: req.body.email}, details: {role}}, () =>
      transaction(ctx.idb, async () => {
        const user = await createUser(ctx.idb, {email: req.body.email, name: req.body.name ?? '', role, status: 'invited', passwordHash: null})
        await addUserToDirectories(ctx.idb, user.id, dirs)
        return {user: publicUser(user), invite: await issueInvitation(ctx, user.id)}
      }), {kind: 'user', id: (r) => r.user.id, action: 'created'})
    reply.code(201)
    return created
  })

  app.get<{Params: UserParamsT}>('/v1/users/:ref', {schema: {params: UserParams}}, async (req): Promise<UserDetails> => {
    requireScope(req.principal!, 'users:read')
    const u = await resolveUser(ctx, req.params.ref)
    return {
      ...publicUser(u),
      directories: await directoriesOfUser(ctx.idb, u.id),
      projects: await projectsOfUser(ctx.idb, u.id),
      activeSessions: (await listSessions(ctx.idb, {userId: u.id, activeOnly: true})).length,
      lastLogins: await loginHistory(ctx.idb, u.id, LAST_LOGINS),
    }
  })

  app.patch<{Params: UserParamsT; Body: Static<typeof UpdateBody>}>('/v1/users/:ref', {schema: {params: UserParams, body: UpdateBody}}, async (req): Promise<User> => {
    const p = req.principal!
    requireScope(p, 'users:write')
    const u = await resolveUser(ctx, req.params.ref)
    requireOwnerFor(p, [u.role, req.body.role], 'change')
    // the last-owner check runs in the write's transaction, so two owners demoting each other cannot both succeed
    const updated = await change(ctx, req, {action: 'user.update', target: {type: 'user', id: u.id, name: u.email}, details: {...req.body}}, async () => {
      if (req.body.role && req.body.role !== 'owner') await keepAnOwner(ctx, u, 'demote')
      if (req.body.email) {
        const other = await findUserByEmail(ctx.idb, req.body.email)
        if (other && other.id !== u.id) throw new ApiError('conflict', `a user with email ${req.body.email} already exists`, 'email')
      }
      return (await updateUser(ctx.idb, u.id, req.body))!
    }, {
      kind: 'user', id: () => u.id, action: 'updated',
    })
    return publicUser(updated)
  })

  app.post<{Params: UserParamsT}>('/v1/users/:ref/disable', {schema: {params: UserParams}}, async (req): Promise<UserStatusChange> => {
    const p = req.principal!
    requireScope(p, 'users:write')
    const u = await resolveUser(ctx, req.params.ref)
    requireOwnerFor(p, [u.role], 'disable')
    // One event tells the edge to drop every cached session of this user at once.
    const revoked = await change(ctx, req, {action: 'user.disable', target: {type: 'user', id: u.id, name: u.email}}, async () => {
      await keepAnOwner(ctx, u, 'disable')
      await updateUser(ctx.idb, u.id, {status: 'disabled'})
      return revokeSessionsOfUser(ctx.idb, u.id)
    }, {kind: 'user', id: () => u.id, action: 'revoked'})
    return {user: publicUser(await resolveUser(ctx, u.id)), revokedSessions: revoked.length}
  })

  app.post<{Params: UserParamsT}>('/v1/users/:ref/enable', {schema: {params: UserParams}}, async (req): Promise<UserStatusChange> => {
    const p = req.principal!
    requireScope(p, 'users:write')
    const u = await resolveUser(ctx, req.params.ref)
    requireOwnerFor(p, [u.role], 'enable')
    // A user who never set a password goes back to waiting for an invitation.
    const status = u.passwordHash ? 'active' : 'invited'
    const updated = await change(ctx, req, {action: 'user.enable', target: {type: 'user', id: u.id, name: u.email}}, async () => (await updateUser(ctx.idb, u.id, {status}))!, {
      kind: 'user', id: () => u.id, action: 'updated',
    })
    return {user: publicUser(updated), revokedSessions: 0}
  })

  app.post<{Params: UserParamsT}>('/v1/users/:ref/invite', {schema: {params: UserParams}}, async (req, reply): Promise<CreateUserResponse> => {
    const p = req.principal!
    requireScope(p, 'users:write')
    const u = await resolveUser(ctx, req.params.ref)
    requireOwnerFor(p, [u.role], 'invite')
    if (u.status !== 'invited') throw new ApiError('conflict', `${u.email} is ${u.status}; only invited users get a new invitation`)
    const invite = await change(ctx, req, {action: 'user.invite', target: {type: 'user', id: u.id, name: u.email}}, () => transaction(ctx.idb, () => issueInvitation(ctx, u.id)))
    reply.code(201)
    return {user: publicUser(u), invite}
  })

  app.delete<{Params: UserParamsT}>('/v1/users/:ref', {schema: {params: UserParams}}, async (req): Promise<EraseUserResponse> => {
    const p = req.principal!
    requireScope(p, 'users:write')
    const u = await resolveUser(ctx, req.params.ref)
    requireOwnerFor(p, [u.role], 'erase')
    if (p.kind === 'user' && p.id === u.id) throw new ApiError('conflict', 'you cannot erase your own account; ask another owner or admin')
    // Both stores share one handle, so the erasure and the audit anonymisation commit together.
    const {removed, anonymised, policies} = await transaction(ctx.cdb, async (onCommit) => {
      await keepAnOwner(ctx, u, 'erase')
      const removed = await eraseIdentity(ctx.idb, u.id)
      // The audit log keeps that an erasure happened, never whom it erased.
      const anonymised = await anonymiseAuditFor(ctx.cdb, u.id, auditNames(u.id, u.email), u.email)
      const policies = await forgetEmail(ctx.cdb, u.email)
      await appendAudit(ctx.cdb, {actor: actorOf(req), action: 'user.erase', target: {type: 'user', id: null, name: null}, ip: clientIp(req), details: {removed, policiesUpdated: policies}})
      await announce(ctx, onCommit, {kind: 'user', id: u.id, action: 'deleted'})
      return {removed, anonymised, policies}
    })
    // WAL mode keeps deleted bytes in the -wal file: checkpoint and vacuum the SQLite stores.
    await ctx.stores.sqlite?.purgeFreePages()
    return {erased: {id: u.id, email: u.email}, removed, anonymisedAuditEntries: anonymised, policiesUpdated: policies}
  })

  registerInviteRoutes(app, ctx)
  registerUserTransferRoutes(app, ctx)
}
