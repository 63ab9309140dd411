import {Flags} from '@oclif/core'

/** Flags shared by the platform commands. */
export const dataDirFlag = {
  'data-dir': Flags.string({description: 'data directory (default: $MEZU_DATA_DIR, else $XDG_DATA_HOME/mezu, else ~/.local/share/mezu)', env: 'MEZU_DATA_DIR'}),
}
