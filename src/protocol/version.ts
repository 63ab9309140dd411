import {readFileSync} from 'node:fs'

/** The Mezusphere version every binary reports (the package they ship in); 'unknown' when the file is not there. */
export const MEZU_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {version: string}).version
  } catch {
    return 'unknown'
  }
})()
