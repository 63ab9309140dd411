import {closeSync, openSync, writeSync, fchmodSync} from 'node:fs'
import {stringify} from 'csv-stringify/sync'
import type {ApiClient} from './api-client.js'
import type {Page, UserExport, UsersExportDocument} from './api-types/index.js'
import {MezuError} from './errors.js'

export type ExportFormat = 'json' | 'csv'

/** One row per user for spreadsheets: lists are joined with ";" and counted where they are long. */
export const CSV_HEADER = ['id', 'email', 'name', 'role', 'status', 'directories', 'projects', 'service_accounts', 'active_sessions', 'last_login_at', 'logins', 'created_at', 'updated_at']

function csvRow(u: UserExport): string[] {
  return [
    u.id, u.email, u.name, u.role, u.status, u.directories.join(';'), u.projects.map((p) => p.name ?? p.id).join(';'),
    u.serviceAccounts.map((s) => s.name).join(';'), String(u.sessions.length), u.loginHistory[0]?.at ?? '',
    String(u.loginHistory.length), u.createdAt, u.updatedAt,
  ]
}

/** Where export text goes: a file created 0600 before anything is written, or stdout. */
interface Sink {
  write(s: string): void
  close(): void
}

function fileSink(path: string): Sink {
  let fd: number
  try {
    fd = openSync(path, 'w', 0o600)
    fchmodSync(fd, 0o600)
  } catch (error) {
    throw new MezuError('bad_input', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  return {write: (s) => void writeSync(fd, s), close: () => closeSync(fd)}
}

const stdoutSink: Sink = {write: (s) => void process.stdout.write(s), close() {}}

/**
 * Pages through /v1/users/export and writes each page as it arrives, so a large export never sits
 * in memory whole (unless `collect` asks for the document, as --json without --output does).
 */
export async function exportUsers(
  api: ApiClient,
  opts: {format: ExportFormat; output?: string; user?: string; credentials?: boolean; collect?: boolean; progress?: (n: number) => void},
): Promise<{count: number; document?: UsersExportDocument}> {
  const sink = opts.collect && !opts.output ? undefined : opts.output ? fileSink(opts.output) : stdoutSink
  const exportedAt = new Date().toISOString()
  const collected: UserExport[] = []
  let count = 0
  try {
    if (opts.format === 'json') sink?.write(`{"format":"mezu-users","version":1,"exportedAt":${JSON.stringify(exportedAt)},"users":[\n`)
    else sink?.write(stringify([CSV_HEADER]))
    let cursor: string | undefined
    do {
      const page = await api.get<Page<UserExport>>('users/export', {limit: 100, cursor, user: opts.user, credentials: opts.format === 'json' && opts.credentials !== false ? true : undefined})
      for (const u of page.items) {
        if (opts.collect) collected.push(u)
        if (opts.format === 'json') sink?.write((count > 0 ? ',\n' : '') + JSON.stringify(u))
        else sink?.write(stringify([csvRow(u)]))
        count++
      }
      opts.progress?.(count)
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    if (opts.format === 'json') sink?.write('\n]}\n')
  } finally {
    sink?.close()
  }
  return {count, document: opts.collect ? {format: 'mezu-users', version: 1, exportedAt, users: collected} : undefined}
}
