import type { SlateMetrics } from './computeSlateMetrics.js';

/**
 * Where slate metrics go, one call per response. Core's `MetricsSink` has no slate method yet;
 * until it does, implement this next to your `MetricsSink` (e.g. feed the same Prometheus registry
 * with histograms per slot). Called on the request path: keep it cheap and never throw.
 *
 * @example
 * ```ts
 * const sink: SlateMetricsSink = { slate: (slot, m) => diversity.labels(slot).observe(m.intraListDiversity ?? 0) };
 * ```
 */
export interface SlateMetricsSink {
  slate(slot: string, metrics: SlateMetrics): void;
}
