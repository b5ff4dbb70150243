import type { ExploreMark } from './Candidate.js';
import type { Degradation } from './Degradation.js';

/** The stages the runner times. */
export type StageName = 'retrieval' | 'coarse' | 'features' | 'fine' | 'rerank' | 'policy';

/** One item of the slate. */
export interface RecItem {
  readonly itemId: string;
  /** 0-based position in the slate. */
  readonly position: number;
  /** Final score (after re-rank adjustments). */
  readonly score: number;
  /** Every source that returned this item (`fallback` for fallback-slate items). */
  readonly sources: readonly string[];
  /** Multi-task head predictions, when the fine ranker produced them. */
  readonly heads?: Readonly<Record<string, number>>;
  readonly coarseScore?: number;
  readonly fineScore?: number;
  /** Present on explored positions: the policy and the propensity to log. */
  readonly explore?: ExploreMark;
}

/** How a source did on this request. */
export type SourceStatus = 'ok' | 'timeout' | 'error' | 'breaker_open' | 'skipped';

/** Per-source accounting: what it retrieved and what of that reached the slate. */
export interface SourceReport {
  readonly status: SourceStatus;
  readonly retrieved: number;
  readonly inSlate: number;
  readonly ms: number;
}

/** What ordered the slate in the end. */
export type OrderedBy = 'fine' | 'degraded' | 'coarse' | 'retrieval' | 'fallback';

/** The answer to one request. */
export interface RecResponse {
  readonly requestId: string;
  readonly slot: string;
  readonly items: readonly RecItem[];
  /** Every degradation tier that was hit, with the failure mode and the stage. Empty on the happy path. */
  readonly degraded: readonly Degradation[];
  readonly timings: {
    readonly totalMs: number;
    /** Per stage, ms; a stage that did not run is absent. */
    readonly stages: Readonly<Partial<Record<StageName, number>>>;
    /** Per retrieval source, ms. */
    readonly sources: Readonly<Record<string, number>>;
  };
  readonly sources: Readonly<Record<string, SourceReport>>;
  readonly orderedBy: OrderedBy;
  /** Versions of the rankers that scored this slate (`fine`, `degraded`, `coarse`), for logging. */
  readonly modelVersions: Readonly<Record<string, string>>;
  /** Candidates after retrieval merge, after coarse trim. */
  readonly candidateCounts: { readonly retrieved: number; readonly afterCoarse: number };
  /** Experiment arm from `request.overrides.arm`, if any. */
  readonly arm?: string;
}
