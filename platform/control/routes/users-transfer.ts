import {type Static, Type} from '@sinclair/typebox'
import {Value} from '@sinclair/typebox/value'
import type {FastifyInstance} from 'fastify'
import type {ImportUserRow, ImportUsersResponse, InputProblem, Page, UserExport, UserStatus} from '../../../src/lib/api-types/index.js'
import {transaction} from '../../store/db.js'
import {addUserToDirectories, lookupDirectory} from '../../store/identity/user-directories.js'
import {exportUser} from '../../store/identity/user-export.js'
import {createUser, findUserByEmail, listUsers, publicUser} from '../../store/identity/users.js'
import {normaliseEmail} from '../../store/names.js'
import {requireScope} from '../access.js'
import {type ControlContext, change} from '../context.js'
import {ApiError} from '../errors.js'
import {Email, parsePage} from '../schemas.js'
import {issueInvitation, resolveUser} from '../user-rules.js'
import {DirectoryRefs, DisplayName, RoleUnion, StatusUnion} from '../user-schemas.js'

const MAX_IMPORT_ROWS = 5000

const ImportRow = Type.Object(
  {
    line: Type.Optional(Type.Integer({minimum: 1})),
    email: Email,
    name: Type.Optional(DisplayName),
    role: Type.Optional(RoleUnion),
    status: Type.Optional(StatusUnion),
    directories: Type.Optional(DirectoryRefs),
    passwordHash: Type.Optional(Type.Union([Type.Null(), Type.String({pattern: '^\\$argon2id\\$', maxLength: 512})])),
  },
  {additionalProperties: false},
)
// Rows are checked one by one below, so every bad row can be reported with its line.
const ImportBody = Type.Object(
  {users: Type.Array(Type.Unknown(), {minItems: 1, maxItems: MAX_IMPORT_ROWS}), skipExisting: Type.Optional(Type.Boolean())},
  {additionalProperties: false},
)
const ExportQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({pattern: '^[0-9]{1,4}$'})),
    cursor: Type.Optional(Type.String({maxLength: 200})),
    user: Type.Optional(Type.String({minLength: 1, maxLength: 254})),
    credentials: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  },
  {additionalProperties: false},
)

interface Planned {
  row: ImportUserRow
  line: number | null
  directoryIds: string[]
  status: UserStatus
}

/** `mezu users import` and `mezu users export`: the JSON export is what import reads back. */
export function registerUserTransferRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Querystring: Static<typeof ExportQuery>}>('/v1/users/export', {schema: {querystring: ExportQuery}}, async (req): Promise<Page<UserExport>> => {
    const p = req.principal!
    requireScope(p, 'users:read')
    // A password hash can be attacked offline: only those who may write users get it.
    const credentials = req.query.credentials === 'true'
    if (credentials) requireScope(p, 'users:write')
    if (req.query.user) return {items: [await exportUser(ctx.idb, ctx.cdb, await resolveUser(ctx, req.query.user), {credentials})], nextCursor: null}
    const page = await listUsers(ctx.idb, parsePage(req.query, 200))
    const items: UserExport[] = []
    for (const u of page.items) items.push(await exportUser(ctx.idb, ctx.cdb, u, {credentials}))
    return {items, nextCursor: page.nextCursor}
  })

  app.post<{Body: Static<typeof ImportBody>}>('/v1/users/import', {schema: {body: ImportBody}}, async (req, reply): Promise<ImportUsersResponse> => {
    const p = req.principal!
    requireScope(p, 'users:write')
    const {plan, skipped} = await planImport(ctx, req.body.users, {skipExisting: req.body.skipExisting ?? false, mayCreateOwners: p.kind === 'user' && p.role === 'owner'})
    const created = await change(ctx, req, {action: 'user.import', target: {type: 'user', id: null, name: null}, details: {created: plan.length, skipped: skipped.length}}, () =>
      transaction(ctx.idb, async () => {
        const out: ImportUsersResponse['created'] = []
        for (const {row, line, directoryIds, status} of plan) {
          const user = await createUser(ctx.idb, {email: row.email, name: row.name ?? '', role: row.role ?? 'member', status, passwordHash: status === 'invited' ? null : row.passwordHash ?? null})
          await addUserToDirectories(ctx.idb, user.id, directoryIds)
          out.push({line, user: publicUser(user), invite: status === 'invited' ? await issueInvitation(ctx, user.id) : null})
        }
        return out
      }), {kind: 'user', id: () => null, action: 'created'})
    reply.code(201)
    return {created, skipped}
  })
}

