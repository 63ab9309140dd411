import {defaultDataDir, localStatus} from '../../../platform/admin.js'
import {MezuCommand} from '../../lib/base-command.js'
import {readCaFile} from '../../lib/ca-pin.js'
import {MezuError} from '../../lib/errors.js'
import {dataDirFlag} from '../../lib/platform-flags.js'

export default class PlatformTrust extends MezuCommand<typeof PlatformTrust> {
  static override summary = 'Print the platform CA certificate (path, fingerprint and PEM) so curl and browsers can trust it.'
  static override examples = [
    '<%= config.bin %> platform trust',
    'curl --cacert "$(<%= config.bin %> platform trust --json | jq -r .path)" https://hello.mezu.localhost:8443/',
  ]
  static override flags = {...dataDirFlag}

  async run() {
    const status = localStatus(this.flags['data-dir'] ?? defaultDataDir(process.env))
    if (status.problem) throw new MezuError('platform', status.problem)
    if (!status.caPath) throw new MezuError('platform', `${status.dataDir} has no platform CA yet: run mezu platform init (or start)`)
    const pem = readCaFile(status.caPath)
    this.log(`# ${status.caPath}\n# SHA-256 fingerprint ${status.caFingerprint}\n# Trust it with: curl --cacert ${status.caPath} …, or import it into your browser's authorities.`)
    this.log(pem.trimEnd())
    return {path: status.caPath, fingerprint: status.caFingerprint, pem}
  }
}
