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

/** Count and p50/p99/p999 (ms) of a histogram of µs. */
function summarise(h: Histogram): LatencySummary {
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    p999: h.getValueAtPercentile(99.9) / 1000,
  };
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
    return summarise(this[which]);
  }
}

type Pair = { readonly last: Histogram; readonly total: Histogram };
type SourceCounters = { calls: number; retrieved: number; inSlate: number; timeouts: number; errors: number; lat: Pair };

/** A sink's state in process (histograms as objects). */
interface LiveState {
  readonly windowMs: number;
  readonly stages: readonly [string, string, Pair][];
  readonly requests: readonly [string, Pair][];
  readonly sources: readonly [string, string, SourceCounters][];
  readonly timeline: readonly TierBucket[];
  readonly modes: readonly [string, number][];
  readonly breakers: readonly [string, { state: BreakerState; since: number; transitions: number }][];
}

/** A sink's state as it crosses processes: HDR histograms as compressed base64. */
export interface DashboardState {
  readonly windowMs: number;
  readonly stages: readonly [string, string, { last: string; total: string }][];
  readonly requests: readonly [string, { last: string; total: string }][];
  readonly sources: readonly [string, string, Omit<SourceCounters, 'lat'> & { lat: { total: string } }][];
  readonly timeline: readonly TierBucket[];
  readonly modes: readonly [string, number][];
  readonly breakers: readonly [string, { state: BreakerState; since: number; transitions: number }][];
}

