import type {Environment, Principal, Project} from '../../src/lib/api-types/index.js'
import {looksLikeId} from '../../src/protocol/ids.js'
import {findEnvironmentByName, getEnvironment} from '../store/config/environments.js'
import {findProjectByName, getProject} from '../store/config/projects.js'
import {canReachProject} from './access.js'
import type {ControlContext} from './context.js'
import {notFound} from './errors.js'

/** A project by name or id; out of the caller's reach answers exactly like a missing one (404). */
export function resolveProject(ctx: ControlContext, p: Principal, ref: string): Project {
  const project = looksLikeId(ref, 'project') ? getProject(ctx.cdb, ref) : findProjectByName(ctx.cdb, ref)
  if (!project || !canReachProject(ctx, p, project.id)) throw notFound('project', ref)
  return project
}

export function resolveEnvironment(ctx: ControlContext, project: Project, ref: string): Environment {
  const env = looksLikeId(ref, 'environment') ? getEnvironment(ctx.cdb, ref) : findEnvironmentByName(ctx.cdb, project.id, ref)
  if (!env || env.projectId !== project.id) throw notFound(`environment in project ${project.name}`, ref)
  return env
}
