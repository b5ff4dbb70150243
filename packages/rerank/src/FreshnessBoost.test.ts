import { describe, expect, it } from 'vitest';
import { cand, ids, makeCtx } from '../test/fixtures.js';
import { FreshnessBoost } from './FreshnessBoost.js';

const H = 3_600_000;
const NOW = 100 * H;

describe('FreshnessBoost', () => {
  describe('rerank', () => {
    it('adds weight · 2^(−age/halfLife) and re-sorts (hand-computed)', () => {
      const cs = [cand('old', 1.0, { publishedAtMs: NOW - 48 * H }), cand('new', 0.9, { publishedAtMs: NOW }), cand('none', 0.95)];
      const fb = new FreshnessBoost({ weight: 0.2, halfLifeMs: 24 * H });
      const out = fb.rerank(makeCtx({ context: { nowMs: NOW } }), cs, 3);
      // old: 1 + 0.2/4 = 1.05 ; new: 0.9 + 0.2 = 1.1 ; none: 0.95
      expect(ids(out)).toEqual(['new', 'old', 'none']);
      expect(out.map((c) => c.score)).toEqual([1.1, 1.05, 0.95].map((x) => expect.closeTo(x, 12) as unknown as number));
    });

    it('gives no boost past maxAgeMs and clamps future timestamps to age 0', () => {
      const fb = new FreshnessBoost({ weight: 1, halfLifeMs: H, maxAgeMs: 2 * H });
      expect(fb.boostFor(3 * H)).toBe(0);
      expect(fb.boostFor(-5 * H)).toBe(1);
      expect(fb.boostFor(H)).toBeCloseTo(0.5, 12);
    });

    it('accepts a custom curve and ctx.params.freshnessWeight', () => {
      const fb = new FreshnessBoost({ weight: 1, curve: (age) => (age < H ? 1 : 0) });
      const cs = [cand('a', 1, { publishedAtMs: NOW - 2 * H }), cand('b', 0.5, { publishedAtMs: NOW })];
      const out = fb.rerank(makeCtx({ context: { nowMs: NOW }, params: { freshnessWeight: 0.4 } }), cs, 2);
      expect(ids(out)).toEqual(['a', 'b']); // b: 0.9 < 1
      expect(out[1]?.score).toBeCloseTo(0.9, 12);
    });

    it('keeps ties in input order (stable)', () => {
      // w: 0.5 + 0.5 = 1 ties with x and y and stays after them; v: 0.25 + 0.5·2^-1 = 0.5 > u 0.4.
      const cs = [
        cand('x', 1),
        cand('u', 0.4),
        cand('y', 1, { publishedAtMs: NOW - 1e9 * H }),
        cand('v', 0.25, { publishedAtMs: NOW - H }),
        cand('w', 0.5, { publishedAtMs: NOW }),
      ];
      const out = new FreshnessBoost({ weight: 0.5, halfLifeMs: H }).rerank(makeCtx({ context: { nowMs: NOW } }), cs, 5);
      expect(ids(out)).toEqual(['x', 'y', 'w', 'v', 'u']);
    });
  });
});
