import {readFileSync} from 'node:fs'
import {ConfigError, settingByKey} from './settings.js'

/** The ACME challenge types the platform answers (RFC 8555 §8.3, RFC 8737). */
export type AcmeChallengeType = 'tls-alpn-01' | 'http-01'

/** Let's Encrypt's production directory: the default CA when ACME is on (the acme.directoryUrl setting's default). */
export const LETS_ENCRYPT_DIRECTORY = settingByKey('acme.directoryUrl')!.default as string

/** Public certificates from an ACME CA for every route hostname and auth.<domain>. */
export interface AcmeConfig {
  /** account contact, `--acme-email`; ACME is on when it is set */
  email?: string
  /** the CA's directory URL, `--acme-directory` */
  directoryUrl: string
  /** port of the plain-HTTP listener for HTTP-01 (and redirects to HTTPS); unset = none, TLS-ALPN-01 only */
  httpPort?: number
  /** extra CA (PEM file) trusted for the directory's own HTTPS, `--acme-ca-file` (e.g. pebble's) */
  caFile?: string
  /** challenge types in order of preference; after a failed attempt the next one is tried */
  challenges: AcmeChallengeType[]
  /** fraction of a certificate's lifetime after which it is renewed */
  renewAfter: number
  /** retry delay after a failed order: minMs, doubling, at most maxMs */
  retry: {minMs: number; maxMs: number}
}

export type AcmeConfigInput = Partial<AcmeConfig> & {email: string}

/** ACME settings with ACME on. */
export type ActiveAcmeConfig = AcmeConfig & {email: string}


/** Defaults and validation for the `acme` settings; each error is one sentence naming the flag. */
export function buildAcmeConfig(given: AcmeConfigInput, domain: string): ActiveAcmeConfig {
  // A flag left out arrives as undefined and must not override the default.
  const input = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as AcmeConfigInput
  const cfg: ActiveAcmeConfig = {
    directoryUrl: LETS_ENCRYPT_DIRECTORY,
    challenges: input.httpPort === undefined ? ['tls-alpn-01'] : ['tls-alpn-01', 'http-01'],
    renewAfter: 2 / 3,
    retry: {minMs: 60_000, maxMs: 3_600_000},
    ...input,
  }
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(cfg.email)) throw new ConfigError(`--acme-email must be an email address, got "${cfg.email}"`)
  let url: URL | undefined
  try {
    url = new URL(cfg.directoryUrl)
  } catch {
    url = undefined
  }
  if (url?.protocol !== 'https:') throw new ConfigError(`--acme-directory must be an https:// URL (RFC 8555), got "${cfg.directoryUrl}"`)
  if (cfg.httpPort !== undefined && (!Number.isInteger(cfg.httpPort) || cfg.httpPort < 0 || cfg.httpPort > 65535)) {
    throw new ConfigError(`--acme-http-port must be a port number from 0 to 65535, got ${cfg.httpPort}`)
  }
  if (cfg.caFile !== undefined) {
    let pem: string
    try {
      pem = readFileSync(cfg.caFile, 'utf8')
    } catch (error) {
      throw new ConfigError(`acme.caFile (--acme-ca-file) ${cfg.caFile} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`acme.caFile (--acme-ca-file) ${cfg.caFile} holds no PEM certificate`)
  }
  if (cfg.challenges.length === 0 || cfg.challenges.some((c) => c !== 'tls-alpn-01' && c !== 'http-01')) {
    throw new ConfigError(`acme.challenges must list tls-alpn-01 and/or http-01, got ${JSON.stringify(cfg.challenges)}`)
  }
  if (cfg.challenges.includes('http-01') && cfg.httpPort === undefined) throw new ConfigError('the http-01 challenge needs --acme-http-port')
  if (!(cfg.renewAfter > 0 && cfg.renewAfter < 1)) throw new ConfigError(`acme.renewAfter must be a fraction between 0 and 1, got ${cfg.renewAfter}`)
  if (!(cfg.retry.minMs > 0 && cfg.retry.maxMs >= cfg.retry.minMs)) throw new ConfigError('acme.retry needs a positive minMs and a maxMs at least as large')
  // Public CAs refuse names no one can prove control of over the internet.
  if (domain === 'localhost' || domain.endsWith('.localhost')) {
    throw new ConfigError(`acme.email (--acme-email) needs a public domain: an ACME CA cannot validate "${domain}" (a .localhost name)`)
  }
  return cfg
}

/**
 * The `acme` group of the settings as PlatformConfig.acme (always there, like every group): without
 * acme.email ACME is off and the other acme settings are refused; with it, defaulted and checked.
 */
export function acmeFromSettings(group: Partial<AcmeConfig> | undefined, domain: string): AcmeConfig {
  if (group?.email) return buildAcmeConfig(group as AcmeConfigInput, domain)
  const given = group && (group.httpPort !== undefined || group.caFile !== undefined || (group.directoryUrl !== undefined && group.directoryUrl !== LETS_ENCRYPT_DIRECTORY))
  if (given) throw new ConfigError('the acme.* settings (--acme-directory, --acme-http-port, --acme-ca-file) need acme.email (--acme-email), which turns ACME on', 'usage')
  return {directoryUrl: LETS_ENCRYPT_DIRECTORY, challenges: ['tls-alpn-01'], renewAfter: 2 / 3, retry: {minMs: 60_000, maxMs: 3_600_000}}
}
