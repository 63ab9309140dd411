import {localStatus, rotateMasterKey, SETTINGS} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {loadPlatformConfig} from '../../lib/platform-config.js'
import {configFileFlag, dataDirFlag, settingFlags} from '../../lib/platform-flags.js'

export default class PlatformRotateKey extends MezuCommand<typeof PlatformRotateKey> {
  static override summary = 'Rotate the master key and re-encrypt every stored field with it (run while the platform is stopped).'
  static override description = 'The new key is written beside the old one first; an interrupted rotation is finished by running the command again, and the store stays readable throughout. With MEZU_MASTER_KEY the new key is printed once: put it in MEZU_MASTER_KEY before the next start. With the stores on PostgreSQL (--store or MEZU_STORE_URL), stop every control plane first and give each the new key.'
  static override examples = ['<%= config.bin %> platform rotate-key', '<%= config.bin %> platform rotate-key --data-dir /srv/mezu --json']
  static override flags = {...dataDirFlag, ...configFileFlag, ...settingFlags(SETTINGS.filter((s) => s.key.startsWith('store.')))}

  async run() {
    // the store location comes from --store, MEZU_STORE_URL or the config file, as for start
    const {config} = loadPlatformConfig(this.flags)
    const {dataDir} = config
    const status = localStatus(dataDir)
    if (status.problem) throw new MezuError('platform', status.problem)
    if (!status.initialized) throw new MezuError('platform', `${dataDir} holds no platform`)
    if (status.running) throw new MezuError('platform', `the platform is running from ${dataDir} (pid ${status.pid}); stop it before rotating the master key`)
    let r
    try {
      r = await rotateMasterKey(dataDir, process.env.MEZU_MASTER_KEY || undefined, config.store)
    } catch (error) {
      throw new MezuError('platform', `key rotation failed: ${(error as Error).message}`)
    }
    this.log(`Master key rotated to version ${r.version}; ${r.resealed} field(s) re-encrypted.`)
    if (r.newKey) this.log(`New MEZU_MASTER_KEY (shown once): ${r.newKey}`)
    return {version: r.version, resealed: r.resealed, ...(r.newKey ? {newMasterKey: r.newKey} : {})}
  }
}
