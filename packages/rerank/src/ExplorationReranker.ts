import { isRecSpineError, type Candidate, type ReRanker, type StageContext } from '@recspine/core';
import { RerankErrors } from './errors.js';
import { credibleInterval, sampleBeta } from './internal/beta.js';
import { Rng, hashSeed } from './internal/rng.js';
import { Scratch } from './internal/scratch.js';
import { configCheck, configNumber, paramNumber } from './internal/validate.js';
import type { ItemStatsReader } from './ItemStatsReader.js';

/** The exploration policies. */
export type ExplorationPolicy = 'thompson' | 'epsilon-greedy';

/** Options of {@link ExplorationReranker}. */
export interface ExplorationOptions {
  /** Stage name. Default `explore`. */
  readonly name?: string;
  /** Default `thompson`. */
  readonly policy?: ExplorationPolicy;
  /**
   * The bound: at most `floor(fraction · min(limit, n))` slate positions are explored.
   * Default 0.1. Per request: `ctx.params.exploreFraction`.
   */
  readonly fraction?: number;
  /**
   * Epsilon-greedy only: the probability that a slate position (from `minPosition` on) is explored,
   * until the bound is reached. Default: the fraction in effect. Per request: `ctx.params.exploreEpsilon`.
   */
  readonly epsilon?: number;
  /** The streaming item counters (impressions, clicks) that give the posteriors their counts. */
  readonly stats: ItemStatsReader;
  /**
   * The content-based prior pCTR of an item ∈ (0, 1). Default: `candidate.heads?.ctr` (the fine
   * ranker's CTR head), else `defaultPriorCtr`. Pass a function reading a content-only model for a
   * prior that does not depend on the user. Values are clamped to [1e-4, 1 − 1e-4].
   */
  readonly prior?: (c: Candidate) => number | undefined;
  /** Prior pCTR when `prior` gives none. Default 0.05. */
  readonly defaultPriorCtr?: number;
  /** Pseudo-impressions the prior is worth: Beta(p·s, (1−p)·s). Default 20. */
  readonly priorStrength?: number;
  /**
   * Graduation: an item leaves the pool once its posterior's `credibleMass` credible interval is
   * narrower than this. Default 0.02.
   */
  readonly graduationWidth?: number;
  /** Probability mass of the graduation interval. Default 0.9. */
  readonly credibleMass?: number;
  /** Extra pool condition, e.g. `(c) => c.sources.includes('cold-start')`. Default: every candidate. */
  readonly eligible?: (c: Candidate) => boolean;
  /** At most this many pool candidates are considered, in input order. Default 16. */
  readonly maxPool?: number;
  /** No position before this one is explored (e.g. keep the top 2 for exploitation). Default 0. */
  readonly minPosition?: number;
  /**
   * Thompson only: Monte-Carlo resamples used to estimate each explored item's propensity. Default
   * 32 (resolution 1/33). The cost is `maxPool × (samples + 1)` Beta draws per request: ~16 × 33 at
   * the defaults, ~0.1 ms. Raise it where the propensities feed an IPS estimator that needs them finer.
   */
  readonly propensitySamples?: number;
  /** Seed of the random draws. Default 0. Per request: `ctx.params.exploreSeed`. */
  readonly seed?: number;
  /**
   * `true` (default): each request draws from `hash(seed, requestId)`, so a request replayed with
   * the same id and inputs makes the same draws whatever ran before. `false`: one stream per
   * instance, seeded once.
   */
  readonly perRequestSeed?: boolean;
}

/** A Beta posterior. */
export interface BetaPosterior {
  readonly alpha: number;
  readonly beta: number;
}

interface GradEntry {
  impressions: number;
  clicks: number;
  prior: number;
  graduated: boolean;
}

const GRAD_CACHE_MAX = 100_000;

