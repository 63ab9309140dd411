import {Flags, type Interfaces} from '@oclif/core'
import type {Setting} from '../../platform/settings.js'

/** Flags shared by the platform commands. MEZU_DATA_DIR is read where the default is worked out (defaultDataDir). */
export const dataDirFlag = {
  'data-dir': Flags.string({description: 'data directory (default: $MEZU_DATA_DIR, else $XDG_DATA_HOME/mezu, else ~/.local/share/mezu)'}),
}

/** --config: the platform's YAML config file. */
export const configFileFlag = {
  config: Flags.string({description: 'YAML config file (default: <data-dir>/platform.yaml, read when it exists)', helpValue: 'FILE'}),
}

const HELP_VALUES: Partial<Record<Setting['type'], string>> = {integer: 'N', number: 'N', path: 'FILE', url: 'URL', list: 'URL'}

/**
 * One flag per setting that names one, from the settings schema. None has an oclif default or
 * parser: a flag the user did not pass stays undefined, so it cannot mask the config file or a
 * variable, and values are checked by the schema with the same sentences as the file's.
 */
export function settingFlags(settings: readonly Setting[]): Interfaces.FlagInput {
  const flags: Interfaces.FlagInput = {}
  for (const s of settings) {
    if (!s.flag || s.flag === 'data-dir') continue
    const description = `${s.description.replace(/\.$/, '')}; setting ${s.key}${s.default === undefined ? '' : `, default ${String(s.default)}`}`
    const helpValue = HELP_VALUES[s.type]
    if (s.type === 'boolean') flags[s.flag] = Flags.boolean({description, allowNo: true})
    else if (s.type === 'list') flags[s.flag] = Flags.string({description: `${description}; repeatable`, multiple: true, helpValue})
    else flags[s.flag] = Flags.string({description, helpValue, ...(s.type === 'enum' ? {options: [...s.values!]} : {})})
  }
  return flags
}
