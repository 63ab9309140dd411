import type {IncomingHttpHeaders} from 'node:http'

/** Largest urlencoded form the edge's own pages accept. */
export const FORM_LIMIT_BYTES = 16 * 1024

/** A form the edge could not read: 415 (not urlencoded) or 413 (too large). */
export interface FormRefusal {
  status: 413 | 415
  message: string
}

/** Reads an application/x-www-form-urlencoded body posted to one of the edge's own pages. */
export async function readForm(headers: IncomingHttpHeaders, body: AsyncIterable<Buffer>): Promise<{values: URLSearchParams} | {refused: FormRefusal}> {
  const type = String(headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') return {refused: {status: 415, message: 'send the form as application/x-www-form-urlencoded'}}
  const chunks: Buffer[] = []
  let size = 0
  // An oversized form is read to its end and dropped (not stored), so the 413 reaches the client
  // on HTTP/1 and HTTP/2 alike; the edge's own body limit bounds how much that can be.
  for await (const chunk of body) {
    size += chunk.length
    if (size <= FORM_LIMIT_BYTES) chunks.push(chunk)
  }
  if (size > FORM_LIMIT_BYTES) return {refused: {status: 413, message: 'the form is too large'}}
  return {values: new URLSearchParams(Buffer.concat(chunks).toString('utf8'))}
}
