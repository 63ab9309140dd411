import {type Context, listContexts, removeContext, useContext} from './credentials.js'

/** What `mezu context` shows of a context: never its token or CA. */
export interface ContextSummary {
  name: string
  current: boolean
  apiUrl: string
  loggedIn: boolean
  principal: string | null
  tokenKind: 'session' | 'api-key' | null
  project: string | null
  env: string | null
}

export function summarise(c: Context, current: boolean): ContextSummary {
  return {
    name: c.name, current, apiUrl: c.apiUrl, loggedIn: Boolean(c.token), principal: c.token ? c.principal ?? null : null,
    tokenKind: c.token ? c.tokenKind ?? null : null, project: c.project ?? null, env: c.env ?? null,
  }
}

export function summariseContexts(): {current: string | null; items: ContextSummary[]} {
  const {current, contexts} = listContexts()
  return {current, items: contexts.map((c) => summarise(c, c.name === current))}
}

export function switchContext(name: string): ContextSummary {
  return summarise(useContext(name), true)
}

/** Removes a context; `current` in the result says whether it was the current one. */
export function forgetContext(name: string): ContextSummary {
  const wasCurrent = listContexts().current === name
  return summarise(removeContext(name), wasCurrent)
}
