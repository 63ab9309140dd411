import {cpSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseServiceConfig, SERVICE_FILE} from '../warpgate/service-config.js'
import {MezuError} from './errors.js'

/** templates/services in the source tree and in the package (this file runs from dist/src/lib). */
export const SERVICE_TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'templates', 'services')
export const SERVICE_TEMPLATES = ['hello', 'static'] as const
export type ServiceTemplate = (typeof SERVICE_TEMPLATES)[number]

export interface ScaffoldResult {
  dir: string
  template: ServiceTemplate
  name: string
  port: number
  /** written files, relative to dir */
  files: string[]
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/

/** A directory's name made into a service name ("My App!" → "my-app"), or undefined. */
export function nameFromDir(dir: string): string | undefined {
  const n = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+|[-_.]+$/g, '').slice(0, 63)
  return NAME_PATTERN.test(n) ? n : undefined
}

/** Copies a service template into dir and sets its name and port in mezu.json. */
export function scaffoldService(opts: {dir: string; template: ServiceTemplate; name?: string; port?: number; force?: boolean}): ScaffoldResult {
  const given = resolve(opts.dir)
  const source = join(SERVICE_TEMPLATES_DIR, opts.template)
  if (!existsSync(join(source, SERVICE_FILE))) throw new MezuError('usage', `no template "${opts.template}" (templates: ${SERVICE_TEMPLATES.join(', ')})`, 2)
  if (opts.name !== undefined && !NAME_PATTERN.test(opts.name)) {
    throw new MezuError('usage', `--name must be letters, digits, "-", "_" and "." (starting with a letter or digit), at most 63 characters; got ${JSON.stringify(opts.name)}`, 2)
  }
  const name = opts.name ?? nameFromDir(given)
  if (!name) throw new MezuError('usage', `cannot make a service name from the directory name "${basename(given)}"; pass --name`, 2)
  const dir = followLink(given)
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new MezuError('bad_input', `${shown(given, dir)} exists and is not a directory`)
    if (readdirSync(dir).length > 0 && !opts.force) throw new MezuError('bad_input', `${shown(given, dir)} is not empty; pick an empty directory or pass --force to write the template's files into it`)
  }
  cpSync(source, dir, {recursive: true, force: true})
  const configPath = join(dir, SERVICE_FILE)
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>
  const port = opts.port ?? (config.port as number)
  const updated: Record<string, unknown> = {...config, name, port}
  delete updated.url
  // The same validation `mezu tunnel` applies, so init never leaves a mezu.json tunnel refuses.
  parseServiceConfig(updated, configPath)
  writeFileSync(configPath, JSON.stringify(updated, null, 2) + '\n')
  return {dir: given, template: opts.template, name, port, files: listFiles(source).map((f) => relative(source, f)).sort()}
}

/**
 * A symbolic link as DIR is followed, so the files go into the directory it points to (as
 * `cp -r template/. LINK` would) and the link stays; one that points nowhere is refused.
 */
function followLink(path: string): string {
  if (!lstatSync(path, {throwIfNoEntry: false})?.isSymbolicLink()) return path
  if (!existsSync(path)) throw new MezuError('bad_input', `${path} is a symbolic link to ${readlinkSync(path)}, which does not exist; create that directory first or give another DIR`)
  return realpathSync(path)
}

function shown(given: string, dir: string): string {
  return given === dir ? given : `${given} (a link to ${dir})`
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]))
}
