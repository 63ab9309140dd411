import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {ApiClient} from './api-client.js'
import {normaliseApiUrl} from './api-url.js'
import {readCaFile} from './ca-pin.js'
import {contextFor, selectedContext} from './credentials.js'
import {MezuError, toErrorBody} from './errors.js'
import {type Column, table, tableStyle} from './output.js'
import {canPrompt} from './prompt.js'
import {DEFAULT_REGISTRY, startUpdateCheck, type UpdateCheck, updateCheckAllowed, updateStatePath} from './update-notice.js'
import {type CommandShape, usageError} from './usage.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof MezuCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every mezu command extends this: `--json` (oclif's enableJsonFlag), the connection flags with
 * their env defaults, parsing in init(), an API client, prompts only for people, and errors on
 * stderr (as a JSON object under --json) with exit code 2 for usage and 1 otherwise.
 */
export abstract class MezuCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    'api-url': Flags.string({description: 'control-plane address (default: the one you logged in to)', env: 'MEZU_API_URL', helpGroup: 'GLOBAL'}),
    'ca-file': Flags.string({description: 'PEM file of the platform CA to trust', env: 'MEZU_CA_FILE', helpGroup: 'GLOBAL'}),
    plain: Flags.boolean({description: 'tables as tab-separated rows without borders (the default when stdout is not a terminal)', helpGroup: 'OUTPUT'}),
    'no-headers': Flags.boolean({description: 'leave out the header row of tables', helpGroup: 'OUTPUT'}),
  }

  /**
   * Servers running in the foreground (`platform start`) return false: no update check there. A
   * getter, so that oclif leaves it out of the manifest.
   */
  static get updateNotice(): boolean {
    return true
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  private updateCheck?: UpdateCheck

  public override async init(): Promise<void> {
    await super.init()
    let parsed
    try {
      parsed = await this.parse({
        flags: this.ctor.flags,
        baseFlags: (super.ctor as typeof MezuCommand).baseFlags,
        enableJsonFlag: this.ctor.enableJsonFlag,
        args: this.ctor.args,
        strict: this.ctor.strict,
      })
    } catch (error) {
      // Whatever the parser refuses is a usage error, also the plain CLIErrors its lexer throws
      // without parse details (`--invite` at the end, given no value).
      if (error instanceof MezuError && !/^Parsing --/.test(error.message)) throw error
      throw usageError(error, this.shape())
    }
    const {args, flags} = parsed
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    this.startUpdateCheck()
  }

  /** Asks the registry for the latest release while the command runs (at most daily; people at a terminal only). */
  private startUpdateCheck(): void {
    if (!(this.ctor as typeof MezuCommand).updateNotice || !updateCheckAllowed({json: this.jsonEnabled()})) return
    this.updateCheck = startUpdateCheck({
      packageName: this.config.pjson.name, currentVersion: this.config.version, bin: this.config.bin,
      statePath: updateStatePath(), registry: process.env.MEZU_UPDATE_REGISTRY || DEFAULT_REGISTRY,
    })
  }

  /** After the command, whether it succeeded or not: the update notice, if there is one, on stderr. */
  protected override async finally(err: Error | undefined): Promise<unknown> {
    const result = await super.finally(err)
    const notice = await this.updateCheck?.notice()
    if (notice) process.stderr.write(notice)
    return result
  }

  /** The command as the parser saw it, for usage errors that name flags and arguments. */
  private shape(): CommandShape {
    const flags = {...(this.ctor as typeof MezuCommand).baseFlags, ...this.ctor.flags, json: {name: 'json'}} as CommandShape['flags']
    for (const [k, f] of Object.entries(flags)) flags[k] = {...f, name: k}
    const args = Object.fromEntries(Object.entries(this.ctor.args ?? {}).map(([k, a]) => [k, {name: k, description: a.description}]))
    const global = ['json', ...Object.keys((this.ctor as typeof MezuCommand).baseFlags)]
    return {display: `${this.config.bin} ${(this.id ?? '').replaceAll(':', ' ')}`.trim(), flags, args, global}
  }

  /** Prints a table for people, or tab-separated rows in a pipe / with --plain (silenced by --json). */
  protected table<R>(rows: readonly R[], columns: Column<R>[]): void {
    const out = table(rows, columns, tableStyle(this.flags ?? {}))
    if (out) this.log(out)
  }

  /** The platform address: --api-url / MEZU_API_URL, else the context's (MEZU_CONTEXT, else the current one). */
  protected apiUrl(): string {
    const url = this.flags['api-url'] ?? selectedContext()?.apiUrl
    if (!url) throw new MezuError('no_api_url', 'no platform address: pass --api-url or set MEZU_API_URL (or run mezu login)')
    return normaliseApiUrl(url)
  }

  /** The CA to pin: --ca-file / MEZU_CA_FILE, else the one pinned at login for this address. */
  protected caPem(apiUrl: string): string {
    if (this.flags['ca-file']) return readCaFile(this.flags['ca-file'])
    const pinned = contextFor(apiUrl)?.caPem
    if (pinned) return pinned
    throw new MezuError('ca_untrusted', `no CA pinned for ${apiUrl}: run \`mezu login --api-url ${apiUrl}\` or pass --ca-file (MEZU_CA_FILE)`)
  }

  /** An authenticated client: MEZU_TOKEN wins over the stored session. */
  protected api(opts: {anonymous?: boolean; token?: string; apiUrl?: string} = {}): ApiClient {
    const apiUrl = opts.apiUrl ?? this.apiUrl()
    const caPem = this.caPem(apiUrl)
    if (opts.anonymous) return new ApiClient({apiUrl, caPem})
    const token = opts.token || process.env.MEZU_TOKEN || contextFor(apiUrl)?.token
    if (!token) throw new MezuError('not_logged_in', `not logged in to ${apiUrl}: run \`mezu login\` or set MEZU_TOKEN`)
    return new ApiClient({apiUrl, caPem, token})
  }

  /**
   * Address, CA, token and project as this invocation would use them, and where each came from,
   * without throwing: `mezu doctor` reports a missing piece as a failed check.
   */
  protected connectionInfo(): {apiUrl?: string; apiUrlSource?: string; configProblem?: string; caPem?: string; caSource?: string; token?: string; tokenSource?: string; project?: string} {
    let context: ReturnType<typeof selectedContext>
    let apiUrl: string
    try {
      context = selectedContext()
      apiUrl = this.apiUrl()
    } catch (error) {
      return {configProblem: (error as Error).message}
    }
    const fromFlag = this.flags['api-url']
    const apiUrlSource = fromFlag ? (process.env.MEZU_API_URL === fromFlag ? 'MEZU_API_URL' : '--api-url') : `context ${context?.name}`
    const stored = contextFor(apiUrl)
    const info: ReturnType<MezuCommand<T>['connectionInfo']> = {apiUrl, apiUrlSource, project: stored?.project}
    if (this.flags['ca-file']) {
      try {
        info.caPem = readCaFile(this.flags['ca-file'])
        info.caSource = process.env.MEZU_CA_FILE === this.flags['ca-file'] ? 'MEZU_CA_FILE' : '--ca-file'
      } catch (error) {
        info.caSource = (error as Error).message
      }
    } else if (stored?.caPem) {
      info.caPem = stored.caPem
      info.caSource = `pinned in context ${stored.name}`
    }
    if (process.env.MEZU_TOKEN) Object.assign(info, {token: process.env.MEZU_TOKEN, tokenSource: 'MEZU_TOKEN'})
    else if (stored?.token) Object.assign(info, {token: stored.token, tokenSource: `context ${stored.name}`})
    return info
  }

  protected canPrompt(): boolean {
    return canPrompt(this.jsonEnabled())
  }

  /** Asks a person; anywhere else a missing value is an error naming the flag. */
  protected async ask(flag: string, question: string, opts: {secret?: boolean; default?: string} = {}): Promise<string> {
    if (!this.canPrompt()) throw new MezuError('missing_value', `missing --${flag} (no terminal to ask on${process.env.CI ? ', CI is set' : ''})`, 2)
    // Loaded on first use: @inquirer pulls in ~10 MiB (iconv-lite, an editor launcher) that every
    // command would otherwise carry, the long-running `mezu tunnel` included.
    const {input, password} = await import('@inquirer/prompts')
    return opts.secret ? password({message: question, mask: '*'}) : input({message: question, default: opts.default, required: true})
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string}): Promise<unknown> {
    if (err instanceof Errors.ExitError || err.code === 'EEXIT') throw err
    // inquirer's Ctrl-C
    if (err.name === 'ExitPromptError') {
      process.stderr.write('cancelled\n')
      return this.exit(130)
    }
    const {body, exit: status} = toErrorBody(err)
    // Ctrl-C while waiting exits like a shell's interrupted command.
    const exit = err instanceof MezuError && err.code === 'cancelled' ? 130 : status
    if (this.jsonEnabled()) process.stderr.write(JSON.stringify(body) + '\n')
    else process.stderr.write(`Error: ${body.error.message}\n`)
    if (exit === 2 && !this.jsonEnabled()) process.stderr.write(`See 'mezu ${this.id?.replaceAll(':', ' ') ?? ''} --help'.\n`)
    return this.exit(exit)
  }
}
