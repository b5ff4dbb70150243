import type { Candidate } from '@recspine/core';

/**
 * Min-max normalises the scores of `ranked[0..n)` into `out[0..n)` ∈ [0, 1], so that a λ or a
 * penalty means the same thing whatever the ranker's score scale. All-equal scores map to 1; a
 * non-finite score maps to 0.
 */
export function normaliseRelevance(ranked: readonly Candidate[], n: number, out: Float64Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const s = (ranked[i] as Candidate).score;
    if (!Number.isFinite(s)) continue;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const span = hi - lo;
  for (let i = 0; i < n; i++) {
    const s = (ranked[i] as Candidate).score;
    out[i] = !Number.isFinite(s) ? 0 : span > 0 ? (s - lo) / span : 1;
  }
}
