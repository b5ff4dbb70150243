import { describe, expect, it } from 'vitest';
import { InMemoryExposureStore } from './InMemoryExposureStore.js';

describe('InMemoryExposureStore', () => {
  describe('exposure', () => {
    it('decays by half every half-life and is 0 for unknown creators', () => {
      const s = new InMemoryExposureStore({ halfLifeMs: 1000 });
      s.record('c', 0, 8);
      expect(s.exposure('c', 0)).toBe(8);
      expect(s.exposure('c', 1000)).toBeCloseTo(4, 12);
      expect(s.exposure('c', 3000)).toBeCloseTo(1, 12);
      expect(s.exposure('nobody', 0)).toBe(0);
    });
  });

  describe('record', () => {
    it('adds to the decayed value', () => {
      const s = new InMemoryExposureStore({ halfLifeMs: 1000 });
      s.record('c', 0, 4);
      s.record('c', 1000); // 4 → 2, + 1
      expect(s.exposure('c', 1000)).toBeCloseTo(3, 12);
      expect(s.exposure('c', 2000)).toBeCloseTo(1.5, 12);
    });

    it('evicts the least recently recorded creator beyond maxCreators', () => {
      const s = new InMemoryExposureStore({ maxCreators: 2 });
      s.record('a', 0);
      s.record('b', 0);
      s.record('a', 1); // a is now the most recent
      s.record('c', 2);
      expect(s.size).toBe(2);
      expect(s.exposure('b', 2)).toBe(0);
      expect(s.exposure('a', 2)).toBeGreaterThan(1.9);
    });

    it('ignores non-positive or non-finite amounts', () => {
      const s = new InMemoryExposureStore();
      s.record('a', 0, -1);
      s.record('a', 0, Number.NaN);
      expect(s.size).toBe(0);
    });
  });
});
