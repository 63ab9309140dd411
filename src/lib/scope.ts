import {Flags} from '@oclif/core'
import {readSettings} from './credentials.js'
import {MezuError} from './errors.js'

/** --project / --env with env-var defaults; `mezu use` supplies the fallback. */
export const scopeFlags = {
  project: Flags.string({char: 'p', description: 'project name or id (default: MEZU_PROJECT, then `mezu use`)', env: 'MEZU_PROJECT'}),
  env: Flags.string({char: 'e', description: 'environment name or id (default: MEZU_ENV, then `mezu use`)', env: 'MEZU_ENV'}),
}

export const projectFlag = {project: scopeFlags.project}

export function resolveProjectRef(flag: string | undefined): string {
  const p = flag ?? readSettings().project
  if (!p) throw new MezuError('no_scope', 'no project: pass --project, set MEZU_PROJECT, or run `mezu use PROJECT`')
  return p
}

export function resolveEnvRef(flag: string | undefined): string {
  const e = flag ?? readSettings().env
  if (!e) throw new MezuError('no_scope', 'no environment: pass --env, set MEZU_ENV, or run `mezu use PROJECT/ENV`')
  return e
}

export const enc = encodeURIComponent
