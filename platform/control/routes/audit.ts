import {type Static, Type} from '@sinclair/typebox'
import type {FastifyInstance} from 'fastify'
import type {AuditEntry, Page} from '../../../src/lib/api-types/index.js'
import {listAudit} from '../../store/config/audit.js'
import {requireScope} from '../access.js'
import type {ControlContext} from '../context.js'
import {parsePage} from '../schemas.js'

const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({pattern: '^[0-9]{1,4}$'})),
    cursor: Type.Optional(Type.String({maxLength: 200})),
    action: Type.Optional(Type.String({maxLength: 100})),
    actor: Type.Optional(Type.String({maxLength: 254})),
  },
  {additionalProperties: false},
)

export function registerAuditRoutes(app: FastifyInstance, ctx: ControlContext): void {
  app.get<{Querystring: Static<typeof AuditQuery>}>('/v1/audit', {schema: {querystring: AuditQuery}}, async (req): Promise<Page<AuditEntry>> => {
    const p = req.principal!
    requireScope(p, 'audit:read')
    const {action, actor} = req.query
    return listAudit(ctx.cdb, parsePage(req.query), (e) => (!action || e.action.startsWith(action)) && (!actor || e.actor.name === actor || e.actor.id === actor))
  })
}
