import Table from 'cli-table3'

export interface Column<T> {
  header: string
  get: (row: T) => string | number | boolean | null | undefined
}

/**
 * How tables are printed. People at a terminal get aligned columns; a pipe, a file or --plain gets
 * tab-separated rows with no box drawing (gh's and kubectl's habit), so `cut -f2` and `awk -F'\t'`
 * work; --no-headers drops the header row in both.
 */
export interface TableStyle {
  plain: boolean
  headers: boolean
}

/** Plain when asked, or when stdout is not a terminal. */
export function tableStyle(flags: {plain?: boolean; 'no-headers'?: boolean}, isTTY = Boolean(process.stdout.isTTY)): TableStyle {
  return {plain: Boolean(flags.plain) || !isTTY, headers: !flags['no-headers']}
}

/** A table for people, or tab-separated rows; --json callers get the command's return value instead. */
export function table<T>(rows: readonly T[], columns: Column<T>[], style: TableStyle = {plain: false, headers: true}): string {
  if (style.plain) {
    const lines = rows.map((row) => columns.map((c) => cell(c.get(row))).join('\t'))
    if (style.headers) lines.unshift(columns.map((c) => c.header).join('\t'))
    return lines.join('\n')
  }
  if (rows.length === 0) return '(none)'
  const t = new Table({
    ...(style.headers ? {head: columns.map((c) => c.header)} : {}),
    style: {head: [], border: []},
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  for (const row of rows) t.push(columns.map((c) => format(c.get(row))))
  return t.toString()
}

/** key: value lines for one object (the same in a pipe: it is read by people, --json is for scripts). */
export function details(pairs: Array<[string, unknown]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${format(v as never)}`).join('\n')
}

function format(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined || v === '') return '-'
  return String(v)
}

/** A TSV cell: empty for nothing, and no tab or newline inside, so every row stays one line. */
function cell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return ''
  return String(v).replace(/[\t\r\n]+/g, ' ')
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

type SettingRow = {key: string; value: unknown; source: string; origin: string | null; secret: boolean; isSet: boolean}

/** `mezu platform config`: setting, value (secrets redacted), and where the value came from. */
export const settingsColumns: Column<SettingRow>[] = [
  {header: 'setting', get: (r) => r.key},
  {header: 'value', get: (r) => (r.secret ? (r.isSet ? '(redacted)' : null) : Array.isArray(r.value) ? r.value.join(', ') : (r.value as string | number | boolean | null))},
  {header: 'source', get: (r) => (r.origin ? `${r.source} (${r.origin})` : r.source)},
]
