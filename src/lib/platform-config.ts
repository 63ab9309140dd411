import {ConfigError, resolvePlatformConfig, type ResolvedConfig} from '../../platform/config.js'
import {MezuError} from './errors.js'

/**
 * The platform settings for a platform command: its flags (setting flags, --data-dir, --config)
 * over MEZU_PLATFORM_* variables over the config file. A bad setting is a `bad_config` error, a
 * setting without one it needs (a wildcard host without an advertised tunnel address, a
 * certificate file without its key) a `usage` error; both exit with 2.
 */
export function loadPlatformConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  try {
    return resolvePlatformConfig({flags, configFile: flags.config as string | undefined, env})
  } catch (error) {
    if (error instanceof ConfigError) throw new MezuError(error.code, error.message, 2)
    throw error
  }
}
