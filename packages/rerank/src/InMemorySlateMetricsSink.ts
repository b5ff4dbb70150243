import type { SlateMetrics } from './computeSlateMetrics.js';
import type { SlateMetricsSink } from './SlateMetricsSink.js';

/** Running means of the slate metrics of one slot. */
export interface SlateMetricsSummary {
  readonly slates: number;
  readonly meanSize: number;
  /** Mean over the slates where it was defined; `undefined` if it never was. */
  readonly meanIntraListDiversity: number | undefined;
  readonly meanCreatorEntropy: number;
  readonly meanCategoryCoverage: number | undefined;
  readonly meanExplorationShare: number;
  /** The largest exploration share seen. */
  readonly maxExplorationShare: number;
}

interface Acc {
  n: number;
  size: number;
  ild: number;
  ildN: number;
  entropy: number;
  cov: number;
  covN: number;
  explore: number;
  maxExplore: number;
}

/**
 * A {@link SlateMetricsSink} that keeps running means per slot in memory: for tests, the demo
 * dashboard, and bench reports.
 *
 * @example
 * ```ts
 * const sink = new InMemorySlateMetricsSink();
 * // ... serve with a SlateMetricsReporter({ sink }) in the chain ...
 * sink.summary('homepage')?.meanIntraListDiversity;
 * ```
 */
export class InMemorySlateMetricsSink implements SlateMetricsSink {
  private readonly slots = new Map<string, Acc>();

  slate(slot: string, m: SlateMetrics): void {
    let a = this.slots.get(slot);
    if (a === undefined) {
      a = { n: 0, size: 0, ild: 0, ildN: 0, entropy: 0, cov: 0, covN: 0, explore: 0, maxExplore: 0 };
      this.slots.set(slot, a);
    }
    a.n++;
    a.size += m.size;
    if (m.intraListDiversity !== undefined) {
      a.ild += m.intraListDiversity;
      a.ildN++;
    }
    a.entropy += m.creatorEntropy;
    if (m.categoryCoverage !== undefined) {
      a.cov += m.categoryCoverage;
      a.covN++;
    }
    a.explore += m.explorationShare;
    if (m.explorationShare > a.maxExplore) a.maxExplore = m.explorationShare;
  }

  /** The running means of one slot, or `undefined` if it reported nothing. */
  summary(slot: string): SlateMetricsSummary | undefined {
    const a = this.slots.get(slot);
    if (a === undefined) return undefined;
    return {
      slates: a.n,
      meanSize: a.size / a.n,
      meanIntraListDiversity: a.ildN > 0 ? a.ild / a.ildN : undefined,
      meanCreatorEntropy: a.entropy / a.n,
      meanCategoryCoverage: a.covN > 0 ? a.cov / a.covN : undefined,
      meanExplorationShare: a.explore / a.n,
      maxExplorationShare: a.maxExplore,
    };
  }

  reset(): void {
    this.slots.clear();
  }
}
