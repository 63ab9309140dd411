/** Who a policy names. Directories match their sub-directories too; IPs are CIDR ranges (IPv4 or IPv6). */
export interface PolicyRules {
  emails: string[]
  /** directory ids */
  directories: string[]
  /** service account ids */
  serviceAccounts: string[]
  /** CIDR ranges, e.g. 10.0.0.0/8, 2001:db8::/32, 203.0.113.7/32 */
  ips: string[]
}

export interface Policy {
  id: string
  projectId: string
  name: string
  /** open to anyone (still subject to deny rules); nothing is public unless a policy says so */
  public: boolean
  allow: PolicyRules
  /** deny wins over allow */
  deny: PolicyRules
  createdAt: string
  updatedAt: string
}

export interface Route {
  id: string
  projectId: string
  environmentId: string
  /** full hostname, lower case, e.g. hello.mezu.localhost */
  hostname: string
  /** path prefix, "/" for the whole host; matched on segment boundaries */
  pathPrefix: string
  /** the service name Warpgates register for */
  service: string
  /** null: any signed-in user of the platform may pass (never public) */
  policyId: string | null
  /** largest request body in bytes; null = the platform default */
  bodyLimitBytes: number | null
  /** requests per minute per client IP; null = the platform default */
  rateLimitPerMinute: number | null
  /** the public URL, with the edge's port when it is not 443 */
  url: string
  createdAt: string
  updatedAt: string
}

/** The answer to creating a route: the route, and what the person should know about it. */
export interface RouteCreated extends Route {
  /** e.g. the edge's certificate does not cover the hostname; empty when there is nothing to say */
  warnings: string[]
}

/** Policy rules as a request names them: emails, directory paths or ids, service account names or ids, IPs or CIDRs. */
export type PolicyRulesInput = Partial<PolicyRules>

export interface CreatePolicyRequest {
  name: string
  public?: boolean
  allow?: PolicyRulesInput
  deny?: PolicyRulesInput
}

/** Lists given replace the stored ones; lists left out stay as they are. */
export interface UpdatePolicyRequest {
  name?: string
  public?: boolean
  allow?: PolicyRulesInput
  deny?: PolicyRulesInput
}

export interface CreateRouteRequest {
  project: string
  /** environment name or id; may be left out when the project has exactly one */
  env?: string
  hostname: string
  path?: string
  service: string
  /** policy name (in the route's project) or id */
  policy?: string
  bodyLimitBytes?: number
  rateLimitPerMinute?: number
}

/** `policy: null` removes the policy (any signed-in user); bodyLimitBytes / rateLimitPerMinute null = platform default. */
export interface UpdateRouteRequest {
  hostname?: string
  path?: string
  service?: string
  policy?: string | null
  bodyLimitBytes?: number | null
  rateLimitPerMinute?: number | null
}

/** A policy that was deleted with force, and the routes that fell back to "any signed-in user". */
export interface DeletePolicyResult {
  deleted: string
  detachedRoutes: string[]
}