/** Breaker states from best to worst: merging workers keeps the worst. */
export const BREAKER_RANK: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2, isolated: 3 };

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
    return DashboardSink.merge([this.live()], budgets);
  }

  /**
   * This sink's state for another process (a node:cluster worker answering the primary): the
   * histograms HDR-encoded (compressed base64), the counters as they are. {@link DashboardSink.mergeExported}
   * draws the dashboard of several workers from these.
   */
  exportState(): DashboardState {
    const enc = (r: { last: Histogram; total: Histogram }) => ({
      last: hdr.encodeIntoCompressedBase64(r.last),
      total: hdr.encodeIntoCompressedBase64(r.total),
    });
    const l = this.live();
    return {
      windowMs: this.windowMs,
      stages: l.stages.map(([slot, stage, r]) => [slot, stage, enc(r)]),
      requests: l.requests.map(([slot, r]) => [slot, enc(r)]),
      // a source's panel shows its latency since start only: its last window is not sent
      sources: l.sources.map(([slot, name, c]) => [slot, name, { ...c, lat: { total: hdr.encodeIntoCompressedBase64(c.lat.total) } }]),
      timeline: this.timeline.map((b) => ({ t: b.t, tiers: { ...b.tiers }, requests: b.requests })),
      modes: [...this.modes],
      breakers: [...this.breakerStates],
    };
  }

  /** The dashboard JSON of several workers' exported states (latencies over every worker's requests). */
  static mergeExported(
    states: readonly DashboardState[],
    budgets: Readonly<Record<string, Readonly<Record<string, number>>>>,
  ): Record<string, unknown> {
    const dec = (e: { last: string; total: string }) => ({
      last: hdr.decodeFromCompressedBase64(e.last),
      total: hdr.decodeFromCompressedBase64(e.total),
    });
    const lives: LiveState[] = states.map((st) => ({
      windowMs: st.windowMs,
      stages: st.stages.map(([slot, stage, e]) => [slot, stage, dec(e)]),
      requests: st.requests.map(([slot, e]) => [slot, dec(e)]),
      sources: st.sources.map(([slot, name, c]) => [
        slot,
        name,
        { ...c, lat: { last: newHist(), total: hdr.decodeFromCompressedBase64(c.lat.total) } },
      ]),
      timeline: st.timeline,
      modes: st.modes,
      breakers: st.breakers,
    }));
    return { ...DashboardSink.merge(lives, budgets), workers: states.length };
  }

  private live(): LiveState {
    const stages: [string, string, Pair][] = [];
    for (const [slot, m] of this.stages) for (const [stage, r] of m) stages.push([slot, stage, r]);
    const sources: [string, string, SourceCounters][] = [];
    for (const [slot, m] of this.sourcesAgg) for (const [name, c] of m) sources.push([slot, name, c]);
    return {
      windowMs: this.windowMs,
      stages,
      requests: [...this.requests],
      sources,
      timeline: this.timeline,
      modes: [...this.modes],
      breakers: [...this.breakerStates],
    };
  }

  /** Sums the states (histograms added, counters summed, timeline by second, breakers: the worst) and summarises. */
  private static merge(
    lives: readonly LiveState[],
    budgets: Readonly<Record<string, Readonly<Record<string, number>>>>,
  ): Record<string, unknown> {
    const sum = (hs: readonly { last: Histogram; total: Histogram }[]) => {
      if (hs.length === 1) return hs[0] as { last: Histogram; total: Histogram };
      const out = { last: newHist(), total: newHist() };
      for (const h of hs) {
        out.last.add(h.last);
        out.total.add(h.total);
      }
      return out;
    };
    const group = <T>(rows: Iterable<[string, T]>): Map<string, T[]> => {
      const m = new Map<string, T[]>();
      for (const [k, v] of rows) {
        const list = m.get(k);
        if (list === undefined) m.set(k, [v]);
        else list.push(v);
      }
      return m;
    };
    const stagesBy = group(
      lives.flatMap((l) =>
        l.stages.map(([slot, stage, r]): [string, [string, string, Pair]] => [`${slot}\u0000${stage}`, [slot, stage, r]]),
      ),
    );
    const requestsBy = group(lives.flatMap((l) => l.requests));
    const sourcesBy = group(
      lives.flatMap((l) =>
        l.sources.map(([slot, name, c]): [string, [string, string, SourceCounters]] => [`${slot}\u0000${name}`, [slot, name, c]]),
      ),
    );
    const slots: Record<string, { stages: Record<string, unknown>; request?: unknown; sources: Record<string, unknown> }> = {};
    const slotOf = (slot: string) => (slots[slot] ??= { stages: {}, sources: {} });
    for (const rows of stagesBy.values()) {
      const [slot, stage] = rows[0] as [string, string, Pair];
      const r = sum(rows.map((x) => x[2]));
      slotOf(slot).stages[stage] = { window: summarise(r.last), total: summarise(r.total), budgetMs: budgets[slot]?.[stage] };
    }
    for (const [slot, rows] of requestsBy) {
      const r = sum(rows);
      slotOf(slot).request = { window: summarise(r.last), total: summarise(r.total) };
    }
    for (const rows of sourcesBy.values()) {
      const [slot, name] = rows[0] as [string, string, SourceCounters];
      const cs = rows.map((x) => x[2]);
      const add = (k: 'calls' | 'retrieved' | 'inSlate' | 'timeouts' | 'errors') => cs.reduce((a, c) => a + c[k], 0);
      slotOf(slot).sources[name] = {
        calls: add('calls'),
        retrieved: add('retrieved'),
        inSlate: add('inSlate'),
        timeouts: add('timeouts'),
        errors: add('errors'),
        latency: summarise(sum(cs.map((c) => c.lat)).total),
        budgetMs: budgets[slot]?.[`source:${name}`],
      };
    }
    // The timeline by second, over every worker.
    const byT = new Map<number, TierBucket>();
    for (const l of lives)
      for (const b of l.timeline) {
        const m = byT.get(b.t) ?? { t: b.t, tiers: {}, requests: 0 };
        m.requests += b.requests;
        for (const [tier, n] of Object.entries(b.tiers)) m.tiers[tier] = (m.tiers[tier] ?? 0) + n;
        byT.set(b.t, m);
      }
    const modes = new Map<string, number>();
    for (const l of lives) for (const [k, n] of l.modes) modes.set(k, (modes.get(k) ?? 0) + n);
    const breakers = new Map<string, { state: BreakerState; since: number; transitions: number }>();
    for (const l of lives)
      for (const [dep, b] of l.breakers) {
        const prev = breakers.get(dep);
        if (prev === undefined || BREAKER_RANK[b.state] > BREAKER_RANK[prev.state])
          breakers.set(dep, { ...b, transitions: b.transitions + (prev?.transitions ?? 0) });
        else prev.transitions += b.transitions;
      }
    return {
      windowMs: lives[0]?.windowMs,
      slots,
      timeline: [...byT.values()].sort((a, b) => a.t - b.t),
      degradationModes: Object.fromEntries(modes),
      breakers: Object.fromEntries(breakers),
    };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
