import { describe, expect, it } from 'vitest';
import { betaCdf, betaQuantile, credibleInterval, lnGamma, sampleBeta } from './beta.js';
import { Rng } from './rng.js';

describe('beta numerics', () => {
  describe('lnGamma', () => {
    it('matches ln((n−1)!) and Γ(1/2) = √π', () => {
      expect(lnGamma(5)).toBeCloseTo(Math.log(24), 12);
      expect(lnGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    });
  });

  describe('betaCdf / betaQuantile', () => {
    it('match closed forms: Beta(1,1) uniform, Beta(2,1) = x², Beta(1,b) = 1 − (1−x)^b', () => {
      expect(betaCdf(0.3, 1, 1)).toBeCloseTo(0.3, 12);
      expect(betaCdf(0.3, 2, 1)).toBeCloseTo(0.09, 12);
      expect(betaCdf(0.1, 1, 19)).toBeCloseTo(1 - 0.9 ** 19, 12);
      expect(betaQuantile(0.95, 2, 1)).toBeCloseTo(Math.sqrt(0.95), 9);
      expect(betaQuantile(0.05, 1, 19)).toBeCloseTo(1 - 0.95 ** (1 / 19), 9);
      expect(betaQuantile(0.5, 0.5, 0.5)).toBeCloseTo(0.5, 9);
    });

    it('are inverse of each other over a grid of shapes', () => {
      for (const [a, b] of [
        [0.3, 7],
        [1.5, 40],
        [12, 300],
        [45, 45],
      ] as const) {
        for (const p of [0.01, 0.05, 0.5, 0.95, 0.99]) expect(betaCdf(betaQuantile(p, a, b), a, b)).toBeCloseTo(p, 8);
      }
    });
  });

  describe('credibleInterval', () => {
    it('is exact for small shapes: Beta(1,1) 90% → [0.05, 0.95]', () => {
      const ci = credibleInterval(1, 1, 0.9);
      expect(ci.lower).toBeCloseTo(0.05, 9);
      expect(ci.upper).toBeCloseTo(0.95, 9);
    });

    it('uses a normal approximation above the threshold whose width is within 2% of the exact one', () => {
      for (const [a, b] of [
        [50, 950],
        [80, 5000],
        [500, 500],
      ] as const) {
        const approx = credibleInterval(a, b, 0.9);
        const exact = betaQuantile(0.95, a, b) - betaQuantile(0.05, a, b);
        expect(Math.abs(approx.upper - approx.lower - exact) / exact).toBeLessThan(0.02);
      }
    });
  });

  describe('sampleBeta', () => {
    it('has the right mean and variance (seeded, so the check is deterministic)', () => {
      const rng = new Rng(42);
      for (const [a, b] of [
        [2, 5],
        [0.5, 3],
        [30, 70],
      ] as const) {
        let s = 0;
        let s2 = 0;
        const N = 20_000;
        for (let i = 0; i < N; i++) {
          const x = sampleBeta(rng, a, b);
          s += x;
          s2 += x * x;
        }
        const mean = s / N;
        const v = s2 / N - mean * mean;
        expect(mean).toBeCloseTo(a / (a + b), 2);
        const trueVar = (a * b) / ((a + b) ** 2 * (a + b + 1));
        expect(Math.abs(v - trueVar) / trueVar).toBeLessThan(0.05); // ~4 standard errors at N = 20 000
      }
    });
  });
});
