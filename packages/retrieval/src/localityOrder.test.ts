import { describe, expect, it } from 'vitest';
import { clusteredItems } from '../bench/data.js';
import { expectCode, randomItems } from '../test/helpers.js';
import { localityOrder, localityOrderAsync } from './localityOrder.js';

function isPermutation(order: Uint32Array, n: number): boolean {
  if (order.length !== n) return false;
  const seen = new Uint8Array(n);
  for (const r of order) {
    if (r >= n || seen[r] === 1) return false;
    seen[r] = 1;
  }
  return true;
}

/** Positions j where the true cluster of order[j] differs from that of order[j-1]. */
function clusterChanges(order: ArrayLike<number>, clusterOf: Uint32Array): number {
  let changes = 0;
  for (let j = 1; j < order.length; j++) if (clusterOf[order[j] as number] !== clusterOf[order[j - 1] as number]) changes++;
  return changes;
}

describe('localityOrder', () => {
  // 40 clusters, items assigned to them at random: input order interleaves the clusters.
  const data = clusteredItems(4000, 16, { clusters: 40, seed: 5 });
  const n = data.ids.length;

  it('returns a permutation of the rows', () => {
    expect(isPermutation(localityOrder(data.vectors, 16), n)).toBe(true);
    expect(isPermutation(localityOrder(data.vectors, 16, 'ip', { scaffold: 0.1 }), n)).toBe(true);
  });

  it('is deterministic for a seed and depends on it', () => {
    const a = localityOrder(data.vectors, 16, 'cos', { seed: 3 });
    expect(Array.from(localityOrder(data.vectors, 16, 'cos', { seed: 3 }))).toEqual(Array.from(a));
    expect(Array.from(localityOrder(data.vectors, 16, 'cos', { seed: 4 }))).not.toEqual(Array.from(a));
  });

  it('puts vectors of one cluster next to each other (computed from the vectors alone)', () => {
    const input = Array.from({ length: n }, (_, i) => i);
    const before = clusterChanges(input, data.clusterOf);
    const after = clusterChanges(localityOrder(data.vectors, 16, 'cos', { scaffold: 0 }), data.clusterOf);
    // Input order: a change at almost every step (≈ n × (1 − Σ share²)). Locality order: at most
    // one change per group boundary plus a few impure groups. Measured ≈ 0.03 n; bound 0.1 n.
    expect(before).toBeGreaterThan(0.8 * n);
    expect(after).toBeLessThan(0.1 * n);
    // Neighbours in the order are neighbours in space: mean cosine of consecutive rows (same
    // cluster ≈ 0.73 at this noise, different clusters ≈ 0).
    const meanCos = (order: ArrayLike<number>): number => {
      let sum = 0;
      for (let j = 1; j < order.length; j++) {
        const a = (order[j] as number) * 16;
        const b = (order[j - 1] as number) * 16;
        for (let d = 0; d < 16; d++) sum += (data.vectors[a + d] as number) * (data.vectors[b + d] as number);
      }
      return sum / (order.length - 1);
    };
    expect(meanCos(input)).toBeLessThan(0.2);
    expect(meanCos(localityOrder(data.vectors, 16, 'cos', { scaffold: 0 }))).toBeGreaterThan(0.6);
  });

  it('puts a scaffold fraction (default 10 %) first and groups the rest', () => {
    const order = localityOrder(data.vectors, 16);
    expect(isPermutation(order, n)).toBe(true);
    // the scaffold (first 400) is random: a change at almost every step; the rest is grouped
    expect(clusterChanges(order.subarray(0, 400), data.clusterOf)).toBeGreaterThan(0.8 * 400);
    expect(clusterChanges(order.subarray(400), data.clusterOf)).toBeLessThan(0.1 * (n - 400));
  });

  it('handles fewer rows than centroids, one row and none', () => {
    const { vectors } = randomItems(5, 8);
    expect(isPermutation(localityOrder(vectors, 8, 'cos', { centroids: 64 }), 5)).toBe(true);
    expect(Array.from(localityOrder(vectors.slice(0, 8), 8))).toEqual([0]);
    expect(localityOrder(new Float32Array(0), 8)).toHaveLength(0);
  });

  it('gives the same order on the serving thread, yielding between slices', async () => {
    const big = clusteredItems(10_000, 16, { clusters: 50, seed: 9 });
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const a = await localityOrderAsync(big.vectors, 16);
    clearInterval(ticker);
    expect(Array.from(a)).toEqual(Array.from(localityOrder(big.vectors, 16)));
    expect(turns).toBeGreaterThan(0);
  });

  it('rejects bad input with coded errors', async () => {
    const { vectors } = randomItems(10, 8);
    const nan = vectors.slice();
    nan[13] = Number.NaN;
    await expectCode(() => localityOrder(nan, 8), 'RECSPINE_ERR_ANN_NON_FINITE');
    await expectCode(() => localityOrder(vectors.subarray(0, 75), 8), 'RECSPINE_ERR_ANN_DIMENSION');
    await expectCode(() => localityOrder(vectors, 0), 'RECSPINE_ERR_ANN_DIMENSION');
    await expectCode(() => localityOrder([1, 2] as unknown as Float32Array, 2), 'RECSPINE_ERR_ANN_DIMENSION');
    await expectCode(() => localityOrder(vectors, 8, 'cos', { centroids: 0 }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => localityOrder(vectors, 8, 'cos', { scaffold: 1.5 }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => localityOrder(vectors, 8, 'cos', { iterations: -1 }), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => localityOrder(vectors, 8, 'l2' as never), 'RECSPINE_ERR_ANN_CONFIG');
    await expectCode(() => localityOrderAsync(nan, 8), 'RECSPINE_ERR_ANN_NON_FINITE');
  });
});
