import type {PlatformConfig} from '../config.js'
import {AssertionSigner} from './assertion.js'
import type {ConfigSource} from './config-source.js'
import type {EdgeAuthority} from './edge-authority.js'
import {createGate, type Gate} from './gate.js'
import {EdgeIdentity} from './identity.js'
import type {ChangeEvents} from './identity-snapshot.js'
import {CsrfTokens} from './login/csrf.js'
import {createLoginHandler, type LoginHandler} from './login/handler.js'
import type {EdgeObserver} from './observer.js'
import {PageTemplates} from './login/templates.js'
import {RateLimiter} from './rate-limit.js'
import {type RefusalRenderer, simpleRenderer} from './refusal.js'

/** The limits the identity-aware edge needs, picked from PlatformConfig by identityLimits(). */
export interface IdentityLimits {
  sessionIdleMs: number
  sessionMaxAgeMs: number
  assertionTtlMs: number
  rateLimitPerMinute: number
  maxUrlBytes: number
  maxHeaderBytes: number
}

export function identityLimits(config: PlatformConfig): IdentityLimits {
  return {
    sessionIdleMs: config.sessionIdleMs,
    sessionMaxAgeMs: config.sessionMaxAgeMs,
    assertionTtlMs: config.edge.assertionTtlMs,
    rateLimitPerMinute: config.edge.rateLimitPerMinute,
    maxUrlBytes: config.edge.maxUrlBytes,
    maxHeaderBytes: config.edge.maxHeaderBytes,
  }
}

export interface IdentityEdgeDeps {
  source: ConfigSource
  authority: EdgeAuthority
  events: ChangeEvents
  limits: IdentityLimits
  /** the port browsers reach the edge on (443 in production; the bound port in tests) */
  publicPort: () => number
  renderer?: RefusalRenderer
  /** counts rate-limit refusals and policy denials (metrics) */
  observer?: Pick<EdgeObserver, 'rateLimited' | 'denied'>
  templatesDir?: string
  /** the CSRF key every edge of the platform shares (random when this edge is alone) */
  csrfKey?: Buffer
  now?: () => number
}

/** Shared by the gate and the login handler: one session cache, one CSRF key. */
export interface IdentityEdgeState {
  source: ConfigSource
  authority: EdgeAuthority
  limits: IdentityLimits
  publicPort: () => number
  renderer: RefusalRenderer
  templates: PageTemplates
  identity: EdgeIdentity
  signer: AssertionSigner
  csrf: CsrfTokens
  rate: RateLimiter
  observer?: Pick<EdgeObserver, 'rateLimited' | 'denied'>
  now: () => number
}

/** Builds the gate (for every route request) and the login handler (for auth.<domain>). */
export function createIdentityEdge(deps: IdentityEdgeDeps): {gate: Gate; login: LoginHandler; state: IdentityEdgeState; close(): void} {
  const now = deps.now ?? Date.now
  const state: IdentityEdgeState = {
    source: deps.source,
    authority: deps.authority,
    limits: deps.limits,
    publicPort: deps.publicPort,
    renderer: deps.renderer ?? simpleRenderer,
    templates: new PageTemplates(deps.templatesDir),
    identity: new EdgeIdentity(deps.source, deps.authority, deps.events, deps.limits, now),
    signer: new AssertionSigner(deps.limits.assertionTtlMs, now),
    csrf: new CsrfTokens(deps.csrfKey),
    rate: new RateLimiter(now),
    observer: deps.observer,
    now,
  }
  return {gate: createGate(state), login: createLoginHandler(state), state, close: () => state.identity.close()}
}
