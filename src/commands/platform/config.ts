import {SETTINGS} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {loadPlatformConfig} from '../../lib/platform-config.js'
import {settingsColumns} from '../../lib/output.js'
import {configFileFlag, dataDirFlag, settingFlags} from '../../lib/platform-flags.js'

export default class PlatformConfig extends MezuCommand<typeof PlatformConfig> {
  static override summary = 'Show the settings `mezu platform start` would use, each with where it came from (default, file, env or flag); secrets redacted.'
  static override description = 'Takes the same flags as `mezu platform start`, so a flag shows its effect here first. Precedence: flags > MEZU_PLATFORM_* variables > config file > defaults.'
  static override examples = [
    '<%= config.bin %> platform config',
    '<%= config.bin %> platform config --config /etc/mezu/platform.yaml --json',
    'MEZU_PLATFORM_EDGE_REQUEST_TIMEOUT_MS=30000 <%= config.bin %> platform config --edge-port 443',
  ]

  static override flags = {...dataDirFlag, ...configFileFlag, ...settingFlags(SETTINGS)}

  async run() {
    const {configFile, settings} = loadPlatformConfig(this.flags)
    this.log(`config file: ${configFile.path}${configFile.found ? '' : ' (none there; defaults apply)'}\n`)
    this.table(settings, settingsColumns)
    return {configFile, settings: settings.map(({key, value, source, origin, secret, isSet}) => ({key, value: secret && isSet ? '(redacted)' : value, source, origin, secret}))}
  }
}
