import {Flags} from '@oclif/core'
import {AlreadyInitializedError, initDataDir, SETTINGS} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {MezuError} from '../../lib/errors.js'
import {details} from '../../lib/output.js'
import {loadPlatformConfig} from '../../lib/platform-config.js'
import {configFileFlag, dataDirFlag, settingFlags} from '../../lib/platform-flags.js'
import {readStdin} from '../../lib/prompt.js'

export default class PlatformInit extends MezuCommand<typeof PlatformInit> {
  static override summary = 'Create a data directory: master key, encrypted stores, platform CA and the first owner.'
  static override examples = [
    '<%= config.bin %> platform init --admin-email you@example.com',
    '<%= config.bin %> platform init --admin-email you@example.com --store postgres://mezu@db.example.com/mezu --store-password-file /etc/mezu/db-password',
    'echo "$ADMIN_PASSWORD" | <%= config.bin %> platform init --admin-email ops@example.com --admin-password-stdin --json',
  ]

  static override flags = {
    ...dataDirFlag,
    ...configFileFlag,
    ...settingFlags(SETTINGS.filter((s) => s.key.startsWith('store.'))),
    'admin-email': Flags.string({description: 'email of the first owner account', required: true}),
    'admin-password-stdin': Flags.boolean({description: 'read the owner\'s password from stdin (else one is generated and printed once)'}),
  }

  async run() {
    // checked here too, so a config file that would stop the first start stops init already
    const {config} = loadPlatformConfig(this.flags)
    const {dataDir} = config
    const email = this.flags['admin-email']
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new MezuError('usage', `--admin-email "${email}" is not an email address`, 2)
    let password: string | undefined
    if (this.flags['admin-password-stdin']) {
      password = await readStdin()
      if (password.length < 8) throw new MezuError('bad_input', 'the password read from stdin must be at least 8 characters')
    }
    let result
    try {
      result = await initDataDir({dataDir, masterKey: config.masterKey, adminEmail: email, adminPassword: password, passwordStrength: config.passwordStrength, store: config.store})
    } catch (error) {
      if (error instanceof AlreadyInitializedError) throw new MezuError('already_initialized', error.message)
      throw new MezuError('platform', `cannot initialise ${dataDir}: ${(error as Error).message}`)
    }
    this.log(details([
      ['data directory', result.dataDir],
      ['master key', result.masterKeyFile ?? 'from MEZU_MASTER_KEY'],
      ['owner', result.adminEmail],
      ...(result.generatedPassword ? [['password (shown once)', result.generatedPassword] as [string, string]] : []),
      ['CA certificate', result.caPath],
      ['CA fingerprint', result.caFingerprint],
    ]))
    this.log('\nNext: mezu platform start')
    return result
  }
}