/**
 * Exploration for cold-start items, with an explicit graduation rule based on signal confidence.
 *
 * **Pool.** Candidates beyond the slate (input positions ≥ `min(limit, n)`: items the slate would
 * not show anyway) that pass `eligible` and have not graduated, up to `maxPool` in input order.
 *
 * **Posterior.** Beta(p·s + clicks, (1−p)·s + impressions − clicks), with `p` the content-based
 * prior pCTR, `s = priorStrength`, and the counts from the streaming item counters.
 *
 * **Graduation.** An item has graduated (left the pool for good, until its counts say otherwise)
 * when the posterior's equal-tailed `credibleMass` interval is narrower than `graduationWidth`.
 * This spends impressions where they buy confidence: an item near CTR 0.5 needs about 4× the
 * impressions of one near 0.05 for the same width, which a fixed impression count cannot express.
 * Decisions are cached per item and recomputed when its counts or prior change.
 *
 * **Policies.**
 * - `thompson`: `k = min(bound, |pool|)` explore slots, spread evenly over
 *   `[minPosition, slate)`; one θ ~ posterior per pool item; the k largest θ fill the slots (largest
 *   first). Propensity = P(item among the k largest θ), estimated by Monte Carlo with
 *   `propensitySamples` resamples plus the actual draw.
 * - `epsilon-greedy`: each position from `minPosition` on is explored with probability ε (until the
 *   bound); the item is drawn uniformly from the remaining pool. Propensity = ε / |remaining pool|.
 *
 * **Output.** Explored items take their slots, marked with `explore = { policy, propensity }`
 * (the core response copies the mark onto the item for logging); the exploit items fill the
 * other slate positions in input order; the rest follows in input order as the reserve. The output
 * is a permutation of the input; scores are untouched. The exploration share of the slate never
 * exceeds `fraction`.
 *
 * **Determinism.** All draws come from a seeded xoshiro128** generator (see `perRequestSeed`).
 *
 * @example
 * ```ts
 * const explore = new ExplorationReranker({
 *   policy: 'thompson', fraction: 0.1, stats: itemCounters, graduationWidth: 0.02,
 *   eligible: (c) => c.sources.includes('cold-start'), seed: 7,
 * });
 * ```
 */
export class ExplorationReranker implements ReRanker {
  readonly name: string;
  private readonly policy: ExplorationPolicy;
  private readonly fraction: number;
  private readonly epsilon: number | undefined;
  private readonly stats: ItemStatsReader;
  private readonly prior: (c: Candidate) => number | undefined;
  private readonly defaultPrior: number;
  private readonly priorStrength: number;
  private readonly gradWidth: number;
  private readonly mass: number;
  private readonly eligible: ((c: Candidate) => boolean) | undefined;
  private readonly maxPool: number;
  private readonly minPosition: number;
  private readonly samples: number;
  private readonly seed: number;
  private readonly perRequestSeed: boolean;
  private readonly instanceRng: Rng;
  private readonly gradCache = new Map<string, GradEntry>();
  private readonly scratch = new Scratch();

  constructor(options: ExplorationOptions) {
    this.name = options.name ?? 'explore';
    this.policy = options.policy ?? 'thompson';
    configCheck(this.policy === 'thompson' || this.policy === 'epsilon-greedy', 'policy', "must be 'thompson' or 'epsilon-greedy'");
    this.fraction = configNumber(options.fraction, 0.1, 'fraction', 0, 1);
    this.epsilon = options.epsilon === undefined ? undefined : configNumber(options.epsilon, 0, 'epsilon', 0, 1);
    configCheck(
      options.stats !== null && typeof options.stats === 'object' && typeof options.stats.get === 'function',
      'stats',
      'must be an ItemStatsReader',
    );
    this.stats = options.stats;
    configCheck(options.prior === undefined || typeof options.prior === 'function', 'prior', 'must be a function');
    this.prior = options.prior ?? ((c) => c.heads?.ctr);
    this.defaultPrior = configNumber(options.defaultPriorCtr, 0.05, 'defaultPriorCtr', 1e-4, 1 - 1e-4);
    this.priorStrength = configNumber(options.priorStrength, 20, 'priorStrength', 1e-3, 1e9);
    this.gradWidth = configNumber(options.graduationWidth, 0.02, 'graduationWidth', 0, 1);
    this.mass = configNumber(options.credibleMass, 0.9, 'credibleMass', 0.5, 0.9999);
    configCheck(options.eligible === undefined || typeof options.eligible === 'function', 'eligible', 'must be a function');
    this.eligible = options.eligible;
    this.maxPool = configNumber(options.maxPool, 16, 'maxPool', 1, 100_000, true);
    this.minPosition = configNumber(options.minPosition, 0, 'minPosition', 0, 1e6, true);
    this.samples = configNumber(options.propensitySamples, 32, 'propensitySamples', 0, 1e6, true);
    this.seed = configNumber(options.seed, 0, 'seed', -(2 ** 53), 2 ** 53, true);
    this.perRequestSeed = options.perRequestSeed ?? true;
    this.instanceRng = new Rng(this.seed);
  }

