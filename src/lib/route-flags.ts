import {Flags} from '@oclif/core'
import type {AcmeCertificateStatus, Route} from './api-types/index.js'
import {readSettings} from './credentials.js'
import {details} from './output.js'

/** The route settings shared by `routes create` and `routes update`. */
export const routeFlags = {
  hostname: Flags.string({description: 'public hostname; a bare label like "shop" becomes shop.<platform domain>'}),
  path: Flags.string({description: 'path prefix, e.g. /api (default /)'}),
  service: Flags.string({description: 'the service name Warpgates register for'}),
  policy: Flags.string({description: 'access policy (name in the project, or id); without one any signed-in user may pass'}),
  'body-limit': Flags.string({description: 'largest request body, e.g. 10MB (default: the platform\'s)'}),
  'rate-limit': Flags.integer({description: 'requests per minute per client IP (default: the platform\'s)', min: 1, max: 1_000_000}),
}

/** --env, MEZU_ENV, then `mezu use`; unlike resolveEnvRef, absent is fine (a one-environment project needs none). */
export function optionalEnvRef(flag: string | undefined): string | undefined {
  return flag ?? readSettings().env
}

export function routeDetails(r: Route): string {
  return details([
    ['url', r.url], ['id', r.id], ['hostname', r.hostname], ['path', r.pathPrefix], ['service', r.service],
    ['policy', r.policyId ?? 'none (any signed-in user)'], ['body limit', r.bodyLimitBytes ?? 'platform default'],
    ['rate limit', r.rateLimitPerMinute ?? 'platform default'], ['project', r.projectId], ['environment', r.environmentId],
    ...(r.acme ? [['certificate', acmeSummary(r.acme)] as [string, string]] : []),
  ])
}

/** One line for the ACME certificate row: "valid until …, renews …", "failed: reason; next attempt …". */
export function acmeSummary(a: AcmeCertificateStatus): string {
  const parts: string[] = [a.status === 'failed' ? `failed: ${a.reason ?? 'unknown reason'}` : a.status]
  if (a.expiresAt) parts.push(`expires ${a.expiresAt}`)
  if (a.nextAttemptAt) parts.push(`${a.status === 'valid' ? 'renews' : 'next attempt'} ${a.nextAttemptAt}`)
  return `ACME, ${parts.join('; ')}`
}