/** Checks every row before anything is written; all problems are reported together, by line. */
async function planImport(ctx: ControlContext, rows: unknown[], opts: {skipExisting: boolean; mayCreateOwners: boolean}): Promise<{plan: Planned[]; skipped: ImportUsersResponse['skipped']}> {
  const problems: InputProblem[] = []
  const wheres: string[] = []
  let onlyConflicts = true
  const plan: Planned[] = []
  const skipped: ImportUsersResponse['skipped'] = []
  const seen = new Map<string, string>()
  for (const [i, raw] of rows.entries()) {
    const lineOf = (raw as {line?: unknown})?.line
    const line = typeof lineOf === 'number' && Number.isInteger(lineOf) ? lineOf : null
    const where = line !== null ? `line ${line}` : `item ${i + 1}`
    const bad = (msg: string, field: string | null, conflict = false) => {
      problems.push({line, field, message: msg})
      wheres.push(where)
      if (!conflict) onlyConflicts = false
    }
    const err = Value.Errors(ImportRow, raw).First()
    if (err) {
      const field = err.path.replace(/^\//, '').replaceAll('/', '.')
      bad(field ? `${field} ${describe(field, err.message)}` : err.message, field || null)
      continue
    }
    const row = raw as ImportUserRow
    const email = normaliseEmail(row.email)
    const before = seen.get(email)
    if (before) {
      bad(`email ${email} appears twice (also ${before})`, 'email')
      continue
    }
    seen.set(email, where)
    if (row.role === 'owner' && !opts.mayCreateOwners) {
      bad('only an owner may import owners', 'role')
      continue
    }
    if (await findUserByEmail(ctx.idb, email)) {
      if (opts.skipExisting) skipped.push({line, email})
      else bad(`a user with email ${email} already exists`, 'email', true)
      continue
    }
    const directoryIds: string[] = []
    for (const ref of row.directories ?? []) {
      const d = await lookupDirectory(ctx.idb, ref)
      if (d.ok) directoryIds.push(d.id)
      else bad(d.reason === 'ambiguous' ? `directory "${ref}" is ambiguous; give its path (${d.candidates!.join(', ')})` : `directory "${ref}" does not exist`, 'directories')
    }
    const status: UserStatus = row.status === 'disabled' ? 'disabled' : row.passwordHash ? 'active' : 'invited'
    plan.push({row: {...row, email}, line, directoryIds, status})
  }
  if (problems.length > 0) {
    const listed = problems.map((p, i) => `${wheres[i]}: ${p.message}`)
    const message = `nothing was imported; ${problems.length} problem(s): ${listed.join('; ')}`
    throw new ApiError(onlyConflicts ? 'conflict' : 'invalid_request', message, 'users', {}, problems)
  }
  return {plan, skipped}
}

function describe(field: string, message: string): string {
  if (/required/i.test(message)) return 'is missing'
  if (/unexpected property/i.test(message)) return 'is not a known field (email, name, role, status, directories, passwordHash)'
  if (field === 'email') return 'is not an email address'
  if (field === 'role') return 'must be owner, admin or member'
  if (field === 'status') return 'must be active, invited or disabled'
  if (field === 'passwordHash') return 'must be an argon2id hash ($argon2id$...) or null'
  return message.toLowerCase()
}
