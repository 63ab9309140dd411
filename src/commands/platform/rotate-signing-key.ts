import {localStatus, rotateSigningKeyOffline, SETTINGS} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {loadPlatformConfig} from '../../lib/platform-config.js'
import {configFileFlag, dataDirFlag, settingFlags} from '../../lib/platform-flags.js'

export default class PlatformRotateSigningKey extends MezuCommand<typeof PlatformRotateSigningKey> {
  static override summary = 'Start signing identity assertions with a new key (run while the platform is stopped).'
  static override description = 'The old key stays published at https://auth.<domain>/.well-known/jwks.json until every assertion it signed has expired, so origins verifying Mezu-Jwt-Assertion see no failures.'
  static override examples = ['<%= config.bin %> platform rotate-signing-key', '<%= config.bin %> platform rotate-signing-key --data-dir /srv/mezu --json']
  static override flags = {...dataDirFlag, ...configFileFlag, ...settingFlags(SETTINGS.filter((s) => s.key.startsWith('store.')))}

  async run() {
    // edge.assertionTtlMs decides how long the old key stays published
    const {config} = loadPlatformConfig(this.flags)
    const {dataDir} = config
    const status = localStatus(dataDir)
    if (!status.initialized) throw new MezuError('platform', `${dataDir} holds no platform`)
    if (status.running) throw new MezuError('platform', `the platform is running from ${dataDir} (pid ${status.pid}); stop it before rotating the signing key`)
    const r = await rotateSigningKeyOffline(dataDir, config.masterKey, config.edge.assertionTtlMs, config.store)
    this.log(`Assertions are now signed with key ${r.kid}.${r.publishedUntil ? ` The previous key stays published until ${r.publishedUntil}.` : ''}`)
    return r
  }
}
