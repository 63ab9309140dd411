import type {Registry} from 'prom-client'

/** The exposition types this module produces. */
export type MetricType = 'counter' | 'gauge' | 'histogram'

/** One sample as prom-client's registry formats it. */
export interface Sample {
  value: number
  labels: Record<string, string | number>
  /** e.g. `<name>_bucket`; the metric's own name when absent */
  metricName?: string
}

/**
 * A metric whose samples are produced only when scraped, from state kept elsewhere as plain
 * numbers. prom-client's registry needs no more than name, help, type and get(); its own metric
 * classes hash their labels on every inc(), which the edge's hot path cannot afford.
 */
export class CollectedMetric {
  readonly aggregator = 'sum'

  constructor(readonly name: string, readonly help: string, readonly type: MetricType, private readonly samples: () => Sample[]) {}

  get(): {name: string; help: string; type: MetricType; values: Sample[]; aggregator: string} {
    return {name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: this.aggregator}
  }

  register(registry: Registry): this {
    registry.registerMetric(this as never)
    return this
  }
}

/** Upper bounds (seconds) of the edge's request duration histogram. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** What the edge counts for one route and status class: plain numbers, updated per request. */
export class RequestSeries {
  count = 0
  sum = 0
  bytesIn = 0
  bytesOut = 0
  /** per-bucket counts (not cumulative); the last slot is +Inf */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1)

  constructor(readonly labels: Readonly<Record<string, string>>) {}

  observe(seconds: number, bytesIn: number, bytesOut: number): void {
    this.count++
    this.sum += seconds
    this.bytesIn += bytesIn
    this.bytesOut += bytesOut
    let i = 0
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++
    this.buckets[i]++
  }

  /** The histogram's samples: cumulative buckets, then sum and count. */
  histogram(name: string): Sample[] {
    const out: Sample[] = []
    let acc = 0
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      acc += this.buckets[i]
      out.push({metricName: `${name}_bucket`, labels: {...this.labels, le: DURATION_BUCKETS[i]}, value: acc})
    }
    out.push({metricName: `${name}_bucket`, labels: {...this.labels, le: '+Inf'}, value: this.count})
    out.push({metricName: `${name}_sum`, labels: this.labels, value: this.sum})
    out.push({metricName: `${name}_count`, labels: this.labels, value: this.count})
    return out
  }
}
