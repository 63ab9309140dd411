import {Flags} from '@oclif/core'
import type {UsersExportDocument} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {exportUsers} from '../../lib/users-export.js'
import {checkChoice} from '../../lib/users-flags.js'

export default class UsersExport extends MezuCommand<typeof UsersExport> {
  static override summary = 'Export everything the platform holds about users: JSON (complete, re-importable) or CSV (one row per user).'
  static override description = 'Profile, status, role, directories, projects, service accounts they created, active sessions, invitations (metadata only) and login history. JSON carries password hashes unless --without-credentials, and re-imports on another platform; CSV is one row per user. Files are written 0600.'
  static override examples = [
    '<%= config.bin %> users export --output users.json',
    '<%= config.bin %> users export --format csv --output users.csv',
    '<%= config.bin %> users export --user ada@example.com --json',
  ]

  static override flags = {
    format: Flags.string({description: 'json or csv', default: 'json'}),
    output: Flags.string({char: 'o', description: 'write to this file (created 0600) instead of stdout'}),
    user: Flags.string({description: 'only this user (email or id)'}),
    'without-credentials': Flags.boolean({description: 'leave password hashes out of a JSON export (imported users then get invitations)'}),
  }

  async run(): Promise<UsersExportDocument | {format: string; output: string; count: number}> {
    const f = this.flags
    const format = checkChoice('format', f.format, ['json', 'csv'] as const)!
    const json = this.jsonEnabled()
    if (json && !f.output && format === 'csv') throw new MezuError('usage', '--format csv with --json needs --output FILE (stdout carries the JSON result)')
    const tty = Boolean(process.stderr.isTTY) && !json
    const progress = tty ? (n: number) => process.stderr.write(`\rExported ${n} user(s)…`) : undefined
    const res = await exportUsers(this.api(), {format, output: f.output, user: f.user, credentials: !f['without-credentials'], collect: json && !f.output, progress})
    if (tty) process.stderr.write('\n')
    if (res.document) return res.document
    if (f.output) this.log(`Wrote ${res.count} user(s) to ${f.output}.`)
    return {format: f.format, output: f.output ?? '-', count: res.count}
  }
}
