import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auc, entropy, ndcg, recall, topK } from './metrics.js';

describe('auc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 for ties', () => {
    expect(auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
  });
  it('respects the mask and is NaN with one class', () => {
    expect(auc([0.1, 0.9, 0.5], [1, 0, 1], [0, 1, 1])).toBe(0);
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
  });
  it('equals the pairwise definition (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 40 }), (rows) => {
        const s = rows.map((r) => r[0]);
        const y = rows.map((r) => (r[1] ? 1 : 0));
        let num = 0;
        let den = 0;
        for (let a = 0; a < rows.length; a++)
          for (let b = 0; b < rows.length; b++)
            if (y[a] === 1 && y[b] === 0) {
              den++;
              num += (s[a] as number) > (s[b] as number) ? 1 : s[a] === s[b] ? 0.5 : 0;
            }
        const v = auc(s, y);
        return den === 0 ? Number.isNaN(v) : Math.abs(v - num / den) < 1e-12;
      }),
    );
  });
});

describe('ndcg', () => {
  it('is 1 for the ideal order and lower otherwise', () => {
    const all = [3, 2, 1, 0];
    expect(ndcg([3, 2, 1], all, 3)).toBe(1);
    expect(ndcg([1, 2, 3], all, 3)).toBeLessThan(1);
    expect(ndcg([0, 0], [0, 0], 2)).toBe(0);
  });
});

describe('recall', () => {
  it('counts distinct hits over the relevant set', () => {
    expect(recall([1, 2, 2, 5], new Set([2, 3, 5, 7]))).toBe(0.5);
  });
});

describe('topK', () => {
  it('matches a full sort (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 200 }), fc.integer({ min: 0, max: 30 }), (xs, k) => {
        const want = xs
          .map((v, i) => [v, i] as const)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, k)
          .map((p) => p[1]);
        expect(topK(xs, k)).toEqual(want);
      }),
    );
  });
});

describe('entropy', () => {
  it('is ln(n) for a uniform distribution and 0 for one outcome', () => {
    expect(entropy([5, 5, 5, 5])).toBeCloseTo(Math.log(4), 12);
    expect(entropy([7, 0])).toBe(0);
  });
});
