import { isRecSpineError } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { betaCredibleInterval } from './betaCredibleInterval.js';

describe('betaCredibleInterval', () => {
  it('gives the exact equal-tailed interval: Beta(2,1) 90% → [√0.05, √0.95]', () => {
    const ci = betaCredibleInterval(2, 1, 0.9);
    expect(ci.lower).toBeCloseTo(Math.sqrt(0.05), 9);
    expect(ci.upper).toBeCloseTo(Math.sqrt(0.95), 9);
  });

  it('narrows as evidence accumulates (the graduation signal)', () => {
    const w = (n: number) => {
      const ci = betaCredibleInterval(1 + 0.05 * n, 19 + 0.95 * n, 0.9);
      return ci.upper - ci.lower;
    };
    expect(w(100)).toBeGreaterThan(w(1000));
    expect(w(1000)).toBeGreaterThan(w(10_000));
    expect(w(10_000)).toBeLessThan(0.02);
  });

  it('rejects non-positive shapes and a mass outside (0, 1)', () => {
    for (const [a, b, m] of [
      [0, 1, 0.9],
      [1, -1, 0.9],
      [1, 1, 1],
    ] as const) {
      try {
        betaCredibleInterval(a, b, m);
        expect.unreachable();
      } catch (e) {
        expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_CONFIG');
      }
    }
  });
});
