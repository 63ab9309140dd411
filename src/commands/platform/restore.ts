import {Args, Flags} from '@oclif/core'
import {BackupFileError, MasterKeyMismatchError, restoreBackup} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {details} from '../../lib/output.js'

export default class PlatformRestore extends MezuCommand<typeof PlatformRestore> {
  static override summary = 'Restore a backup into an empty or new data directory, after checking every part and the master key.'
  static override description = 'The backup does not hold the master key: give the one it was made with by --master-key-file (copied into the new directory as master.key) or MEZU_MASTER_KEY (then start the platform with it too). A different key, a truncated or an altered file is refused and nothing is written.'
  static override examples = [
    '<%= config.bin %> platform restore mezu-2026-01-31.mezubak --data-dir /var/lib/mezu --master-key-file /root/mezu-master.key',
    'MEZU_MASTER_KEY=... <%= config.bin %> platform restore latest.mezubak --data-dir ./restored --json',
  ]

  static override args = {
    file: Args.string({description: 'backup file written by mezu platform backup', required: true}),
  }

  static override flags = {
    'data-dir': Flags.string({description: 'directory to restore into: absent or empty', required: true}),
    'master-key-file': Flags.string({description: 'file holding the master key the backup was made with (else MEZU_MASTER_KEY)'}),
  }

  async run() {
    let r
    try {
      r = await restoreBackup({file: this.args.file, dataDir: this.flags['data-dir'], key: {file: this.flags['master-key-file'], env: process.env.MEZU_MASTER_KEY || undefined}})
    } catch (error) {
      const message = (error as Error).message
      if (error instanceof BackupFileError) throw new MezuError('backup_invalid', message)
      if (error instanceof MasterKeyMismatchError) throw new MezuError('master_key_mismatch', message)
      throw new MezuError('platform', `cannot restore into ${this.flags['data-dir']}: ${message}`)
    }
    this.log(details([
      ['data directory', r.dataDir],
      ['backup taken at', `${r.backupCreatedAt} (mezu ${r.appVersion})`],
      ['master key', r.masterKeyFile ?? `from MEZU_MASTER_KEY (${r.masterKeyId}): start the platform with it`],
    ]))
    this.log('\nNext: mezu platform start --data-dir ' + r.dataDir)
    return r
  }
}
