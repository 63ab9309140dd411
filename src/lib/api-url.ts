import {MezuError} from './errors.js'

/** The control plane's base URL (https://host:port) from what a person typed; https:// is assumed and required. */
export function normaliseApiUrl(url: string): string {
  let u: URL
  try {
    u = new URL(/^https?:\/\//.test(url) ? url : `https://${url}`)
  } catch {
    throw new MezuError('usage', `--api-url "${url}" is not a URL`, 2)
  }
  if (u.protocol !== 'https:') throw new MezuError('usage', `--api-url must use https://, got ${u.protocol}`, 2)
  return `${u.protocol}//${u.host}`
}
