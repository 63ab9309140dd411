import {confirm} from '@inquirer/prompts'
import {MezuError} from './errors.js'

/**
 * A destructive action goes ahead with --yes, or when a person at a terminal says yes; without a
 * terminal (scripts, CI, --json) it is refused rather than assumed.
 */
export async function confirmOrRefuse(opts: {yes: boolean; canPrompt: boolean; question: string}): Promise<void> {
  if (opts.yes) return
  if (!opts.canPrompt) throw new MezuError('not_confirmed', 'refusing without confirmation: pass --yes to confirm (no terminal to ask on)')
  if (!(await confirm({message: opts.question, default: false}))) throw new MezuError('not_confirmed', 'not confirmed; nothing was changed')
}
