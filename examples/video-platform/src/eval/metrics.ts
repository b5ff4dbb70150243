/**
 * Offline metrics. All are pure functions over plain arrays.
 */

/**
 * Area under the ROC curve of `scores` against binary `labels` (ties get half credit), over the
 * rows where `mask` is 1 (all rows without a mask). NaN when one class is absent.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>, mask?: ArrayLike<number>): number {
  const idx: number[] = [];
  for (let k = 0; k < scores.length; k++) if (mask === undefined || (mask[k] as number) > 0) idx.push(k);
  idx.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  let k = 0;
  while (k < idx.length) {
    let j = k;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[k] as number]) j++;
    const avgRank = (k + j) / 2 + 1;
    for (let t = k; t <= j; t++) {
      if ((labels[idx[t] as number] as number) > 0) {
        pos++;
        rankSum += avgRank;
      } else neg++;
    }
    k = j + 1;
  }
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** DCG@k of a list of gains in ranked order (log2 discount). */
export function dcg(gains: readonly number[], k: number): number {
  let s = 0;
  for (let p = 0; p < Math.min(k, gains.length); p++) s += (gains[p] as number) / Math.log2(p + 2);
  return s;
}

/**
 * NDCG@k of a ranked list: DCG of its gains over the DCG of the best `k` gains in `allGains`
 * (the ideal over everything the user could have been shown). 0 when the ideal is 0.
 */
export function ndcg(rankedGains: readonly number[], allGains: ArrayLike<number>, k: number): number {
  const top = topK(allGains, k).map((i) => allGains[i] as number);
  const ideal = dcg(top, k);
  return ideal > 0 ? dcg(rankedGains, k) / ideal : 0;
}

/** Fraction of `relevant` found in `retrieved`. NaN when `relevant` is empty. */
export function recall(retrieved: Iterable<number>, relevant: ReadonlySet<number>): number {
  if (relevant.size === 0) return Number.NaN;
  let hit = 0;
  const seen = new Set<number>();
  for (const r of retrieved) {
    if (!seen.has(r) && relevant.has(r)) hit++;
    seen.add(r);
  }
  return hit / relevant.size;
}

/** Indices of the `k` largest values, best first (ties by lower index). Filtered by `allow` if given. */
export function topK(values: ArrayLike<number>, k: number, allow?: (i: number) => boolean): number[] {
  // A bounded min-heap: O(n log k), no full sort of large catalogs.
  const heap: number[] = [];
  const less = (a: number, b: number) =>
    (values[a] as number) < (values[b] as number) || ((values[a] as number) === (values[b] as number) && a > b);
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i] as number, heap[p] as number)) break;
      [heap[i], heap[p]] = [heap[p] as number, heap[i] as number];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l] as number, heap[m] as number)) m = l;
      if (r < heap.length && less(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as number, heap[i] as number];
      i = m;
    }
  };
  for (let i = 0; i < values.length; i++) {
    if (allow !== undefined && !allow(i)) continue;
    if (heap.length < k) {
      heap.push(i);
      up(heap.length - 1);
    } else if (k > 0 && less(heap[0] as number, i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => (less(a, b) ? 1 : less(b, a) ? -1 : 0));
}

/** Shannon entropy (nats) of a count distribution. */
export function entropy(counts: Iterable<number>): number {
  let total = 0;
  const cs: number[] = [];
  for (const c of counts) {
    if (c > 0) {
      cs.push(c);
      total += c;
    }
  }
  let h = 0;
  for (const c of cs) h -= (c / total) * Math.log(c / total);
  return h;
}

/** Arithmetic mean, ignoring NaN. */
export function mean(xs: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (const x of xs) {
    if (!Number.isNaN(x)) {
      s += x;
      n++;
    }
  }
  return n > 0 ? s / n : Number.NaN;
}
