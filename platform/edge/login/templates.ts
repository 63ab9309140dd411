import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {escapeHtml} from '../refusal.js'

/**
 * Pages from templates/pages, so a self-hoster can restyle them. The syntax is tiny on purpose:
 * {{name}} is replaced by the escaped value, {{#name}}…{{/name}} is kept only when name is set.
 */
export class PageTemplates {
  private readonly cache = new Map<string, string>()

  constructor(private readonly dir: string = findTemplatesDir()) {}

  render(page: string, values: Record<string, string | undefined>): string {
    let t = this.cache.get(page)
    if (t === undefined) {
      t = readFileSync(join(this.dir, `${page}.html`), 'utf8')
      this.cache.set(page, t)
    }
    return t
      .replace(/\{\{#(\w+)\}\}([\s\S]*?)\{\{\/\1\}\}/g, (_m, name: string, inner: string) => (values[name] ? inner : ''))
      .replace(/\{\{(\w+)\}\}/g, (_m, name: string) => escapeHtml(values[name] ?? ''))
  }
}

/** templates/pages of the package, found from this module whether it runs from source or dist/. */
export function findTemplatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'templates', 'pages')
    if (existsSync(join(candidate, 'login.html'))) return candidate
    dir = dirname(dir)
  }
  throw new Error('templates/pages/login.html not found beside the mezu package')
}
