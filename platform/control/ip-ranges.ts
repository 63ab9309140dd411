import ipaddr from 'ipaddr.js'

/**
 * Normalises an IP range for a policy: "203.0.113.7" → "203.0.113.7/32", "2001:db8::1" →
 * "2001:db8::1/128", host bits cleared ("10.1.2.3/8" → "10.0.0.0/8"), an IPv4-mapped IPv6 range
 * written as IPv4. Returns undefined when the text is not an address or CIDR. IPv4 must be
 * written in four decimal parts: "10.1" is refused rather than read as 10.0.0.1.
 */
export function normaliseCidr(text: string): string | undefined {
  const s = text.trim()
  const slash = s.indexOf('/')
  const addrText = slash === -1 ? s : s.slice(0, slash)
  const bitsText = slash === -1 ? undefined : s.slice(slash + 1)
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return undefined
  let addr: ipaddr.IPv4 | ipaddr.IPv6
  if (ipaddr.IPv4.isValidFourPartDecimal(addrText)) addr = ipaddr.IPv4.parse(addrText)
  else if (ipaddr.IPv6.isValid(addrText) && addrText.includes(':')) addr = ipaddr.IPv6.parse(addrText)
  else return undefined
  const max = addr.kind() === 'ipv4' ? 32 : 128
  let bits = bitsText === undefined ? max : Number(bitsText)
  if (bits > max) return undefined
  if (addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() && bits >= 96) {
    addr = addr.toIPv4Address()
    bits -= 96
  }
  const network = addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${bits}`) : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${bits}`)
  return `${network.toString()}/${bits}`
}
