import {Flags} from '@oclif/core'
import type {EdgeCreated} from '../../lib/api-types/index.js'
import {MezuCommand} from '../../lib/base-command.js'

export default class EdgesCreate extends MezuCommand<typeof EdgesCreate> {
  static override summary = 'Add an edge node and print its one-time join token and the command that starts it.'
  static override description = 'The token works once, within 24 hours. It carries the platform CA\'s pin, so the new edge can trust the control plane before it holds a certificate.'
  static override examples = [
    '<%= config.bin %> edges create --name fra-1',
    '<%= config.bin %> edges create --json | jq -r .joinToken',
  ]
  static override flags = {
    name: Flags.string({char: 'n', description: 'edge name (default: edge-1, edge-2, …)'}),
  }

  async run(): Promise<EdgeCreated> {
    const created = await this.api().post<EdgeCreated>('edges', {name: this.flags.name})
    this.log(`Created edge ${created.edge.name} (${created.edge.id}).`)
    this.log(`Join token (shown once, works once, within 24 hours):\n\n  ${created.joinToken}\n`)
    this.log(`On the edge's machine run:\n\n  ${created.command}`)
    return created
  }
}
