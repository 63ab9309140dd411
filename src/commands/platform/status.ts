import {defaultDataDir, localStatus} from '../../../platform/admin.js'
import {ApiClient} from '../../lib/api-client.js'
import {MezuCommand} from '../../lib/base-command.js'
import {readCaFile} from '../../lib/ca-pin.js'
import {details} from '../../lib/output.js'
import {dataDirFlag} from '../../lib/platform-flags.js'

export default class PlatformStatus extends MezuCommand<typeof PlatformStatus> {
  static override summary = 'Show whether the local platform is initialised and running, and where it listens.'
  static override examples = ['<%= config.bin %> platform status', '<%= config.bin %> platform status --json']
  static override flags = {...dataDirFlag}

  async run() {
    const status = localStatus(this.flags['data-dir'] ?? defaultDataDir(process.env))
    let healthy: boolean | null = null
    if (status.running && status.apiUrl && status.caPath) {
      try {
        await new ApiClient({apiUrl: status.apiUrl, caPem: readCaFile(status.caPath), timeoutMs: 3000}).request('GET', '../healthz')
        healthy = true
      } catch {
        healthy = false
      }
    }
    const result = {...status, healthy}
    this.log(details([
      ['data directory', status.problem ?? status.dataDir],
      ['initialised', status.initialized ? 'yes' : 'no (mezu platform init)'],
      ['role', status.role === 'edge' ? `edge node ${status.edgeId}` : status.role],
      ['running', status.running ? `yes (pid ${status.pid}${healthy === false ? ', not answering' : ''})` : 'no'],
      ['control API', status.apiUrl],
      ['control plane', status.controlUrl],
      ['edge', status.edgeUrl],
      ['tunnel', status.tunnelUrl],
      ['CA fingerprint', status.caFingerprint],
    ]))
    return result
  }
}
