import {Flags} from '@oclif/core'
import {createBackup, defaultDataDir} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {details} from '../../lib/output.js'
import {dataDirFlag} from '../../lib/platform-flags.js'

export default class PlatformBackup extends MezuCommand<typeof PlatformBackup> {
  static override summary = 'Write a consistent backup of both stores and the CA certificate to one file (0600), while the platform runs or not.'
  static override description = 'The stores stay encrypted as they are on disk. The master key is not in the backup: keep it apart (the data directory\'s master.key, or MEZU_MASTER_KEY); `mezu platform restore` needs it and checks it against the key id the backup records.'
  static override examples = [
    '<%= config.bin %> platform backup --output mezu-$(date +%F).mezubak',
    'sudo -u mezu <%= config.bin %> platform backup --data-dir /var/lib/mezu --output /var/backups/mezu/latest.mezubak --json',
  ]

  static override flags = {
    ...dataDirFlag,
    output: Flags.string({char: 'o', description: 'backup file to write (replaced atomically if it exists)', required: true}),
  }

  async run() {
    const dataDir = this.flags['data-dir'] ?? defaultDataDir(process.env)
    let r
    try {
      r = await createBackup({dataDir, output: this.flags.output, masterKey: process.env.MEZU_MASTER_KEY || undefined})
    } catch (error) {
      throw new MezuError('platform', `cannot back up ${dataDir}: ${(error as Error).message}`)
    }
    this.log(details([
      ['backup', `${r.output} (${r.bytes} bytes)`],
      ['parts', r.parts.map((p) => p.name).join(', ')],
      ['master key id', r.masterKeyId],
      ['taken at', r.createdAt],
    ]))
    return r
  }
}
