import type {Environment, Principal, Project} from '../../src/lib/api-types/index.js'
import {looksLikeId} from '../../src/protocol/ids.js'
import {findEnvironmentByName, getEnvironment} from '../store/config/environments.js'
import {findProjectByName, getProject} from '../store/config/projects.js'
import {canReachProject} from './access.js'
import type {ControlContext} from './context.js'
import {notFound} from './errors.js'

/** A project by name or id; out of the caller's reach answers exactly like a missing one (404). */
export async function resolveProject(ctx: ControlContext, p: Principal, ref: string): Promise<Project> {
  const project = looksLikeId(ref, 'project') ? await getProject(ctx.cdb, ref) : await findProjectByName(ctx.cdb, ref)
  if (!project || !(await canReachProject(ctx, p, project.id))) throw notFound('project', ref)
  return project
}

export async function resolveEnvironment(ctx: ControlContext, project: Project, ref: string): Promise<Environment> {
  const env = looksLikeId(ref, 'environment') ? await getEnvironment(ctx.cdb, ref) : await findEnvironmentByName(ctx.cdb, project.id, ref)
  if (!env || env.projectId !== project.id) throw notFound(`environment in project ${project.name}`, ref)
  return env
}
