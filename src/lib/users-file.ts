import {readFileSync} from 'node:fs'
import {parse} from 'csv-parse/sync'
import type {ImportUserRow} from './api-types/index.js'
import {MezuError} from './errors.js'

const CSV_COLUMNS = ['email', 'name', 'role', 'directories'] as const
const ROW_FIELDS = ['email', 'name', 'role', 'status', 'directories', 'passwordHash'] as const

/**
 * Reads a `mezu users import` file: CSV with a header (email,name,role,directories; directories
 * separated by ";"), a JSON array of users, or a `mezu users export` JSON document. Every row
 * keeps the line it starts on, so the platform's verdict can name it.
 */
export function readUsersFile(path: string): ImportUserRow[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new MezuError('bad_input', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const rows = /^\s*[[{]/.test(text) ? fromJson(path, text) : fromCsv(path, text)
  if (rows.length === 0) throw new MezuError('bad_input', `${path} holds no users`)
  return rows
}

function fromCsv(path: string, text: string): ImportUserRow[] {
  let records: Array<{record: Record<string, string>; raw: string; info: {lines: number}}>
  try {
    records = parse(text, {columns: (h: string[]) => h.map((c) => c.trim()), info: true, raw: true, skip_empty_lines: true, trim: true, bom: true}) as never
  } catch (error) {
    throw new MezuError('bad_input', `${path} is not valid CSV: ${(error as Error).message}`)
  }
  const header = Object.keys(records[0]?.record ?? {})
  const unknown = header.filter((h) => !(CSV_COLUMNS as readonly string[]).includes(h))
  if (unknown.length > 0) throw new MezuError('bad_input', `${path} line 1: unknown column(s) ${unknown.join(', ')}; the columns are ${CSV_COLUMNS.join(',')}`)
  if (records.length > 0 && !header.includes('email')) throw new MezuError('bad_input', `${path} line 1: the header needs an email column`)
  return records.map(({record, raw, info}) => {
    // info.lines is where the record ends; a quoted field may span lines, so count back to its start.
    const body = raw.replace(/^[\r\n]+/, '').replace(/\r?\n$/, '')
    const row: ImportUserRow = {line: info.lines - (body.match(/\n/g)?.length ?? 0), email: record.email}
    if (record.name) row.name = record.name
    if (record.role) row.role = record.role as ImportUserRow['role']
    if (record.directories) row.directories = record.directories.split(';').map((d) => d.trim()).filter(Boolean)
    return row
  })
}

function fromJson(path: string, text: string): ImportUserRow[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (error) {
    throw new MezuError('bad_input', `${path} is not valid JSON: ${(error as Error).message}`)
  }
  const list = Array.isArray(doc) ? doc : (doc as {users?: unknown})?.users
  if (!Array.isArray(list)) throw new MezuError('bad_input', `${path}: expected a JSON array of users or a \`mezu users export\` document`)
  const lines = elementLines(text, Array.isArray(doc) ? 1 : 2)
  return list.map((item, i) => {
    const line = lines[i] ?? i + 1
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return {line, email: item as string}
    // An export carries more than an import takes (sessions, history…); keep only what import reads.
    const row: Record<string, unknown> = {line}
    for (const k of ROW_FIELDS) if ((item as Record<string, unknown>)[k] !== undefined) row[k] = (item as Record<string, unknown>)[k]
    return row as unknown as ImportUserRow
  })
}

/** Line numbers where the elements of the users array start (depth 1: a bare array; 2: in a document). */
function elementLines(text: string, depth: number): number[] {
  const out: number[] = []
  let line = 1
  let level = 0
  let inString = false
  let expecting = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '\n') line++
    if (inString) {
      if (ch === '\\') i++
      else if (ch === '"') inString = false
      continue
    }
    if (expecting && !/[\s,\]]/.test(ch)) {
      out.push(line)
      expecting = false
    }
    if (ch === '"') inString = true
    else if (ch === '[' || ch === '{') {
      level++
      if (ch === '[' && level === depth) expecting = true
    } else if (ch === ']' || ch === '}') level--
    else if (ch === ',' && level === depth) expecting = true
  }
  return out
}
