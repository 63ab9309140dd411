import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {request} from 'node:https'
import {createServer, connect} from 'node:net'
import {join} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'
import type {ExecutionContext} from 'ava'
import {tempDir} from './platform.js'

const PEBBLE = '/usr/bin/pebble'
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv'

/** Why the pebble tests cannot run here, or undefined when they can. */
export function pebbleMissing(): string | undefined {
  for (const bin of [PEBBLE, CHALLTESTSRV]) if (!existsSync(bin)) return `${bin} is not installed (apt-get install pebble)`
  if (!hasOpenssl()) return 'the openssl CLI is not installed'
  return undefined
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/**
 * A port nothing listens on right now. Pebble is configured with the ports it validates on before
 * the platform starts (its config names them), so these are picked ahead, unlike our own servers.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface Pebble {
  /** the ACME directory, https://127.0.0.1:PORT/dir */
  directoryUrl: string
  /** the CA of pebble's own HTTPS listener (--acme-ca-file) */
  caFile: string
  caPem: string
  /** pebble's issuing root for this run (management /roots/0): what end users would trust */
  root(): Promise<string>
  /** challtestsrv: A record for `host` (pebble resolves every other name to 127.0.0.1) */
  addA(host: string, address: string): Promise<void>
}

/**
 * Debian's pebble (ACME test CA) and pebble-challtestsrv (its DNS, every name → 127.0.0.1),
 * validating HTTP-01 on `httpPort` and TLS-ALPN-01 on `tlsPort` of 127.0.0.1. Certificates live
 * `validitySeconds`. Both processes are killed when the test ends.
 */
export async function startPebble(t: ExecutionContext, opts: {httpPort: number; tlsPort: number; validitySeconds?: number}): Promise<Pebble> {
  const dir = tempDir(t, 'mezu-pebble-')
  const caKey = join(dir, 'ca.key')
  const caFile = join(dir, 'ca.pem')
  const key = join(dir, 'pebble.key')
  const cert = join(dir, 'pebble.pem')
  const openssl = (args: string[]) => execFileSync('openssl', args, {stdio: ['ignore', 'ignore', 'pipe']})
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=mezu test pebble CA'])
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', join(dir, 'pebble.csr'), '-subj', '/CN=localhost'])
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  openssl(['x509', '-req', '-in', join(dir, 'pebble.csr'), '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', join(dir, 'san.ext')])
  const [wfe, mgmt, dns, dnsMgmt] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const config = join(dir, 'pebble-config.json')
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${wfe}`, managementListenAddress: `127.0.0.1:${mgmt}`, certificate: cert, privateKey: key,
      httpPort: opts.httpPort, tlsPort: opts.tlsPort, ocspResponderURL: '', externalAccountBindingRequired: false,
      ...(opts.validitySeconds ? {certificateValidityPeriod: opts.validitySeconds} : {}),
    },
  }))
  const dnsServer = run(t, CHALLTESTSRV, [
    '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dns}`, '-management', `127.0.0.1:${dnsMgmt}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '',
  ], {})
  await waitForPort(dnsMgmt, dnsServer)
  const pebble = run(t, PEBBLE, ['-config', config, '-dnsserver', `127.0.0.1:${dns}`, '-strict'], {
    PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_VA_ALWAYS_VALID: '0', PEBBLE_AUTHZREUSE: '0',
  })
  const caPem = readFileSync(caFile, 'utf8')
  const directoryUrl = `https://127.0.0.1:${wfe}/dir`
  const deadline = Date.now() + 20_000
  for (;;) {
    const r = await get(directoryUrl, caPem).catch((e: Error) => ({status: 0, text: e.message}))
    if (r.status === 200) break
    if (pebble.exitCode !== null || Date.now() > deadline) throw new Error(`pebble did not serve ${directoryUrl}: ${r.text}\n${pebble.output()}`)
    await delay(100)
  }
  return {
    directoryUrl, caFile, caPem,
    async root() {
      const r = await get(`https://127.0.0.1:${mgmt}/roots/0`, caPem)
      if (r.status !== 200) throw new Error(`pebble /roots/0 answered ${r.status}`)
      return r.text
    },
    async addA(host, address) {
      const res = await fetch(`http://127.0.0.1:${dnsMgmt}/add-a`, {method: 'POST', body: JSON.stringify({host, addresses: [address]})})
      if (!res.ok) throw new Error(`challtestsrv add-a answered ${res.status}`)
    },
  }
}

function run(t: ExecutionContext, bin: string, args: string[], env: Record<string, string>): ChildProcess & {output(): string} {
  const child = spawn(bin, args, {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  })
  return Object.assign(child, {output: () => output})
}

async function waitForPort(port: number, child: ChildProcess & {output(): string}): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)))
      s.on('error', () => resolve(false))
    })
    if (up) return
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${child.spawnfile} is not listening on ${port}: ${child.output()}`)
    await delay(100)
  }
}

/** GET over HTTPS verifying against `caPem` only. */
export function get(url: string, caPem: string): Promise<{status: number; text: string}> {
  return new Promise((resolve, reject) => {
    const req = request(url, {ca: caPem}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, text}))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
