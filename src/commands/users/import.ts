import {Args, Flags} from '@oclif/core'
import type {ImportUsersResponse} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {readUsersFile} from '../../lib/users-file.js'

export default class UsersImport extends MezuCommand<typeof UsersImport> {
  static override summary = 'Import users from CSV (email,name,role,directories) or JSON (an array or a `users export` file); all or nothing.'
  static override description = 'CSV has the columns email,name,role,directories (directories separated by ;); JSON is an array or a `mezu users export` file. Every bad row is reported by line, and nothing is imported unless all are good; under --json the error carries `problems`, a list of {line, field, message}.'
  static override examples = [
    '<%= config.bin %> users import people.csv',
    '<%= config.bin %> users import users-export.json --skip-existing --json',
  ]

  static override args = {file: Args.string({description: 'CSV or JSON file', required: true})}
  static override flags = {'skip-existing': Flags.boolean({description: 'skip users whose email already exists instead of refusing the file'})}

  async run(): Promise<ImportUsersResponse> {
    const users = readUsersFile(this.args.file)
    const res = await this.api().post<ImportUsersResponse>('users/import', {users, skipExisting: this.flags['skip-existing'] || undefined})
    this.log(`Imported ${res.created.length} user(s)${res.skipped.length ? `, skipped ${res.skipped.length} existing` : ''}. Invitation codes (shown once):`)
    this.table(res.created.filter((c) => c.invite), [
      {header: 'EMAIL', get: (c) => c.user.email},
      {header: 'CODE', get: (c) => c.invite!.code},
      {header: 'EXPIRES', get: (c) => c.invite!.expiresAt},
    ])
    return res
  }
}
