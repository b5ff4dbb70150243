import type { Candidate, ReRanker, StageContext } from '@recspine/core';
import { RerankErrors } from './errors.js';
import type { ExposureStore } from './ExposureStore.js';
import { normaliseRelevance } from './internal/relevance.js';
import { Scratch } from './internal/scratch.js';
import { configNumber, paramNumber, requestNowMs } from './internal/validate.js';

/** Options of {@link CreatorFairnessReranker}. */
export interface CreatorFairnessOptions {
  /** Stage name. Default `creator-fairness`. */
  readonly name?: string;
  /** Where creators' recent exposure is kept (e.g. {@link InMemoryExposureStore}). */
  readonly store: ExposureStore;
  /**
   * The largest penalty, in normalised-relevance units ∈ [0, 1]: a creator with unbounded recent
   * exposure loses up to this much. Default 0.5. Per request: `ctx.params.fairnessStrength`.
   */
  readonly strength?: number;
  /** The exposure at which the penalty reaches half of `strength`. Default 5. */
  readonly halfSaturation?: number;
  /** Only the first `consider` candidates (input order) compete for the slate. Default 50. */
  readonly consider?: number;
  /**
   * `true` (default): record one exposure per slate item's creator at re-rank time. `false`: the
   * application records real impressions into the store itself (more exact; see the README).
   */
  readonly recordOnServe?: boolean;
  /** Clock used when the request carries no `context.nowMs`. Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * Creator fairness over time, built for slates of one (end-of-video) but valid for any limit.
 *
 * Each of the first `consider` candidates gets
 * `adjusted = rel − strength · E / (E + halfSaturation)`, where `rel` is its score min-max
 * normalised over those candidates and `E` its creator's decayed recent exposure from the store.
 * The penalty is bounded (< `strength`) and saturating, so a heavily exposed creator's very best
 * item can still win against a much weaker one. Slate positions are filled greedily by `adjusted`;
 * after each pick the picked creator's `E` grows by 1 locally, which spreads creators within a
 * longer slate. The slate is followed by the rest of the input in input order (the reserve).
 * The output is a permutation of the input; scores are untouched.
 *
 * Candidates without a creator get no penalty. A store that throws fails the re-ranker with
 * `RECSPINE_ERR_RERANK_EXPOSURE_STORE` (the runner skips it for that request).
 *
 * @example
 * ```ts
 * const fair = new CreatorFairnessReranker({ store: new InMemoryExposureStore(), strength: 0.5 });
 * // end-of-video slot: { rerank: [new PolicyPrefilter(policy), fair] }, limit 1
 * ```
 */
export class CreatorFairnessReranker implements ReRanker {
  readonly name: string;
  private readonly store: ExposureStore;
  private readonly strength: number;
  private readonly halfSat: number;
  private readonly consider: number;
  private readonly recordOnServe: boolean;
  private readonly clock: () => number;
  private readonly scratch = new Scratch();
  private readonly local = new Map<string, number>();

  constructor(options: CreatorFairnessOptions) {
    this.name = options.name ?? 'creator-fairness';
    if (options.store === null || typeof options.store !== 'object') {
      throw RerankErrors.create('RECSPINE_ERR_RERANK_CONFIG', 'store must be an ExposureStore', { field: 'store' });
    }
    this.store = options.store;
    this.strength = configNumber(options.strength, 0.5, 'strength', 0, 1);
    this.halfSat = configNumber(options.halfSaturation, 5, 'halfSaturation', Number.MIN_VALUE, 1e12);
    this.consider = configNumber(options.consider, 50, 'consider', 1, 1e6, true);
    this.recordOnServe = options.recordOnServe ?? true;
    this.clock = options.clock ?? Date.now;
  }

  rerank(ctx: StageContext, ranked: Candidate[], limit: number): Candidate[] {
    const n = ranked.length;
    const m = Math.min(n, this.consider);
    const k = Math.min(limit, m);
    if (n === 0 || k <= 0) return ranked;
    const strength = paramNumber(ctx, 'fairnessStrength', this.strength, 0, 1);
    const nowMs = requestNowMs(ctx, this.clock);
    const rel = this.scratch.float64(0, m);
    const picked = this.scratch.flags(0, m);
    normaliseRelevance(ranked, m, rel);

    // Exposure per creator among the contenders, read once each.
    const local = this.local;
    local.clear();
    try {
      for (let i = 0; i < m; i++) {
        const cr = (ranked[i] as Candidate).meta?.creatorId;
        if (cr !== undefined && !local.has(cr)) {
          const e = this.store.exposure(cr, nowMs);
          local.set(cr, Number.isFinite(e) && e > 0 ? e : 0);
        }
      }
    } catch (e) {
      throw RerankErrors.create('RECSPINE_ERR_RERANK_EXPOSURE_STORE', `exposure store failed: ${String(e)}`, {
        stage: ctx.stage,
        cause: e,
      });
    }

    const out: Candidate[] = new Array<Candidate>(n);
    for (let p = 0; p < k; p++) {
      let best = -1;
      let bestVal = -Infinity;
      for (let i = 0; i < m; i++) {
        if (picked[i] === 1) continue;
        const cr = (ranked[i] as Candidate).meta?.creatorId;
        const e = cr === undefined ? 0 : (local.get(cr) as number);
        const v = (rel[i] as number) - (strength * e) / (e + this.halfSat);
        if (v > bestVal) {
          bestVal = v;
          best = i;
        }
      }
      picked[best] = 1;
      const c = ranked[best] as Candidate;
      out[p] = c;
      const cr = c.meta?.creatorId;
      if (cr !== undefined) local.set(cr, (local.get(cr) as number) + 1);
    }
    let q = k;
    for (let i = 0; i < n; i++) if (i >= m || picked[i] !== 1) out[q++] = ranked[i] as Candidate;

    if (this.recordOnServe) {
      try {
        for (let p = 0; p < k; p++) {
          const cr = (out[p] as Candidate).meta?.creatorId;
          if (cr !== undefined) this.store.record(cr, nowMs, 1);
        }
      } catch (e) {
        throw RerankErrors.create('RECSPINE_ERR_RERANK_EXPOSURE_STORE', `exposure store failed on record: ${String(e)}`, {
          stage: ctx.stage,
          cause: e,
        });
      }
    }
    return out;
  }
}
