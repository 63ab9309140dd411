import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes, randomInt} from 'node:crypto'
import type {ExecutionContext} from 'ava'

/** A Linux network namespace joined to this host by a veth pair with a /30 of its own. */
export interface NetnsLink {
  /** the namespace's name, for `ip netns exec NAME …` */
  name: string
  /** this side's address on the pair (where the namespace reaches the host) */
  hostIp: string
  /** the namespace side's address */
  nsIp: string
}

/**
 * Why network namespaces cannot be used here (no `ip`, not permitted), or null. Probes by adding
 * and deleting a namespace, the way the test would.
 */
export function netnsProblem(): string | null {
  const which = spawnSync('sh', ['-c', 'command -v ip'], {encoding: 'utf8'})
  if (which.status !== 0) return 'the `ip` command (iproute2) is not installed'
  const name = `mezu-probe-${randomBytes(3).toString('hex')}`
  const add = spawnSync('ip', ['netns', 'add', name], {encoding: 'utf8'})
  if (add.status !== 0) return `\`ip netns add\` is not permitted here: ${add.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', name])
  return null
}

function ip(...args: string[]): void {
  execFileSync('ip', args, {stdio: ['ignore', 'ignore', 'pipe']})
}

/** Addresses in use on this host, so a chosen /30 never overlaps one. */
function hostAddresses(): string {
  return spawnSync('ip', ['-o', 'addr'], {encoding: 'utf8'}).stdout
}

/**
 * Makes a namespace and a veth pair with addresses 10.213.X.Y/30 chosen here. The teardown,
 * registered before anything is created, deletes both even when the test fails half-way; register
 * it before starting processes inside (ava runs teardowns in reverse order, so they stop first).
 */
export function createNetnsLink(t: ExecutionContext): NetnsLink {
  const tag = randomBytes(3).toString('hex')
  const name = `mezu-t-${tag}`
  const hostIf = `mzh${tag}`
  const nsIf = `mzn${tag}`
  let third: number
  let base: number
  const used = hostAddresses()
  do {
    third = randomInt(0, 256)
    base = randomInt(0, 64) * 4
  } while (used.includes(`10.213.${third}.${base + 1}/`) || used.includes(`10.213.${third}.${base + 2}/`))
  const hostIp = `10.213.${third}.${base + 1}`
  const nsIp = `10.213.${third}.${base + 2}`
  t.teardown(() => {
    // deleting one end of a veth pair deletes both; the namespace goes once its processes are gone
    spawnSync('ip', ['link', 'del', hostIf])
    spawnSync('ip', ['netns', 'del', name])
  })
  ip('netns', 'add', name)
  ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf)
  ip('link', 'set', nsIf, 'netns', name)
  ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf)
  ip('link', 'set', hostIf, 'up')
  ip('netns', 'exec', name, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf)
  ip('netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up')
  ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up')
  return {name, hostIp, nsIp}
}
