import {Flags} from '@oclif/core'
import type {PolicyRulesInput} from './api-types/index.js'

const many = (description: string) => Flags.string({description, multiple: true})

/** The allow/deny flags shared by `policies create` and `policies update`. */
export const ruleFlags = {
  'allow-email': many('allow this email (repeat for more)'),
  'allow-directory': many('allow members of this directory and its sub-directories (path or id)'),
  'allow-service-account': many('allow this service account (name or id)'),
  'allow-ip': many('allow this IP or CIDR range (IPv4 or IPv6)'),
  'deny-email': many('deny this email; deny wins over allow'),
  'deny-directory': many('deny members of this directory and its sub-directories'),
  'deny-service-account': many('deny this service account'),
  'deny-ip': many('deny this IP or CIDR range'),
}

type RuleFlagValues = {[K in keyof typeof ruleFlags]?: string[]}

/** Flags → the request's allow/deny lists; a side with no flags is left out (kept on update). */
export function rulesFromFlags(f: RuleFlagValues): {allow?: PolicyRulesInput; deny?: PolicyRulesInput} {
  const side = (s: 'allow' | 'deny'): PolicyRulesInput | undefined => {
    const r: PolicyRulesInput = {}
    if (f[`${s}-email`]) r.emails = f[`${s}-email`]
    if (f[`${s}-directory`]) r.directories = f[`${s}-directory`]
    if (f[`${s}-service-account`]) r.serviceAccounts = f[`${s}-service-account`]
    if (f[`${s}-ip`]) r.ips = f[`${s}-ip`]
    return Object.keys(r).length ? r : undefined
  }
  return {allow: side('allow'), deny: side('deny')}
}
