import {Flags} from '@oclif/core'
import {MezuCommand} from '../lib/base-command.js'
import {type DoctorReport, runDoctor} from '../lib/doctor.js'

export default class Doctor extends MezuCommand<typeof Doctor> {
  static override summary = 'Check this machine\'s setup against the platform: config, API, pinned CA, token, clock, edge and tunnel ports, routes and their Warpgates.'
  static override description = 'Each check passes, warns (works now, needs attention) or fails, with a fix. Exits 0 when nothing fails (warnings allowed) and 1 otherwise; with --json the report is printed on stdout either way.'
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --project shop --json', 'MEZU_CONTEXT=prod <%= config.bin %> doctor']
  static override flags = {
    project: Flags.string({char: 'p', description: 'check the routes of this project (default: MEZU_PROJECT, then `mezu use`)', env: 'MEZU_PROJECT'}),
    timeout: Flags.integer({description: 'seconds to wait for each network check', default: 5, min: 1, max: 60}),
  }

  async run(): Promise<DoctorReport> {
    const info = this.connectionInfo()
    const report = await runDoctor({...info, project: this.flags.project ?? info.project, timeoutMs: this.flags.timeout * 1000})
    const mark = {pass: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip'} as const
    for (const c of report.checks) {
      this.log(`${mark[c.verdict]}  ${c.title}: ${c.detail}`)
      if (c.fix && c.verdict !== 'pass') this.log(`      fix: ${c.fix}`)
    }
    const failed = report.checks.filter((c) => c.verdict === 'fail')
    this.log(failed.length === 0 ? '\nAll checks passed.' : `\n${failed.length} check(s) failed: ${failed.map((c) => c.title).join(', ')}.`)
    if (!report.ok) process.exitCode = 1
    return report
  }
}
