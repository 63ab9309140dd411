import type {FastifyInstance} from 'fastify'
import type {ControlContext} from '../context.js'
import {registerAuditRoutes} from './audit.js'
import {registerAuthRoutes} from './auth.js'
import {registerCaRoutes} from './ca.js'
import {registerDeviceLoginRoutes} from './device-logins.js'
import {registerDirectoryRoutes} from './directories.js'
import {registerEdgeRoutes} from './edges.js'
import {registerPolicyRoutes} from './policies.js'
import {registerLogRoutes} from './logs.js'
import {registerProjectRoutes} from './projects.js'
import {registerRouteRoutes} from './routes.js'
import {registerServiceAccountRoutes} from './service-accounts.js'
import {registerUserRoutes} from './users.js'
import {registerSessionRoutes} from './sessions.js'
import {registerWarpgateRoutes} from './warpgates.js'

/** Every /v1 resource, one module each. Add a module here to expose it. */
export const routeModules: Array<(app: FastifyInstance, ctx: ControlContext) => void> = [
  registerAuthRoutes,
  registerDeviceLoginRoutes,
  registerProjectRoutes,
  registerServiceAccountRoutes,
  registerAuditRoutes,
  registerUserRoutes,
  registerDirectoryRoutes,
  registerSessionRoutes,
  registerPolicyRoutes,
  registerRouteRoutes,
  registerWarpgateRoutes,
  registerLogRoutes,
  registerEdgeRoutes,
  registerCaRoutes,
]
