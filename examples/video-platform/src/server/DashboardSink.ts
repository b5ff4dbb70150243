import * as hdr from 'hdr-histogram-js';
import type { BreakerState, Degradation, MetricsSink, SourceStatus, StageName } from '@recspine/core';

type Histogram = ReturnType<typeof hdr.build>;
const newHist = (): Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 2 });

/** Latency summary of one window, in ms. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

/** Rolling pair of histograms: the window being filled and the last complete one. */
class Rolling {
  cur = newHist();
  last = newHist();
  total = newHist();
  record(us: number): void {
    const v = Math.max(1, Math.round(us));
    this.cur.recordValue(v);
    this.total.recordValue(v);
  }
  roll(): void {
    const t = this.last;
    this.last = this.cur;
    t.reset();
    this.cur = t;
  }
  summary(which: 'last' | 'total' | 'cur'): LatencySummary {
    const h = this[which];
    return {
      count: h.totalCount,
      p50: h.getValueAtPercentile(50) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      p999: h.getValueAtPercentile(99.9) / 1000,
    };
  }
}

/** Per-second counters of degradation tiers, kept for the last `seconds`. */
interface TierBucket {
  readonly t: number;
  readonly tiers: Record<string, number>;
  requests: number;
}

/**
 * The in-process metrics sink behind the dashboard: per slot and stage HDR latency (last window
 * and since start), per-source contribution, a timeline of degradation tiers, breaker states and
 * their transitions. Runs beside the Prometheus sink through core's `TeeMetricsSink`.
 */
export class DashboardSink implements MetricsSink {
  private readonly stages = new Map<string, Map<string, Rolling>>();
  private readonly requests = new Map<string, Rolling>();
  private readonly sourcesAgg = new Map<
    string,
    Map<string, { calls: number; retrieved: number; inSlate: number; timeouts: number; errors: number; lat: Rolling }>
  >();
  private readonly timeline: TierBucket[] = [];
  private readonly breakerStates = new Map<string, { state: BreakerState; since: number; transitions: number }>();
  private readonly timer: NodeJS.Timeout;
  private readonly modes = new Map<string, number>();

  constructor(
    readonly windowMs = 5_000,
    private readonly timelineSeconds = 180,
  ) {
    this.timer = setInterval(() => this.roll(), windowMs);
    this.timer.unref();
  }

  private roll(): void {
    for (const m of this.stages.values()) for (const r of m.values()) r.roll();
    for (const r of this.requests.values()) r.roll();
    for (const m of this.sourcesAgg.values()) for (const s of m.values()) s.lat.roll();
  }

  private bucket(): TierBucket {
    const t = Math.floor(Date.now() / 1000);
    let b = this.timeline[this.timeline.length - 1];
    if (!b || b.t !== t) {
      b = { t, tiers: {}, requests: 0 };
      this.timeline.push(b);
      while (this.timeline.length > this.timelineSeconds) this.timeline.shift();
    }
    return b;
  }

  stage(slot: string, stage: StageName, ms: number): void {
    let m = this.stages.get(slot);
    if (!m) this.stages.set(slot, (m = new Map()));
    let r = m.get(stage);
    if (!r) m.set(stage, (r = new Rolling()));
    r.record(ms * 1000);
  }

  source(slot: string, source: string, ms: number, status: SourceStatus, retrieved: number, inSlate: number): void {
    let m = this.sourcesAgg.get(slot);
    if (!m) this.sourcesAgg.set(slot, (m = new Map()));
    let s = m.get(source);
    if (!s) m.set(source, (s = { calls: 0, retrieved: 0, inSlate: 0, timeouts: 0, errors: 0, lat: new Rolling() }));
    s.calls++;
    s.retrieved += retrieved;
    s.inSlate += inSlate;
    if (status === 'timeout') s.timeouts++;
    else if (status === 'error' || status === 'breaker_open') s.errors++;
    s.lat.record(ms * 1000);
  }

  degradation(_slot: string, d: Degradation): void {
    const b = this.bucket();
    b.tiers[d.tier] = (b.tiers[d.tier] ?? 0) + 1;
    const k = `${d.mode}→${d.tier}`;
    this.modes.set(k, (this.modes.get(k) ?? 0) + 1);
  }

  request(slot: string, ms: number): void {
    let r = this.requests.get(slot);
    if (!r) this.requests.set(slot, (r = new Rolling()));
    r.record(ms * 1000);
    this.bucket().requests++;
  }

  breaker(dependency: string, state: BreakerState): void {
    const prev = this.breakerStates.get(dependency);
    this.breakerStates.set(dependency, { state, since: Date.now(), transitions: (prev?.transitions ?? 0) + 1 });
  }

  /**
   * p99 of requests across slots in the current window (for the load trimmer), ms; 0 while a
   * window has too few requests to say anything (a single slow request must not trim everyone).
   */
  recentP99Ms(minCount = 50): number {
    let p = 0;
    for (const r of this.requests.values()) {
      const which = r.cur.totalCount >= minCount ? 'cur' : r.last.totalCount >= minCount ? 'last' : undefined;
      if (which) p = Math.max(p, r.summary(which).p99);
    }
    return p;
  }

  /** Forgets everything recorded so far (e.g. start-up warm-up traffic). */
  reset(): void {
    this.stages.clear();
    this.requests.clear();
    this.sourcesAgg.clear();
    this.timeline.length = 0;
    this.modes.clear();
  }

  /** Everything the dashboard draws, as JSON. */
  snapshot(budgets: Readonly<Record<string, Readonly<Record<string, number>>>>): Record<string, unknown> {
    const slots: Record<string, unknown> = {};
    for (const [slot, m] of this.stages) {
      const stages: Record<string, unknown> = {};
      for (const [stage, r] of m)
        stages[stage] = { window: r.summary('last'), total: r.summary('total'), budgetMs: budgets[slot]?.[stage] };
      const req = this.requests.get(slot);
      const srcs: Record<string, unknown> = {};
      for (const [name, s] of this.sourcesAgg.get(slot) ?? []) {
        srcs[name] = {
          calls: s.calls,
          retrieved: s.retrieved,
          inSlate: s.inSlate,
          timeouts: s.timeouts,
          errors: s.errors,
          latency: s.lat.summary('total'),
          budgetMs: budgets[slot]?.[`source:${name}`],
        };
      }
      slots[slot] = { stages, request: req ? { window: req.summary('last'), total: req.summary('total') } : undefined, sources: srcs };
    }
    return {
      windowMs: this.windowMs,
      slots,
      timeline: this.timeline,
      degradationModes: Object.fromEntries(this.modes),
      breakers: Object.fromEntries(this.breakerStates),
    };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
