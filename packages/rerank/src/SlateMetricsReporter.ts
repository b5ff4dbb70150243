import type { Candidate, ReRanker, StageContext } from '@recspine/core';
import { computeSlateMetrics } from './computeSlateMetrics.js';
import { configCheck } from './internal/validate.js';
import type { SlateMetricsSink } from './SlateMetricsSink.js';

/**
 * A pass-through re-ranker, placed last in a chain, that computes {@link computeSlateMetrics} for
 * the slate the chain built (its first `limit` items, with the whole input as the coverage pool)
 * and reports it to a {@link SlateMetricsSink} under the request's slot. It returns its input
 * unchanged.
 *
 * It sees the slate before the core's final policy pass: with a {@link PolicyPrefilter} at the head
 * of the chain that pass removes nothing, so the two agree. To measure exactly the served slate,
 * call `computeSlateMetrics(response.items, { metaOf })` after `recommend` instead.
 *
 * A sink that throws is counted in `failedReports` and otherwise ignored: metrics never fail a request.
 *
 * @example
 * ```ts
 * const sink = new InMemorySlateMetricsSink();
 * rerank: [prefilter, mmr, explore, caps, new SlateMetricsReporter({ sink })]
 * ```
 */
export class SlateMetricsReporter implements ReRanker {
  readonly name: string;
  private readonly sink: SlateMetricsSink;
  private failures = 0;

  constructor(options: { readonly sink: SlateMetricsSink; readonly name?: string }) {
    configCheck(options?.sink !== null && typeof options?.sink?.slate === 'function', 'sink', 'must be a SlateMetricsSink');
    this.sink = options.sink;
    this.name = options.name ?? 'slate-metrics';
  }

  /** Reports the sink threw on. */
  get failedReports(): number {
    return this.failures;
  }

  rerank(ctx: StageContext, ranked: Candidate[], limit: number): Candidate[] {
    const slate = ranked.length <= limit ? ranked : ranked.slice(0, limit);
    try {
      this.sink.slate(ctx.request.slot, computeSlateMetrics(slate, { pool: ranked }));
    } catch {
      this.failures++;
    }
    return ranked;
  }
}
