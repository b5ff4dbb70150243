import type { Candidate, ReRanker, StageContext } from '@recspine/core';
import { normaliseRelevance } from './internal/relevance.js';
import { Scratch } from './internal/scratch.js';
import { configNumber, paramNumber } from './internal/validate.js';

/** Options of {@link MmrReranker}. */
export interface MmrOptions {
  /** Stage name (metrics, logs, timings). Default `mmr`. */
  readonly name?: string;
  /**
   * The relevance/diversity trade-off λ ∈ [0, 1]: 1 = pure relevance (input order), 0 = pure
   * diversity. Default 0.7. Per request: `ctx.params.mmrLambda`.
   */
  readonly lambda?: number;
  /**
   * Embedding dimension. Default: the length of the first embedding seen in each call. Embeddings
   * of another length are treated as missing (see the class notes).
   */
  readonly dimension?: number;
}

/**
 * Maximal marginal relevance (Carbonell & Goldstein 1998) over item embeddings
 * (`candidate.meta.embedding`), cosine similarity.
 *
 * Fills the first `min(limit, n)` positions greedily with
 * `argmax_i  λ·rel(i) − (1−λ)·max_{j ∈ picked} cos(e_i, e_j)`, where `rel` is the candidate's
 * score min-max normalised over the input (so λ is scale-free). The rest of the input follows in
 * its input order as the reserve. The output is a permutation of the input; scores are untouched.
 *
 * Cost: O(n·d) to normalise embeddings into a contiguous scratch buffer, then O(limit·n·d) dot
 * products; the running max-similarity per candidate is updated incrementally, so no n×n matrix is
 * ever built. Buffers are per instance and reused (no per-request typed-array allocation).
 *
 * Candidates without an embedding (or with one of the wrong length, or all zeros) have similarity
 * 0 to everything: they compete on relevance alone. Negative cosines count as 0 (an opposite item
 * is no more "diverse" than an orthogonal one). Ties go to the earlier input position.
 *
 * @example
 * ```ts
 * const mmr = new MmrReranker({ lambda: 0.7 });
 * createRecommender({ ..., slots: { homepage: { sources, coarseKeep: 200, rerank: [mmr] } } });
 * // an experiment arm: rec.recommend({ ..., overrides: { params: { mmrLambda: 0.5 } } })
 * ```
 */
export class MmrReranker implements ReRanker {
  readonly name: string;
  private readonly lambda: number;
  private readonly dimension: number | undefined;
  private readonly scratch = new Scratch();

  constructor(options: MmrOptions = {}) {
    this.name = options.name ?? 'mmr';
    this.lambda = configNumber(options.lambda, 0.7, 'lambda', 0, 1);
    this.dimension =
      options.dimension === undefined ? undefined : configNumber(options.dimension, 0, 'dimension', 1, 1 << 16, true);
  }

  rerank(ctx: StageContext, ranked: Candidate[], limit: number): Candidate[] {
    const n = ranked.length;
    const k = Math.min(limit, n);
    if (n <= 1 || k <= 0) return ranked;
    const lambda = paramNumber(ctx, 'mmrLambda', this.lambda, 0, 1);
    if (lambda === 1) return ranked;

    let dim = this.dimension ?? 0;
    if (dim === 0) {
      for (let i = 0; i < n && dim === 0; i++) dim = (ranked[i] as Candidate).meta?.embedding?.length ?? 0;
    }
    const s = this.scratch;
    const rel = s.float64(0, n);
    const maxSim = s.float64(1, n);
    const picked = s.flags(0, n);
    const hasEmb = s.flags(1, n);
    const emb = s.float32(0, Math.max(1, n * dim));
    normaliseRelevance(ranked, n, rel);

    // Unit-normalise every embedding into one contiguous buffer (row i at i*dim).
    for (let i = 0; i < n; i++) {
      const e = (ranked[i] as Candidate).meta?.embedding;
      if (dim === 0 || e === undefined || e.length !== dim) continue;
      let ss = 0;
      for (let d = 0; d < dim; d++) {
        const v = e[d] as number;
        ss += v * v;
      }
      if (!(ss > 0) || !Number.isFinite(ss)) continue;
      const inv = 1 / Math.sqrt(ss);
      const off = i * dim;
      for (let d = 0; d < dim; d++) emb[off + d] = (e[d] as number) * inv;
      hasEmb[i] = 1;
    }
    maxSim.fill(0, 0, n);

    const out: Candidate[] = new Array<Candidate>(n);
    const w = 1 - lambda;
    for (let p = 0; p < k; p++) {
      let best = -1;
      let bestVal = -Infinity;
      for (let i = 0; i < n; i++) {
        if (picked[i] === 1) continue;
        const v = lambda * (rel[i] as number) - w * (maxSim[i] as number);
        if (v > bestVal) {
          bestVal = v;
          best = i;
        }
      }
      picked[best] = 1;
      out[p] = ranked[best] as Candidate;
      if (p + 1 === k || hasEmb[best] !== 1) {
        // An item without an embedding has similarity 0 to all: the max only moves up from 0.
        continue;
      }
      const bo = best * dim;
      for (let i = 0; i < n; i++) {
        if (picked[i] === 1 || hasEmb[i] !== 1) continue;
        const io = i * dim;
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += (emb[io + d] as number) * (emb[bo + d] as number);
        if (dot > (maxSim[i] as number)) maxSim[i] = dot;
      }
    }
    let q = k;
    for (let i = 0; i < n; i++) if (picked[i] !== 1) out[q++] = ranked[i] as Candidate;
    return out;
  }
}
