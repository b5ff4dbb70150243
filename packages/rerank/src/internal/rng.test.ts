import { describe, expect, it } from 'vitest';
import { Rng, hashSeed } from './rng.js';

describe('Rng', () => {
  describe('float', () => {
    it('is deterministic per seed, in (0, 1), and roughly uniform', () => {
      const a = new Rng(7);
      const b = new Rng(7);
      const c = new Rng(8);
      const xs = Array.from({ length: 10_000 }, () => a.float());
      expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.float()));
      expect(xs[0]).not.toBe(c.float());
      expect(Math.min(...xs)).toBeGreaterThan(0);
      expect(Math.max(...xs)).toBeLessThan(1);
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      expect(mean).toBeCloseTo(0.5, 1);
      const deciles = new Array<number>(10).fill(0);
      for (const x of xs) deciles[Math.floor(x * 10)]!++;
      for (const d of deciles) expect(d).toBeGreaterThan(850);
    });
  });

  describe('hashSeed', () => {
    it('depends on both the seed and the key', () => {
      expect(hashSeed(1, 'r1')).toBe(hashSeed(1, 'r1'));
      expect(hashSeed(1, 'r1')).not.toBe(hashSeed(2, 'r1'));
      expect(hashSeed(1, 'r1')).not.toBe(hashSeed(1, 'r2'));
    });
  });
});
