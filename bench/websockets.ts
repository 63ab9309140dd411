// `npm run bench:ws`: 1,000 WebSockets through one Warpgate, held for 60 s, each echoing one message
// a second; counts lost echoes and samples the RSS of the edge and the Warpgate every 10 s, so a
// leak shows as a rising row. Not part of the tests.
//
// Knobs (environment): WS_CLIENTS=1000 WS_SECONDS=60
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import WebSocket from 'ws'
import {rssMiB} from './memory.js'
import {startThroughMezu} from './through-mezu.js'

const CLIENTS = Number(process.env.WS_CLIENTS ?? 1000)
const SECONDS = Number(process.env.WS_SECONDS ?? 60)

async function main(): Promise<void> {
  const origin = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'origin.js'), '0'], {stdio: ['ignore', 'pipe', 'inherit']})
  const port = await new Promise<number>((resolve) => createInterface({input: origin.stdout}).once('line', (l) => resolve(Number(/listening (\d+)/.exec(l)?.[1]))))
  const workDir = mkdtempSync(join(tmpdir(), 'mezu-bench-ws-'))
  const mezu = await startThroughMezu({url: `http://127.0.0.1:${port}`, port, workDir})
  const edge = new URL(mezu.url)
  const sample = () => Object.fromEntries(Object.entries(mezu.processes).map(([k, pid]) => [k, Math.round(rssMiB(pid))]))
  const rss: Array<Record<string, number>> = [sample()]
  let sent = 0
  let echoed = 0
  let dropped = 0
  try {
    // *.localhost is loopback: dial 127.0.0.1 with the route's name for SNI and Host
    const sockets = await Promise.all(Array.from({length: CLIENTS}, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${edge.port}/ws`, {ca: mezu.caPem, servername: edge.hostname, headers: {host: edge.host}} as WebSocket.ClientOptions)
      ws.once('open', () => resolve(ws))
      ws.once('error', reject)
      ws.on('message', () => echoed++)
      ws.on('close', () => dropped++)
    })))
    rss.push(sample())
    process.stderr.write(`[bench:ws] ${CLIENTS} WebSockets open; echoing once a second for ${SECONDS}s\n`)
    for (let second = 1; second <= SECONDS; second++) {
      for (const ws of sockets) if (ws.readyState === WebSocket.OPEN) (ws.send(`ping ${second}`), sent++)
      await new Promise((r) => setTimeout(r, 1000))
      if (second % 10 === 0) rss.push(sample())
    }
    await new Promise((r) => setTimeout(r, 2000))
    for (const ws of sockets) ws.removeAllListeners('close').close()
  } finally {
    await mezu.stop()
    origin.kill('SIGTERM')
    rmSync(workDir, {recursive: true, force: true})
  }
  console.log(`\n${CLIENTS} WebSockets through one Warpgate for ${SECONDS}s: ${sent} sent, ${echoed} echoed, ${sent - echoed} lost, ${dropped} dropped connections\n`)
  console.log('| sample | ' + Object.keys(rss[0]).map((k) => `${k} RSS MiB`).join(' | ') + ' |')
  console.log('| --- | ' + Object.keys(rss[0]).map(() => '---').join(' | ') + ' |')
  rss.forEach((r, i) => console.log(`| ${i === 0 ? 'idle' : i === 1 ? 'all open' : `${(i - 1) * 10}s`} | ${Object.values(r).join(' | ')} |`))
  if (sent !== echoed || dropped) process.exitCode = 1
}

main().catch((error) => {
  console.error(`bench:ws failed: ${(error as Error).message}`)
  process.exit(1)
})
