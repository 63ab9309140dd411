import {Args, Flags} from '@oclif/core'
import {relative} from 'node:path'
import {MezuCommand} from '../lib/base-command.js'
import {type ScaffoldResult, scaffoldService, SERVICE_TEMPLATES, type ServiceTemplate} from '../lib/scaffold.js'

export default class Init extends MezuCommand<typeof Init> {
  static override summary = 'Create a service directory from a template (a mezu.json, a tiny server and a README).'
  static override description = 'Refuses a non-empty DIR unless --force; a DIR that is a symbolic link is written through into the directory it points to.'
  static override examples = [
    '<%= config.bin %> init hello',
    '<%= config.bin %> init site --template static --port 8080',
    '<%= config.bin %> init . --name api --force',
  ]
  static override args = {dir: Args.string({description: 'directory to create or fill', default: '.'})}
  static override flags = {
    // Validated in parse rather than with `options`: oclif gives an options mismatch no usage exit code.
    template: Flags.custom<ServiceTemplate>({
      description: `which service: ${SERVICE_TEMPLATES.join(' or ')}`,
      default: 'hello',
      parse: async (input) => {
        if (!(SERVICE_TEMPLATES as readonly string[]).includes(input)) throw new Error(`expected one of: ${SERVICE_TEMPLATES.join(', ')}; got "${input}"`)
        return input as ServiceTemplate
      },
    })(),
    name: Flags.string({description: 'service name (default: the directory name)'}),
    port: Flags.integer({description: 'port the service listens on (default: the template\'s)', min: 1, max: 65535}),
    force: Flags.boolean({description: 'write into a directory that is not empty (template files are overwritten)'}),
  }

  async run(): Promise<ScaffoldResult> {
    const result = scaffoldService({dir: this.args.dir, template: this.flags.template, name: this.flags.name, port: this.flags.port, force: this.flags.force})
    const shown = relative(process.cwd(), result.dir) || '.'
    this.log(`Created the ${result.template} service "${result.name}" in ${shown} (port ${result.port}).`)
    this.log('\nNext steps:')
    if (shown !== '.') this.log(`  cd ${shown}`)
    if (result.files.includes('package.json')) this.log(`  npm install                                        # its dependencies`)
    this.log(`  mezu tunnel .                                      # start it and publish it`)
    this.log(`  mezu tunnel . --route ${result.name}.mezu.localhost   # and route a hostname to it`)
    this.log(`  node server.mjs                                    # or run it alone on port ${result.port}`)
    return result
  }
}
