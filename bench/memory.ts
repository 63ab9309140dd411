import {readdirSync, readFileSync} from 'node:fs'

/** A process and its descendants (Linux /proc), so a wrapper's children are counted too. */
function tree(pid: number): number[] {
  const out = [pid]
  let tasks: string[] = []
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) out.push(...tree(Number(c)))
    } catch {}
  }
  return out
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** Current resident memory of a process tree, MiB. */
export function rssMiB(pid: number): number {
  return tree(pid).reduce((a, p) => a + statusKb(p, 'VmRSS'), 0) / 1024
}

/** Peak resident memory (sum of each process's high-water mark: an upper bound), MiB. */
export function peakMiB(pid: number): number {
  return tree(pid).reduce((a, p) => a + statusKb(p, 'VmHWM'), 0) / 1024
}

/** CPU time (user + system) used so far by a process tree, ms (Linux /proc, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  let ticks = 0
  for (const p of tree(pid)) {
    try {
      // fields after the ")" that ends the command name: state is #3, utime #14, stime #15
      const rest = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ').pop()!.split(' ')
      ticks += Number(rest[11]) + Number(rest[12])
    } catch {}
  }
  return ticks * 10
}

/** Write system calls made so far by a process tree (Linux /proc/PID/io `syscw`): batching shows as few per request. */
export function writeCalls(pid: number): number {
  let n = 0
  for (const p of tree(pid)) {
    try {
      n += Number(/^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/io`, 'utf8'))?.[1] ?? 0)
    } catch {}
  }
  return n
}

/**
 * Samples the resident memory of each named process tree every `everyMs` until stopped and keeps
 * the largest: the peak of one phase (the transfers), where VmHWM is the whole life's, start-up
 * and password hashing included.
 */
export function sampleRss(processes: Record<string, number>, everyMs = 50): {stop(): Record<string, number>} {
  const max: Record<string, number> = Object.fromEntries(Object.keys(processes).map((k) => [k, 0]))
  const take = () => {
    for (const [k, pid] of Object.entries(processes)) max[k] = Math.max(max[k], rssMiB(pid))
  }
  take()
  const timer = setInterval(take, everyMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return max
    },
  }
}
