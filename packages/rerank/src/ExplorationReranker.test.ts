import { isRecSpineError, type Candidate } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { cand, ids, makeCtx } from '../test/fixtures.js';
import { ExplorationReranker, type ExplorationOptions } from './ExplorationReranker.js';
import { InMemoryItemStats } from './InMemoryItemStats.js';

/** 10 exploit items with graduated stats (e0..e9), then 5 cold pool items (p0..p4). */
function world(poolStats: Record<string, [number, number]> = {}) {
  const stats = new InMemoryItemStats();
  const cs: Candidate[] = [];
  for (let i = 0; i < 10; i++) {
    cs.push(cand(`e${i}`, 100 - i));
    stats.set(`e${i}`, { impressions: 1_000_000, clicks: 50_000 });
  }
  for (let i = 0; i < 5; i++) {
    cs.push(cand(`p${i}`, 10 - i));
    const st = poolStats[`p${i}`];
    if (st) stats.set(`p${i}`, { impressions: st[0], clicks: st[1] });
  }
  return { stats, cs };
}

const explorer = (stats: InMemoryItemStats, o: Partial<ExplorationOptions> = {}) => new ExplorationReranker({ stats, seed: 1, ...o });

describe('ExplorationReranker', () => {
  describe('isGraduated', () => {
    it('graduates on credible-interval width, not on an impression count', () => {
      const stats = new InMemoryItemStats();
      const ex = new ExplorationReranker({ stats, priorStrength: 20, graduationWidth: 0.02, credibleMass: 0.9 });
      // 1500 impressions at CTR 0.05: width ≈ 3.29·√(0.05·0.95/1520) ≈ 0.0184 < 0.02 → graduated.
      stats.set('low', { impressions: 1500, clicks: 75 });
      // 1500 impressions at CTR 0.5 (prior 0.5): width ≈ 3.29·√(0.25/1520) ≈ 0.042 → still exploring.
      stats.set('mid', { impressions: 1500, clicks: 750 });
      expect(ex.isGraduated(cand('low', 1, undefined, { heads: { ctr: 0.05 } }))).toBe(true);
      expect(ex.isGraduated(cand('mid', 1, undefined, { heads: { ctr: 0.5 } }))).toBe(false);
      expect(ex.isGraduated(cand('never-seen', 1))).toBe(false);
      // counts move → the cached decision is recomputed
      stats.set('mid', { impressions: 10_000, clicks: 5000 });
      expect(ex.isGraduated(cand('mid', 1, undefined, { heads: { ctr: 0.5 } }))).toBe(true);
    });
  });

  describe('posterior', () => {
    it('is Beta(p·s + clicks, (1−p)·s + impressions − clicks) with p from heads.ctr', () => {
      const stats = new InMemoryItemStats([['x', { impressions: 10, clicks: 2 }]]);
      const ex = new ExplorationReranker({ stats, priorStrength: 20 });
      const post = ex.posterior(cand('x', 1, undefined, { heads: { ctr: 0.1 } }));
      expect(post.alpha).toBeCloseTo(4, 12);
      expect(post.beta).toBeCloseTo(26, 12);
      // no head → defaultPriorCtr 0.05; a custom prior function wins over the head
      expect(ex.posterior(cand('x', 1)).alpha).toBeCloseTo(3, 12);
      const ex2 = new ExplorationReranker({ stats, priorStrength: 20, prior: () => 0.5 });
      expect(ex2.posterior(cand('x', 1, undefined, { heads: { ctr: 0.1 } })).alpha).toBeCloseTo(12, 12);
    });
  });

  describe('rerank', () => {
    it('thompson: fills floor(fraction·limit) evenly spread slots from the pool and marks them', () => {
      // p2 has a clearly better posterior (90 clicks / 100): Beta(91, 29) vs Beta(1, 19) for the others.
      const { stats, cs } = world({ p2: [100, 90] });
      const out = explorer(stats, { fraction: 0.2 }).rerank(makeCtx(), cs, 10);
      // 2 slots at floor(0.5·10/2) = 2 and floor(1.5·10/2) = 7
      const marked = out.map((c, p) => (c.explore ? p : -1)).filter((p) => p >= 0);
      expect(marked).toEqual([2, 7]);
      expect(out[2]?.itemId).toBe('p2');
      expect(out[2]?.explore?.policy).toBe('thompson');
      expect(out[2]?.explore?.propensity).toBe(1); // p2 wins every resample
      expect(out[7]?.itemId).toMatch(/^p[0134]$/);
      const p7 = out[7]?.explore?.propensity as number;
      expect(p7).toBeGreaterThan(0);
      expect(p7).toBeLessThan(1);
      // exploit positions keep the input order; the reserve follows in input order
      expect(ids(out).filter((id) => id.startsWith('e'))).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
      expect(ids(out.slice(0, 10)).filter((id) => id.startsWith('e'))).toHaveLength(8);
      expect(new Set(ids(out))).toEqual(new Set(ids(cs)));
    });

    it('epsilon-greedy: ε = 1 explores the first `bound` positions from minPosition with propensity ε/|pool left|', () => {
      const { stats, cs } = world();
      const out = explorer(stats, { policy: 'epsilon-greedy', fraction: 0.3, epsilon: 1, minPosition: 2 }).rerank(makeCtx(), cs, 10);
      const marks = out.map((c) => c.explore?.propensity ?? 0);
      expect(marks.slice(0, 10)).toEqual([0, 0, 1 / 5, 1 / 4, 1 / 3, 0, 0, 0, 0, 0]);
      expect(out.slice(2, 5).every((c) => c.itemId.startsWith('p') && c.explore?.policy === 'epsilon-greedy')).toBe(true);
    });

    it('epsilon-greedy with ε = 0 explores nothing', () => {
      const { stats, cs } = world();
      const out = explorer(stats, { policy: 'epsilon-greedy', fraction: 0.3, epsilon: 0 }).rerank(makeCtx(), cs, 10);
      expect(ids(out)).toEqual(ids(cs));
    });

    it('explores nothing when every pool candidate has graduated, or nothing lies beyond the slate', () => {
      const { stats, cs } = world();
      for (let i = 0; i < 5; i++) stats.set(`p${i}`, { impressions: 1_000_000, clicks: 30_000 });
      expect(ids(explorer(stats, { fraction: 0.5 }).rerank(makeCtx(), cs, 10))).toEqual(ids(cs));
      const { stats: s2, cs: c2 } = world();
      expect(
        explorer(s2, { fraction: 0.5 })
          .rerank(makeCtx(), c2, 15)
          .some((c) => c.explore),
      ).toBe(false);
    });

    it('only explores candidates that pass `eligible`', () => {
      const { stats, cs } = world();
      const out = explorer(stats, { fraction: 0.2, eligible: (c) => c.itemId === 'p4' }).rerank(makeCtx(), cs, 10);
      expect(out.filter((c) => c.explore).map((c) => c.itemId)).toEqual(['p4']);
    });

    it('is deterministic for a seed and request id, and varies across request ids', () => {
      const picks = new Set<string>();
      for (let r = 0; r < 20; r++) {
        const run = () => {
          const { stats, cs } = world();
          return explorer(stats, { fraction: 0.1 })
            .rerank(makeCtx({ requestId: `r${r}` }), cs, 10)
            .map((c) => `${c.itemId}:${c.explore?.propensity ?? '-'}`);
        };
        const a = run();
        expect(run()).toEqual(a);
        picks.add(a.slice(0, 10).join(','));
      }
      expect(picks.size).toBeGreaterThan(1);
    });

    it('reads exploreFraction and exploreSeed from ctx.params and rejects bad values', () => {
      const { stats, cs } = world();
      expect(
        explorer(stats)
          .rerank(makeCtx({ params: { exploreFraction: 0 } }), cs, 10)
          .some((c) => c.explore),
      ).toBe(false);
      const w1 = world();
      expect(
        explorer(w1.stats)
          .rerank(makeCtx({ params: { exploreFraction: 0.3 } }), w1.cs, 10)
          .filter((c) => c.explore),
      ).toHaveLength(3);
      try {
        explorer(stats).rerank(makeCtx({ params: { exploreFraction: 1.5 } }), cs, 10);
        expect.unreachable();
      } catch (e) {
        expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_PARAM');
      }
    });

    it('wraps a failing stats reader in RECSPINE_ERR_RERANK_ITEM_STATS', () => {
      const ex = new ExplorationReranker({
        stats: {
          get: () => {
            throw new Error('counters down');
          },
        },
      });
      try {
        ex.rerank(makeCtx(), world().cs, 10);
        expect.unreachable();
      } catch (e) {
        expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_ITEM_STATS');
      }
    });
  });
});
