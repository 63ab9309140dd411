import {accessSync, constants, readFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node} from 'yaml'
import {checkValue, closest, ConfigError, GROUPS, SETTINGS, settingByKey, type SettingValue} from './settings.js'

/** One setting read from the config file, already checked against its schema entry. */
export interface FileSetting {
  key: string
  value: SettingValue
  line: number
}

/** The name of the config file in the data directory, read when --config is not given. */
export const CONFIG_FILE = 'platform.yaml'

/**
 * Reads the config file: `explicit` (from --config) must exist, the default one may be absent.
 * Throws ConfigError naming file, line and key for YAML errors, unknown keys, wrong types and bad values.
 */
export function readConfigFile(path: string, explicit: boolean): {path: string; found: boolean; settings: FileSetting[]} {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // The default file sits in the data directory: when that is missing, not a directory or not
    // readable, the start reports the directory itself (code `platform`), not the file.
    if (!explicit && (code === 'ENOENT' || code === 'ENOTDIR' || (code === 'EACCES' && !searchable(dirname(path))))) return {path, found: false, settings: []}
    throw new ConfigError(code === 'ENOENT' ? `the config file ${path} does not exist` : `cannot read the config file ${path}: ${(error as Error).message}`)
  }
  return {path, found: true, settings: parseConfigText(path, text)}
}

/** Parses the text of a config file named `path` (used in messages and to resolve relative paths). */
export function parseConfigText(path: string, text: string): FileSetting[] {
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines, prettyErrors: false, uniqueKeys: true})
  const lineOf = (offset: number) => lines.linePos(offset).line
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const line = lineOf(e.pos[0])
    // The parser knows positions, not keys: name the key on that line, else the nearest one above it.
    const keyAt = (l: number) => /^\s*(?:-\s+)?["']?([\w.-]+)["']?\s*:/.exec(text.split('\n')[l - 1] ?? '')?.[1]
    let keyLine = line
    while (keyLine > 1 && !keyAt(keyLine)) keyLine--
    const key = keyAt(keyLine)
    const near = key ? ` at the key "${key}"${keyLine === line ? '' : ` (line ${keyLine})`}` : ''
    const what = e.code === 'DUPLICATE_KEY' ? `the key "${key ?? '?'}" is given twice` : `this is not valid YAML${near}: ${e.message.replace(/\s+/g, ' ').replace(/\.$/, '')}`
    throw new ConfigError(`${path}:${line}: ${what}`)
  }
  const out: FileSetting[] = []
  const seen = new Map<string, number>()
  const at = (node: Node | null | undefined) => lineOf(node?.range?.[0] ?? 0)
  const walk = (map: Node, prefix: string) => {
    if (!isMap(map)) return
    for (const pair of map.items) {
      const keyNode = pair.key as Node
      const line = at(keyNode)
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') throw new ConfigError(`${path}:${line}: keys must be setting names, got ${String((keyNode as {toJSON?: () => unknown})?.toJSON?.() ?? keyNode)}`)
      const key = prefix ? `${prefix}.${keyNode.value}` : keyNode.value
      const valueNode = resolved(doc, pair.value as Node | null)
      const setting = settingByKey(key)
      if (setting) {
        if (setting.inFile === false) {
          throw new ConfigError(`${path}:${line}: ${key} cannot be set in the config file; ${setting.secret ? `set ${setting.env}` : `use --${setting.flag} or ${setting.env}`}`)
        }
        const raw = plain(doc, valueNode)
        const checked = checkValue(setting, raw)
        if (!checked.ok) throw new ConfigError(`${path}:${line}: ${key} ${checked.problem}`)
        if (seen.has(key)) throw new ConfigError(`${path}:${line}: ${key} is already set on line ${seen.get(key)}`)
        seen.set(key, line)
        const value = setting.type === 'path' ? resolve(dirname(path), checked.value as string) : checked.value
        out.push({key, value, line})
      } else if (GROUPS.has(key)) {
        // `edge:` with every setting under it commented out is an empty group, not an error.
        if (valueNode === null || (isScalar(valueNode) && valueNode.value === null)) continue
        if (!isMap(valueNode)) throw new ConfigError(`${path}:${line}: ${key} must be a mapping of settings (${key}.…), got ${shownNode(doc, valueNode)}`)
        walk(valueNode, key)
      } else {
        const hint = closest(key, [...SETTINGS.filter((s) => s.inFile !== false).map((s) => s.key), ...GROUPS])
        throw new ConfigError(`${path}:${line}: unknown setting "${key}"${hint ? `; did you mean "${hint}"?` : ' (`mezu platform config` lists them)'}`)
      }
    }
  }
  const root = doc.contents
  if (root === null || (isScalar(root) && root.value === null)) return out
  if (!isMap(root)) throw new ConfigError(`${path}:${at(root)}: the file must be a mapping of settings (key: value lines), got ${shownNode(doc, root)}`)
  walk(root, '')
  return out
}

function searchable(dir: string): boolean {
  try {
    accessSync(dir, constants.R_OK | constants.X_OK)
    return true
  } catch {
    return false
  }
}

function resolved(doc: Document, node: Node | null): Node | null {
  return node && isAlias(node) ? (node.resolve(doc) as Node | undefined) ?? null : node
}

/** A leaf's value as plain JavaScript: scalars as they are, sequences of scalars as arrays; mappings as objects (refused by the check). */
function plain(doc: Document, node: Node | null): unknown {
  if (node === null) return null
  if (isScalar(node)) return node.value
  if (isSeq(node)) return node.items.map((item) => plain(doc, resolved(doc, item as Node)))
  return {}
}

function shownNode(doc: Document, node: Node): string {
  const v = plain(doc, node)
  if (Array.isArray(v)) return 'a list'
  if (v !== null && typeof v === 'object') return 'a mapping'
  return typeof v === 'string' ? JSON.stringify(v) : String(v)
}
