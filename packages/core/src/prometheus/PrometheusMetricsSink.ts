import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client';
import type { Degradation } from '../Degradation.js';
import type { BreakerState, MetricsSink } from '../MetricsSink.js';
import type { SourceStatus, StageName } from '../RecResponse.js';

/** Options of {@link PrometheusMetricsSink}. */
export interface PrometheusSinkOptions {
  /** Registry to register on; defaults to prom-client's global registry. */
  readonly registry?: Registry;
  /** Metric name prefix. Default `recspine_`. */
  readonly prefix?: string;
  /** Histogram buckets in seconds. Defaults suit a 100 ms SLA (0.25 ms … 250 ms). */
  readonly buckets?: readonly number[];
}

const DEFAULT_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.012, 0.016, 0.025, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25];
const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2, isolated: 3 };

type Child = { observe(v: number): void };
type Inc = { inc(v?: number): void };

/** Two-level label-handle cache: no string concatenation and no allocation once warm. */
class Cache2<T> {
  private readonly m = new Map<string, Map<string, T>>();
  constructor(private readonly make: (a: string, b: string) => T) {}
  get(a: string, b: string): T {
    let inner = this.m.get(a);
    if (!inner) this.m.set(a, (inner = new Map()));
    let v = inner.get(b);
    if (v === undefined) inner.set(b, (v = this.make(a, b)));
    return v;
  }
}

/**
 * A {@link MetricsSink} on prom-client. Import it from `@recspine/core/prometheus`; prom-client is
 * an optional peer dependency, so the main entry point stays dependency-free.
 *
 * Metrics (with the default prefix):
 * - `recspine_stage_seconds{slot,stage}` histogram
 * - `recspine_request_seconds{slot,degraded}` histogram
 * - `recspine_source_seconds{slot,source}` histogram, `recspine_source_outcomes_total{slot,source,status}`
 * - `recspine_source_retrieved_total{slot,source}`, `recspine_source_in_slate_total{slot,source}`
 * - `recspine_degradations_total{slot,mode,tier}`
 * - `recspine_breaker_state{dependency}` gauge (0 closed, 1 half-open, 2 open, 3 isolated),
 *   `recspine_breaker_transitions_total{dependency,state}`
 */
export class PrometheusMetricsSink implements MetricsSink {
  private readonly stageH: Cache2<Child>;
  private readonly sourceH: Cache2<Child>;
  private readonly reqH: Cache2<Child>;
  private readonly retrievedC: Cache2<Inc>;
  private readonly inSlateC: Cache2<Inc>;
  private readonly outcomeC: Map<string, Cache2<Inc>> = new Map();
  private readonly outcomes: Counter<'slot' | 'source' | 'status'>;
  private readonly degr: Counter<'slot' | 'mode' | 'tier'>;
  private readonly breakerG: Gauge<'dependency'>;
  private readonly breakerT: Counter<'dependency' | 'state'>;

  constructor(options: PrometheusSinkOptions = {}) {
    const registers = [options.registry ?? defaultRegistry];
    const p = options.prefix ?? 'recspine_';
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)];
    const stage = new Histogram({
      name: `${p}stage_seconds`,
      help: 'Latency of one pipeline stage',
      labelNames: ['slot', 'stage'],
      buckets,
      registers,
    });
    const source = new Histogram({
      name: `${p}source_seconds`,
      help: 'Latency of one retrieval source',
      labelNames: ['slot', 'source'],
      buckets,
      registers,
    });
    const req = new Histogram({
      name: `${p}request_seconds`,
      help: 'End-to-end latency inside the SDK',
      labelNames: ['slot', 'degraded'],
      buckets,
      registers,
    });
    const retrieved = new Counter({
      name: `${p}source_retrieved_total`,
      help: 'Candidates a source retrieved',
      labelNames: ['slot', 'source'],
      registers,
    });
    const inSlate = new Counter({
      name: `${p}source_in_slate_total`,
      help: 'Slate items a source contributed',
      labelNames: ['slot', 'source'],
      registers,
    });
    this.outcomes = new Counter({
      name: `${p}source_outcomes_total`,
      help: 'Source calls by outcome',
      labelNames: ['slot', 'source', 'status'],
      registers,
    });
    this.degr = new Counter({
      name: `${p}degradations_total`,
      help: 'Degradation events by failure mode and tier',
      labelNames: ['slot', 'mode', 'tier'],
      registers,
    });
    this.breakerG = new Gauge({
      name: `${p}breaker_state`,
      help: 'Breaker state: 0 closed, 1 half-open, 2 open, 3 isolated',
      labelNames: ['dependency'],
      registers,
      // prom-client's cluster aggregation (AggregatorRegistry): the worst state of any process, not a sum
      aggregator: 'max',
    });
    this.breakerT = new Counter({
      name: `${p}breaker_transitions_total`,
      help: 'Breaker state changes',
      labelNames: ['dependency', 'state'],
      registers,
    });
    this.stageH = new Cache2((slot, st) => stage.labels({ slot, stage: st }));
    this.sourceH = new Cache2((slot, src) => source.labels({ slot, source: src }));
    this.reqH = new Cache2((slot, d) => req.labels({ slot, degraded: d }));
    this.retrievedC = new Cache2((slot, src) => retrieved.labels({ slot, source: src }));
    this.inSlateC = new Cache2((slot, src) => inSlate.labels({ slot, source: src }));
  }

  stage(slot: string, stage: StageName, ms: number): void {
    this.stageH.get(slot, stage).observe(ms / 1000);
  }

  source(slot: string, source: string, ms: number, status: SourceStatus, retrieved: number, inSlate: number): void {
    this.sourceH.get(slot, source).observe(ms / 1000);
    let byStatus = this.outcomeC.get(status);
    if (!byStatus) this.outcomeC.set(status, (byStatus = new Cache2((sl, src) => this.outcomes.labels({ slot: sl, source: src, status }))));
    byStatus.get(slot, source).inc();
    if (retrieved > 0) this.retrievedC.get(slot, source).inc(retrieved);
    if (inSlate > 0) this.inSlateC.get(slot, source).inc(inSlate);
  }

  degradation(slot: string, d: Degradation): void {
    this.degr.inc({ slot, mode: d.mode, tier: d.tier });
  }

  request(slot: string, ms: number, degraded: boolean): void {
    this.reqH.get(slot, degraded ? 'true' : 'false').observe(ms / 1000);
  }

  breaker(dependency: string, state: BreakerState): void {
    this.breakerG.set({ dependency }, BREAKER_VALUE[state]);
    this.breakerT.inc({ dependency, state });
  }
}