  /** The item's posterior: the prior pCTR worth `priorStrength` impressions, plus its counts. */
  posterior(c: Candidate): BetaPosterior {
    const p = this.priorOf(c);
    const { impressions, clicks } = this.countsOf(c.itemId);
    return { alpha: p * this.priorStrength + clicks, beta: (1 - p) * this.priorStrength + impressions - clicks };
  }

  /** Whether the item has graduated: its posterior's credible interval is narrower than the configured width. */
  isGraduated(c: Candidate): boolean {
    const p = this.priorOf(c);
    const { impressions, clicks } = this.countsOf(c.itemId);
    const cache = this.gradCache;
    const hit = cache.get(c.itemId);
    if (hit !== undefined && hit.impressions === impressions && hit.clicks === clicks && hit.prior === p) return hit.graduated;
    const a = p * this.priorStrength + clicks;
    const b = (1 - p) * this.priorStrength + impressions - clicks;
    const ci = credibleInterval(a, b, this.mass);
    const graduated = ci.upper - ci.lower < this.gradWidth;
    if (hit !== undefined) {
      hit.impressions = impressions;
      hit.clicks = clicks;
      hit.prior = p;
      hit.graduated = graduated;
    } else {
      if (cache.size >= GRAD_CACHE_MAX) cache.clear(); // bounded; decisions are cheap to recompute
      cache.set(c.itemId, { impressions, clicks, prior: p, graduated });
    }
    return graduated;
  }

  rerank(ctx: StageContext, ranked: Candidate[], limit: number): Candidate[] {
    const n = ranked.length;
    const slate = Math.min(limit, n);
    const fraction = paramNumber(ctx, 'exploreFraction', this.fraction, 0, 1);
    const epsilon = this.policy === 'epsilon-greedy' ? paramNumber(ctx, 'exploreEpsilon', this.epsilon ?? fraction, 0, 1) : 0;
    const seedParam = ctx.params?.exploreSeed === undefined ? this.seed : paramNumber(ctx, 'exploreSeed', 0, -(2 ** 53), 2 ** 53);
    const bound = Math.floor(fraction * slate + 1e-9);
    const minPos = Math.min(this.minPosition, slate);
    const span = slate - minPos;
    if (bound === 0 || slate >= n || span <= 0) return ranked;

    // ---- pool: non-graduated eligible candidates beyond the slate ----
    const s = this.scratch;
    const pool = s.int32(0, Math.min(this.maxPool, n - slate));
    const alpha = s.float64(0, pool.length);
    const beta = s.float64(1, pool.length);
    let m = 0;
    try {
      for (let i = slate; i < n && m < this.maxPool; i++) {
        const c = ranked[i] as Candidate;
        if (this.eligible !== undefined && !this.eligible(c)) continue;
        if (this.isGraduated(c)) continue;
        const post = this.posterior(c);
        pool[m] = i;
        alpha[m] = post.alpha;
        beta[m] = post.beta;
        m++;
      }
    } catch (e) {
      if (isRecSpineError(e)) throw e;
      throw RerankErrors.create('RECSPINE_ERR_RERANK_ITEM_STATS', `item stats or pool predicate failed: ${String(e)}`, {
        stage: ctx.stage,
        cause: e,
      });
    }
    if (m === 0) return ranked;

    const rng = this.perRequestSeed || seedParam !== this.seed ? new Rng(hashSeed(seedParam, ctx.requestId)) : this.instanceRng;
    // slotPool[p] = pool index explored at slate position p, or -1.
    const slotPool = s.int32(1, slate);
    slotPool.fill(-1, 0, slate);
    const prop = s.float64(2, slate);
    if (this.policy === 'thompson') this.thompson(rng, m, Math.min(bound, m, span), minPos, span, alpha, beta, slotPool, prop);
    else this.epsilonGreedy(rng, m, bound, minPos, slate, epsilon, slotPool, prop);

    // ---- assemble: explored slots, exploit items in input order, then the reserve ----
    const used = s.flags(0, n);
    const out: Candidate[] = new Array<Candidate>(n);
    for (let p = 0; p < slate; p++) {
      const pi = slotPool[p] as number;
      if (pi >= 0) used[pool[pi] as number] = 1;
    }
    let cursor = 0;
    for (let p = 0; p < slate; p++) {
      const pi = slotPool[p] as number;
      if (pi >= 0) {
        const c = ranked[pool[pi] as number] as Candidate;
        c.explore = { policy: this.policy, propensity: prop[p] as number };
        out[p] = c;
        continue;
      }
      while (used[cursor] === 1) cursor++;
      used[cursor] = 1;
      out[p] = ranked[cursor] as Candidate;
    }
    let q = slate;
    for (let i = 0; i < n; i++) if (used[i] !== 1) out[q++] = ranked[i] as Candidate;
    return out;
  }

