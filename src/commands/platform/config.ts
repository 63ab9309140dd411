import {ConfigError, resolvePlatformConfig, SETTINGS} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {settingsTable} from '../../lib/output.js'
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
    let resolved
    try {
      resolved = resolvePlatformConfig({flags: this.flags, configFile: this.flags.config, env: process.env})
    } catch (error) {
      if (error instanceof ConfigError) throw new MezuError('bad_config', error.message, 2)
      throw error
    }
    const {configFile, settings} = resolved
    this.log(`config file: ${configFile.path}${configFile.found ? '' : ' (none there; defaults apply)'}\n`)
    this.log(settingsTable(settings))
    return {configFile, settings: settings.map(({key, value, source, origin, secret, isSet}) => ({key, value: secret && isSet ? '(redacted)' : value, source, origin, secret}))}
  }
}
