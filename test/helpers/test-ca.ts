import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

/** A throwaway CA made with openssl in DIR, standing in for a public CA (or an operator's own). */
export interface TestCa {
  dir: string
  certFile: string
  keyFile: string
  certPem: string
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
}

export function createTestCa(dir: string, name = 'Mezu test CA'): TestCa {
  const certFile = join(dir, 'test-ca.pem')
  const keyFile = join(dir, 'test-ca.key')
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
  return {dir, certFile, keyFile, certPem: readFileSync(certFile, 'utf8')}
}

let issued = 0

/**
 * A server certificate for `names` (DNS names or IPs) with a chosen serial (hex), signed by CA:
 * the chain as a server sends it (leaf, then the CA) and the private key, both PEM.
 */
export function issueTestCert(ca: TestCa, names: string[], serial: string): {certPem: string; keyPem: string} {
  const base = join(ca.dir, `leaf-${++issued}`)
  writeFileSync(`${base}.ext`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}\n`)
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${names[0]}`], ca.dir)
  openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${serial}`, '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.crt`], ca.dir)
  return {certPem: readFileSync(`${base}.crt`, 'utf8') + ca.certPem, keyPem: readFileSync(`${base}.key`, 'utf8')}
}
