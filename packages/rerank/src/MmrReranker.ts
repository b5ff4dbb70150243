import type { Candidate, ReRanker, StageContext } from '@recspine/core';
import { dot, inverseNorm } from './internal/dot.js';
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
 * Cost: at most O(limit·n·d)
 * for the dot products, usually far less: selection is lazy-greedy on a max-heap (a candidate's
 * max-similarity is brought up to date only when it reaches the top, since a stale value can only
 * overestimate it), which picks exactly what the eager algorithm picks. No n×n matrix is ever
 * built, no embedding is copied (inverse norms are computed once per candidate per call), and
 * buffers are per instance and reused.
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
  private readonly vecs: (Float32Array | undefined)[] = [];

  constructor(options: MmrOptions = {}) {
    this.name = options.name ?? 'mmr';
    this.lambda = configNumber(options.lambda, 0.7, 'lambda', 0, 1);
    this.dimension = options.dimension === undefined ? undefined : configNumber(options.dimension, 0, 'dimension', 1, 1 << 16, true);
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
    const inv = s.float64(3, n);
    const vecs = this.vecs;
    vecs.length = n;
    normaliseRelevance(ranked, n, rel);

    // Inverse norms are computed per request, not cached per embedding object: a catalog that
    // builds its metas per lookup (a columnar one, the only kind that fits a 1M-item catalog in the
    // heap) hands out a new view every request, so a WeakMap cache never hit, and its `set` cost more
    // than the norm it saved — 42 % of this re-ranker's CPU on a 300-candidate homepage slate (32
    // dims), and one ephemeron per candidate for the GC to trace.
    for (let i = 0; i < n; i++) {
      const e = (ranked[i] as Candidate).meta?.embedding;
      vecs[i] = e;
      if (dim === 0 || e === undefined || e.length !== dim) continue;
      const r = inverseNorm(e);
      if (r === 0) continue;
      inv[i] = r;
      hasEmb[i] = 1;
    }
    maxSim.fill(0, 0, n);
    // Lazy greedy (Minoux 1978) on a max-heap: a candidate's max-similarity is brought up to date
    // only when it reaches the top of the heap. A stale key is an upper bound of the true value
    // (maxSim only grows), so the picks are exactly those of the eager algorithm, ties included
    // (the heap orders by key, then by input position).
    const fresh = s.int32(0, n); // picks already accounted for in maxSim[i]
    fresh.fill(0, 0, n);
    const order = s.int32(1, k);
    const heap = s.int32(2, n);
    const key = s.float64(2, n);
    for (let i = 0; i < n; i++) {
      heap[i] = i;
      key[i] = lambda * (rel[i] as number);
    }
    let size = n;
    for (let h = (size >> 1) - 1; h >= 0; h--) siftDown(heap, key, h, size);

    const out: Candidate[] = new Array<Candidate>(n);
    const w = 1 - lambda;
    for (let p = 0; p < k; p++) {
      for (;;) {
        const top = heap[0] as number;
        if (fresh[top] === p) {
          picked[top] = 1;
          order[p] = top;
          out[p] = ranked[top] as Candidate;
          heap[0] = heap[--size] as number;
          siftDown(heap, key, 0, size);
          break;
        }
        if (hasEmb[top] === 1) {
          const a = vecs[top] as Float32Array;
          const ia = inv[top] as number;
          let ms = maxSim[top] as number;
          for (let t = fresh[top] as number; t < p; t++) {
            const j = order[t] as number;
            if (hasEmb[j] !== 1) continue;
            const cos = dot(a, vecs[j] as Float32Array, dim) * ia * (inv[j] as number);
            if (cos > ms) ms = cos;
          }
          maxSim[top] = ms;
        }
        fresh[top] = p;
        key[top] = lambda * (rel[top] as number) - w * (maxSim[top] as number);
        siftDown(heap, key, 0, size);
      }
    }
    let q = k;
    for (let i = 0; i < n; i++) if (picked[i] !== 1) out[q++] = ranked[i] as Candidate;
    return out;
  }
}

/** `a` ranks above `b`: larger key, then earlier input position. */
function above(key: Float64Array, a: number, b: number): boolean {
  const ka = key[a] as number;
  const kb = key[b] as number;
  return ka > kb || (ka === kb && a < b);
}

function siftDown(heap: Int32Array, key: Float64Array, from: number, size: number): void {
  let h = from;
  const item = heap[h] as number;
  for (;;) {
    const l = 2 * h + 1;
    if (l >= size) break;
    const r = l + 1;
    let c = l;
    if (r < size && above(key, heap[r] as number, heap[l] as number)) c = r;
    if (!above(key, heap[c] as number, item)) break;
    heap[h] = heap[c] as number;
    h = c;
  }
  heap[h] = item;
}
