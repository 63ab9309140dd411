import type {Project} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'
import {ago} from '../../lib/output.js'

export default class Projects extends MezuCommand<typeof Projects> {
  static override summary = 'List the projects you can reach.'
  static override aliases = ['projects:list']
  static override examples = ['<%= config.bin %> projects', '<%= config.bin %> projects list --json']

  async run(): Promise<{items: Project[]}> {
    const items = await this.api().all<Project>('projects')
    this.table(items, [
      {header: 'NAME', get: (p) => p.name},
      {header: 'ID', get: (p) => p.id},
      {header: 'DESCRIPTION', get: (p) => p.description},
      {header: 'CREATED', get: (p) => ago(p.createdAt)},
    ])
    return {items}
  }
}
