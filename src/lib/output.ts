import Table from 'cli-table3'

export interface Column<T> {
  header: string
  get: (row: T) => string | number | boolean | null | undefined
}

/** A plain table for people; --json callers get the command's return value instead. */
export function table<T>(rows: readonly T[], columns: Column<T>[]): string {
  if (rows.length === 0) return '(none)'
  const t = new Table({head: columns.map((c) => c.header), style: {head: [], border: []}, chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}})
  for (const row of rows) t.push(columns.map((c) => format(c.get(row))))
  return t.toString()
}

/** key: value lines for one object. */
export function details(pairs: Array<[string, unknown]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${format(v as never)}`).join('\n')
}

function format(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined || v === '') return '-'
  return String(v)
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-'
  const s = Math.round((now - Date.parse(iso)) / 1000)
  if (s < 0) return `in ${human(-s)}`
  return `${human(s)} ago`
}

function human(s: number): string {
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.round(s / 60)}m`
  if (s < 86400) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86400)}d`
}

/** `mezu platform config`: setting, value (secrets redacted), and where the value came from. */
export function settingsTable(rows: ReadonlyArray<{key: string; value: unknown; source: string; origin: string | null; secret: boolean; isSet: boolean}>): string {
  return table(rows, [
    {header: 'setting', get: (r) => r.key},
    {header: 'value', get: (r) => (r.secret ? (r.isSet ? '(redacted)' : null) : Array.isArray(r.value) ? r.value.join(', ') : (r.value as string | number | boolean | null))},
    {header: 'source', get: (r) => (r.origin ? `${r.source} (${r.origin})` : r.source)},
  ])
}