  private thompson(
    rng: Rng,
    m: number,
    k: number,
    minPos: number,
    span: number,
    alpha: Float64Array,
    beta: Float64Array,
    slotPool: Int32Array,
    prop: Float64Array,
  ): void {
    const s = this.scratch;
    const theta = s.float64(3, m);
    const taken = s.flags(1, m);
    const chosen = s.int32(2, k);
    for (let i = 0; i < m; i++) theta[i] = sampleBeta(rng, alpha[i] as number, beta[i] as number);
    topK(theta, m, k, taken, chosen);
    // Monte-Carlo propensity: how often each pool item lands among the k largest draws.
    const hits = s.float64(4, m);
    hits.fill(0, 0, m);
    for (let j = 0; j < k; j++) hits[chosen[j] as number] = 1; // the actual draw counts as one sample
    const scratchChosen = s.int32(3, k);
    for (let r = 0; r < this.samples; r++) {
      for (let i = 0; i < m; i++) theta[i] = sampleBeta(rng, alpha[i] as number, beta[i] as number);
      topK(theta, m, k, taken, scratchChosen);
      for (let j = 0; j < k; j++) hits[scratchChosen[j] as number] = (hits[scratchChosen[j] as number] as number) + 1;
    }
    for (let j = 0; j < k; j++) {
      const p = minPos + Math.floor(((j + 0.5) * span) / k);
      const pi = chosen[j] as number;
      slotPool[p] = pi;
      prop[p] = (hits[pi] as number) / (this.samples + 1);
    }
  }

  private epsilonGreedy(
    rng: Rng,
    m: number,
    bound: number,
    minPos: number,
    slate: number,
    epsilon: number,
    slotPool: Int32Array,
    prop: Float64Array,
  ): void {
    if (epsilon <= 0) return;
    const remaining = this.scratch.int32(4, m);
    for (let i = 0; i < m; i++) remaining[i] = i;
    let left = m;
    let explored = 0;
    for (let p = minPos; p < slate && explored < bound && left > 0; p++) {
      if (rng.float() >= epsilon) continue;
      const r = rng.int(left);
      slotPool[p] = remaining[r] as number;
      prop[p] = epsilon / left;
      remaining[r] = remaining[left - 1] as number;
      left--;
      explored++;
    }
  }

  private priorOf(c: Candidate): number {
    let p = this.prior(c);
    if (p === undefined || !Number.isFinite(p)) p = this.defaultPrior;
    return p < 1e-4 ? 1e-4 : p > 1 - 1e-4 ? 1 - 1e-4 : p;
  }

  private countsOf(itemId: string): { impressions: number; clicks: number } {
    const st = this.stats.get(itemId);
    if (st === undefined) return ZERO;
    let imp = Number.isFinite(st.impressions) && st.impressions > 0 ? st.impressions : 0;
    let clk = Number.isFinite(st.clicks) && st.clicks > 0 ? st.clicks : 0;
    if (clk > imp) imp = clk;
    if (imp === st.impressions && clk === st.clicks) return st;
    clk = Math.min(clk, imp);
    return { impressions: imp, clicks: clk };
  }
}

const ZERO = { impressions: 0, clicks: 0 } as const;

/** Indices of the k largest of `v[0..m)`, largest first, into `out` (k passes; k is small). */
function topK(v: Float64Array, m: number, k: number, taken: Uint8Array, out: Int32Array): void {
  taken.fill(0, 0, m);
  for (let j = 0; j < k; j++) {
    let best = -1;
    let bestV = -Infinity;
    for (let i = 0; i < m; i++) {
      if (taken[i] === 1) continue;
      const x = v[i] as number;
      if (x > bestV) {
        bestV = x;
        best = i;
      }
    }
    taken[best] = 1;
    out[j] = best;
  }
}
