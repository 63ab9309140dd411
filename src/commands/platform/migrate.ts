import {Flags} from '@oclif/core'
import {defaultDataDir, localStatus, migrateSqliteToPostgres, TransferTargetNotEmptyError} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {details} from '../../lib/output.js'

export default class PlatformMigrate extends MezuCommand<typeof PlatformMigrate> {
  static override summary = 'Copy a stopped SQLite platform into an empty PostgreSQL database.'
  static override description = 'Rows are copied as stored: still sealed with the master key, which stays in the data directory (or MEZU_MASTER_KEY) and never enters the database. The copy is one transaction, counted on both sides afterwards; a database that already holds data is refused. Then start the platform with --store pointing at the database.'
  static override examples = [
    '<%= config.bin %> platform migrate --from ~/.local/share/mezu --to postgres://mezu@db.example.com/mezu --store-password-file /etc/mezu/db-password',
  ]

  static override flags = {
    from: Flags.string({description: 'data directory of the SQLite platform (default: $MEZU_DATA_DIR, else $XDG_DATA_HOME/mezu, else ~/.local/share/mezu)', helpValue: 'DATA_DIR'}),
    to: Flags.string({description: 'PostgreSQL URL of an empty database (or MEZU_STORE_URL)', helpValue: 'URL', env: 'MEZU_STORE_URL'}),
    'store-password-file': Flags.string({description: 'file holding the PostgreSQL password (or MEZU_STORE_PASSWORD_FILE)', helpValue: 'FILE', env: 'MEZU_STORE_PASSWORD_FILE'}),
  }

  async run() {
    const from = this.flags.from ?? defaultDataDir(process.env)
    const to = this.flags.to
    if (!to) throw new MezuError('usage', '--to is required: the postgres:// URL of an empty database (or set MEZU_STORE_URL)', 2)
    if (!/^postgres(ql)?:\/\//.test(to)) throw new MezuError('usage', '--to must be a URL like postgres://mezu@db.example.com:5432/mezu', 2)
    const status = localStatus(from)
    if (!status.initialized) throw new MezuError('platform', `${from} holds no SQLite platform (identity.db and config.db)`)
    if (status.running) throw new MezuError('platform', `the platform on ${from} is running (pid ${status.pid}); stop it first, so no write lands after the copy`)
    let r
    try {
      r = await migrateSqliteToPostgres(from, {url: to, passwordFile: this.flags['store-password-file']}, process.env.MEZU_MASTER_KEY || undefined)
    } catch (error) {
      if (error instanceof TransferTargetNotEmptyError) throw new MezuError('target_not_empty', error.message)
      throw new MezuError('platform', `cannot migrate ${from}: ${(error as Error).message}`)
    }
    this.log(details([
      ['from', r.from],
      ['to', r.to],
      ['rows', Object.entries(r.tables).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ')],
      ['config version', String(r.configVersion)],
    ]))
    this.log(`\nNext: mezu platform start --data-dir ${from} --store '${r.to}'`)
    return r
  }
}
