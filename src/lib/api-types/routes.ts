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
