import type { Candidate, ReRanker, StageContext } from '@recspine/core';
import { configCheck, configNumber, paramNumber, requestNowMs } from './internal/validate.js';

/** Options of {@link FreshnessBoost}. */
export interface FreshnessBoostOptions {
  /** Stage name. Default `freshness`. */
  readonly name?: string;
  /**
   * The boost of a brand-new item, in the ranker's score units (added to `score`). Default 0.1.
   * Per request: `ctx.params.freshnessWeight`.
   */
  readonly weight?: number;
  /** Age at which the default curve's boost halves. Default 24 h. */
  readonly halfLifeMs?: number;
  /** Items older than this get no boost. Default: no cut-off. */
  readonly maxAgeMs?: number;
  /**
   * A custom curve: age in ms (≥ 0) → multiplier of `weight`, expected in [0, 1]. Default
   * `2^(−age / halfLifeMs)`. Non-finite results count as 0.
   */
  readonly curve?: (ageMs: number) => number;
  /** Clock used when the request carries no `context.nowMs`. Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * A configurable boost by item age: `score += weight · curve(age)`, with
 * `age = now − meta.publishedAtMs` (clamped at 0 for future timestamps), then a stable re-sort by
 * score. Items without `publishedAtMs` get no boost.
 *
 * It changes `score` and re-sorts, so put it **first** in a chain (before MMR, exploration and
 * caps, which keep their input order as the relevance order). The output is a permutation of the
 * input.
 *
 * @example
 * ```ts
 * // a day-old item gets +0.05, a fresh one +0.1; nothing older than a week is boosted
 * new FreshnessBoost({ weight: 0.1, halfLifeMs: 86_400_000, maxAgeMs: 7 * 86_400_000 });
 * ```
 */
export class FreshnessBoost implements ReRanker {
  readonly name: string;
  private readonly weight: number;
  private readonly maxAgeMs: number;
  private readonly curve: (ageMs: number) => number;
  private readonly clock: () => number;

  constructor(options: FreshnessBoostOptions = {}) {
    this.name = options.name ?? 'freshness';
    this.weight = configNumber(options.weight, 0.1, 'weight', -1e12, 1e12);
    const halfLife = configNumber(options.halfLifeMs, 86_400_000, 'halfLifeMs', 1, Number.MAX_SAFE_INTEGER);
    this.maxAgeMs = options.maxAgeMs === undefined ? Infinity : configNumber(options.maxAgeMs, 0, 'maxAgeMs', 0, Number.MAX_VALUE);
    configCheck(options.curve === undefined || typeof options.curve === 'function', 'curve', 'must be a function');
    const lnHalf = -Math.LN2 / halfLife;
    this.curve = options.curve ?? ((age) => Math.exp(lnHalf * age));
    this.clock = options.clock ?? Date.now;
  }

  /** The boost this booster gives an item of the given age with the configured weight. */
  boostFor(ageMs: number, weight = this.weight): number {
    const age = ageMs > 0 ? ageMs : 0;
    if (age > this.maxAgeMs) return 0;
    const f = this.curve(age);
    return Number.isFinite(f) ? weight * f : 0;
  }

  rerank(ctx: StageContext, ranked: Candidate[], _limit: number): Candidate[] {
    const weight = paramNumber(ctx, 'freshnessWeight', this.weight, -1e12, 1e12);
    if (weight === 0 || ranked.length === 0) return ranked;
    const nowMs = requestNowMs(ctx, this.clock);
    let changed = false;
    for (const c of ranked) {
      const t = c.meta?.publishedAtMs;
      if (t === undefined || !Number.isFinite(t)) continue;
      const b = this.boostFor(nowMs - t, weight);
      if (b !== 0) {
        c.score += b;
        changed = true;
      }
    }
    // Array.prototype.sort is stable (ES2019), so equal scores keep their input order.
    if (changed) ranked.sort(byScoreDesc);
    return ranked;
  }
}

function byScoreDesc(a: Candidate, b: Candidate): number {
  return b.score - a.score;
}
