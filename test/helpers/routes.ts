import {createPolicy, emptyRules, findPolicyByName} from '../../platform/store/config/policies.js'
import type {RouteRecord} from '../../platform/store/config/routes.js'
import {createRoute} from '../../platform/store/config/routes.js'
import {createEnvironment} from '../../platform/store/config/environments.js'
import {createProject} from '../../platform/store/config/projects.js'
import {bumpConfigVersion} from '../../platform/store/config/meta.js'
import {transaction} from '../../platform/store/db.js'
import type {TestPlatform} from './platform.js'

/**
 * Creates a route through the store module and publishes the change-feed event after commit,
 * as the control plane's change() does (the routes API is another helper's work).
 */
export async function addRoute(platform: TestPlatform, input: {projectId: string; environmentId: string; hostname: string; service: string; pathPrefix?: string; policyId?: string | null; rateLimitPerMinute?: number | null}): Promise<RouteRecord> {
  const ctx = platform.ctx
  let version = 0
  const route = await transaction(ctx.cdb, async () => {
    // Transport tests are about the tunnel, not login: their routes are public unless told otherwise.
    const policyId = input.policyId !== undefined ? input.policyId : ((await findPolicyByName(ctx.cdb, input.projectId, 'public')) ?? (await createPolicy(ctx.cdb, input.projectId, {name: 'public', public: true, allow: emptyRules(), deny: emptyRules()}))).id
    const r = await createRoute(ctx.cdb, {projectId: input.projectId, environmentId: input.environmentId, policyId, hostname: input.hostname, pathPrefix: input.pathPrefix ?? '/', service: input.service, bodyLimitBytes: null, rateLimitPerMinute: input.rateLimitPerMinute ?? null})
    version = await bumpConfigVersion(ctx.cdb)
    return r
  })
  await ctx.feed.publish({version, kind: 'route', id: route.id, action: 'created'})
  return route
}

/** A project and environment made through the store modules (feed event published). */
export async function addProjectEnv(platform: TestPlatform, name = 'demo', env = 'prod'): Promise<{projectId: string; environmentId: string; project: string; env: string}> {
  const ctx = platform.ctx
  const project = await createProject(ctx.cdb, {name})
  const environment = await createEnvironment(ctx.cdb, project.id, env)
  await ctx.feed.publish({version: await bumpConfigVersion(ctx.cdb), kind: 'environment', id: environment.id, action: 'created'})
  return {projectId: project.id, environmentId: environment.id, project: name, env}
}
