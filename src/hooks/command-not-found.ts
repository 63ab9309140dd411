import type {Hook} from '@oclif/core'
import {canPrompt} from '../lib/prompt.js'
import {closest} from '../lib/suggest.js'

/**
 * An unknown command is a usage error: exit 2 (like every other usage error; not 127, which a
 * shell uses for a missing program), with the closest command suggested. A person at a terminal
 * is asked whether to run it instead; CI, --json and pipes only get the suggestion. Our own hook
 * rather than @oclif/plugin-not-found: the plugin exits 127, prompts whenever stdin is a TTY
 * (also under CI and --json), always suggests something however far, and prints no JSON.
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  const json = opts.argv?.includes('--json') ?? false
  const visible = opts.config.commands.filter((c) => !c.hidden)
  const ids = [...new Set([...visible.map((c) => c.id), ...visible.flatMap((c) => c.aliases), ...opts.config.topics.filter((t) => !t.hidden).map((t) => t.name)])]
  const typed = opts.id.replaceAll(':', ' ')
  const guess = suggest(opts.id, ids, (id) => opts.config.findTopic(id) !== undefined || ids.includes(id))
  const shown = guess?.replaceAll(':', ' ')
  if (guess && canPrompt(json)) {
    const {confirm} = await import('@inquirer/prompts')
    const yes = await confirm({message: `"${typed}" is not a mezu command. Did you mean "mezu ${shown}"?`, default: true}).catch(() => false)
    if (yes) return opts.config.runCommand(guess, rest(opts.id, guess, opts.argv ?? []))
  }
  const message = `"${typed}" is not a mezu command${shown ? `; did you mean "mezu ${shown}"?` : `; see 'mezu --help'`}`
  process.stderr.write(json ? JSON.stringify({error: {code: 'usage', message, ...(guess ? {suggestion: shown} : {})}}) + '\n' : `Error: ${message}\n`)
  this.exit(2)
}

/** The closest command id, comparing the whole id and, inside a known topic, the last word. */
function suggest(id: string, ids: string[], known: (prefix: string) => boolean): string | undefined {
  const whole = closest(id, ids)
  if (whole) return whole
  const words = id.split(':')
  // `mezu rotues list`: oclif hands over "rotues:list" or just "rotues"; fix the first word that is wrong.
  for (let i = 0; i < words.length; i++) {
    const prefix = words.slice(0, i).join(':')
    if (i > 0 && !known(prefix)) break
    const here = ids.filter((c) => c.split(':').length > i && c.split(':').slice(0, i).join(':') === prefix).map((c) => c.split(':')[i])
    const fixed = closest(words[i], new Set(here))
    if (fixed && fixed !== words[i]) {
      // The longest command the fixed words start with: `projets get shop` → `projects get` (shop is its argument).
      const fixedWords = [...words.slice(0, i), fixed, ...words.slice(i + 1)]
      for (let j = fixedWords.length; j > i; j--) {
        const candidate = fixedWords.slice(0, j).join(':')
        if (ids.includes(candidate)) return candidate
      }
    }
  }
  return undefined
}

/** Arguments that followed the mistyped words, for running the suggestion. */
function rest(id: string, guess: string, argv: string[]): string[] {
  const extra = id.split(':').slice(guess.split(':').length)
  return [...extra, ...argv]
}

export default hook
