import {ConfigError, resolvePlatformConfig, type ResolvedConfig} from '../../platform/config.js'
import {MezuError} from './errors.js'

/**
 * The platform settings for a platform command: its flags (setting flags, --data-dir, --config)
 * over MEZU_PLATFORM_* variables over the config file. A bad setting is a `bad_config` usage error.
 */
export function loadPlatformConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  try {
    return resolvePlatformConfig({flags, configFile: flags.config as string | undefined, env})
  } catch (error) {
    if (error instanceof ConfigError) throw new MezuError('bad_config', error.message, 2)
    throw error
  }
}
