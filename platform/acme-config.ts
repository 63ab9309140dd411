import {readFileSync} from 'node:fs'

/** The ACME challenge types the platform answers (RFC 8555 §8.3, RFC 8737). */
export type AcmeChallengeType = 'tls-alpn-01' | 'http-01'

/** Let's Encrypt's production directory: the default CA when ACME is on. */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory'

/** Public certificates from an ACME CA for every route hostname and auth.<domain>. */
export interface AcmeConfig {
  /** account contact, `--acme-email` */
  email: string
  /** the CA's directory URL, `--acme-directory` */
  directoryUrl: string
  /** port of the plain-HTTP listener for HTTP-01 (and redirects to HTTPS); null = none, TLS-ALPN-01 only */
  httpPort: number | null
  /** extra CA (PEM file) trusted for the directory's own HTTPS, `--acme-ca-file` (e.g. pebble's) */
  caFile: string | null
  /** challenge types in order of preference; after a failed attempt the next one is tried */
  challenges: AcmeChallengeType[]
  /** fraction of a certificate's lifetime after which it is renewed */
  renewAfter: number
  /** retry delay after a failed order: minMs, doubling, at most maxMs */
  retry: {minMs: number; maxMs: number}
}

export type AcmeConfigInput = Partial<AcmeConfig> & {email: string}

/** A bad ACME setting; buildConfig turns it into a ConfigError. */
export class AcmeConfigError extends Error {
  override name = 'AcmeConfigError'
}

/** Defaults and validation for the `acme` settings; each error is one sentence naming the flag. */
export function buildAcmeConfig(given: AcmeConfigInput, domain: string): AcmeConfig {
  // A flag left out arrives as undefined and must not override the default.
  const input = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as AcmeConfigInput
  const cfg: AcmeConfig = {
    directoryUrl: LETS_ENCRYPT_DIRECTORY,
    httpPort: null,
    caFile: null,
    challenges: input.httpPort === undefined || input.httpPort === null ? ['tls-alpn-01'] : ['tls-alpn-01', 'http-01'],
    renewAfter: 2 / 3,
    retry: {minMs: 60_000, maxMs: 3_600_000},
    ...input,
  }
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(cfg.email)) throw new AcmeConfigError(`--acme-email must be an email address, got "${cfg.email}"`)
  let url: URL | undefined
  try {
    url = new URL(cfg.directoryUrl)
  } catch {
    url = undefined
  }
  if (url?.protocol !== 'https:') throw new AcmeConfigError(`--acme-directory must be an https:// URL (RFC 8555), got "${cfg.directoryUrl}"`)
  if (cfg.httpPort !== null && (!Number.isInteger(cfg.httpPort) || cfg.httpPort < 0 || cfg.httpPort > 65535)) {
    throw new AcmeConfigError(`--acme-http-port must be a port number from 0 to 65535, got ${cfg.httpPort}`)
  }
  if (cfg.caFile !== null) {
    let pem: string
    try {
      pem = readFileSync(cfg.caFile, 'utf8')
    } catch (error) {
      throw new AcmeConfigError(`--acme-ca-file ${cfg.caFile} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new AcmeConfigError(`--acme-ca-file ${cfg.caFile} holds no PEM certificate`)
  }
  if (cfg.challenges.length === 0 || cfg.challenges.some((c) => c !== 'tls-alpn-01' && c !== 'http-01')) {
    throw new AcmeConfigError(`acme.challenges must list tls-alpn-01 and/or http-01, got ${JSON.stringify(cfg.challenges)}`)
  }
  if (cfg.challenges.includes('http-01') && cfg.httpPort === null) throw new AcmeConfigError('the http-01 challenge needs --acme-http-port')
  if (!(cfg.renewAfter > 0 && cfg.renewAfter < 1)) throw new AcmeConfigError(`acme.renewAfter must be a fraction between 0 and 1, got ${cfg.renewAfter}`)
  if (!(cfg.retry.minMs > 0 && cfg.retry.maxMs >= cfg.retry.minMs)) throw new AcmeConfigError('acme.retry needs a positive minMs and a maxMs at least as large')
  // Public CAs refuse names no one can prove control of over the internet.
  if (domain === 'localhost' || domain.endsWith('.localhost')) {
    throw new AcmeConfigError(`--acme-email needs a public --domain: an ACME CA cannot validate "${domain}" (a .localhost name)`)
  }
  return cfg
}
