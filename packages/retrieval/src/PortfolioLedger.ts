import type { BreakerState, Degradation, MetricsSink, SourceStatus, StageName } from '@recspine/core';
import { LogHistogram } from './internal/LogHistogram.js';

/** Accumulated figures of one source in one slot. */
export interface SourceTally {
  readonly slot: string;
  readonly source: string;
  readonly requests: number;
  readonly statuses: Readonly<Record<SourceStatus, number>>;
  /** Candidates retrieved, summed over requests. */
  readonly retrieved: number;
  /** Of those, how many reached the final slate, summed over requests. */
  readonly inSlate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

interface Acc {
  requests: number;
  statuses: Record<SourceStatus, number>;
  retrieved: number;
  inSlate: number;
  readonly hist: LogHistogram;
}

/**
 * A {@link MetricsSink} that tallies what each retrieval source did, per slot: requests, outcome
 * (ok / timeout / error / breaker_open / skipped), candidates retrieved, candidates that reached
 * the slate, and latency percentiles. The core runner reports every source of every request to its
 * sink, so plugging this in (alone or in a `TeeMetricsSink` next to Prometheus) covers every
 * source; {@link portfolioReport} turns the tallies into what each source earned.
 *
 * Recording is allocation-free after a source's first request.
 *
 * @example
 * ```ts
 * const ledger = new PortfolioLedger();
 * const rec = createRecommender({ ...config, metrics: new TeeMetricsSink([prometheus, ledger]) });
 * // later
 * console.log(formatPortfolioReport(portfolioReport(ledger, { budgetsMs: { 'two-tower': 12 } })));
 * ```
 */
export class PortfolioLedger implements MetricsSink {
  private readonly bySource = new Map<string, Map<string, Acc>>();
  private readonly slateItems = new Map<string, { requests: number; items: number }>();

  source(slot: string, source: string, ms: number, status: SourceStatus, retrieved: number, inSlate: number): void {
    let slotMap = this.bySource.get(slot);
    if (slotMap === undefined) this.bySource.set(slot, (slotMap = new Map()));
    let acc = slotMap.get(source);
    if (acc === undefined) {
      acc = {
        requests: 0,
        statuses: { ok: 0, timeout: 0, error: 0, breaker_open: 0, skipped: 0 },
        retrieved: 0,
        inSlate: 0,
        hist: new LogHistogram(),
      };
      slotMap.set(source, acc);
    }
    acc.requests++;
    acc.statuses[status] = (acc.statuses[status] ?? 0) + 1;
    acc.retrieved += retrieved;
    acc.inSlate += inSlate;
    if (status !== 'skipped' && status !== 'breaker_open') acc.hist.record(ms);
  }

  request(slot: string, _ms: number, _degraded: boolean, items: number): void {
    let s = this.slateItems.get(slot);
    if (s === undefined) this.slateItems.set(slot, (s = { requests: 0, items: 0 }));
    s.requests++;
    s.items += items;
  }

  stage(_slot: string, _stage: StageName, _ms: number): void {}
  degradation(_slot: string, _d: Degradation): void {}
  breaker(_dependency: string, _state: BreakerState): void {}

  /** Slate items served per slot (summed over requests). */
  slate(slot: string): { requests: number; items: number } {
    return { ...(this.slateItems.get(slot) ?? { requests: 0, items: 0 }) };
  }

  tallies(): SourceTally[] {
    const out: SourceTally[] = [];
    for (const [slot, m] of this.bySource) {
      for (const [source, a] of m) {
        out.push({
          slot,
          source,
          requests: a.requests,
          statuses: { ...a.statuses },
          retrieved: a.retrieved,
          inSlate: a.inSlate,
          p50Ms: a.hist.percentile(50),
          p99Ms: a.hist.percentile(99),
          maxMs: a.hist.max,
        });
      }
    }
    return out;
  }

  reset(): void {
    this.bySource.clear();
    this.slateItems.clear();
  }
}
