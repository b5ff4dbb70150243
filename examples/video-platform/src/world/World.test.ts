import { describe, expect, it } from 'vitest';
import { isRecSpineError } from '@recspine/core';
import { examination, groundTruth, objectiveValue } from './GroundTruth.js';
import { World } from './World.js';
import { resolveWorldConfig, worldCacheKey } from './WorldConfig.js';

const cfg = resolveWorldConfig({ seed: 5, users: 300, items: 200 }, 'tiny');

describe('World', () => {
  describe('build', () => {
    it('is deterministic in its settings and differs across seeds', () => {
      const a = World.build(cfg);
      const b = World.build(cfg);
      const c = World.build({ ...cfg, seed: 6 });
      expect(b.userTaste).toEqual(a.userTaste);
      expect(b.itemTopic).toEqual(a.itemTopic);
      expect(b.itemCreator).toEqual(a.itemCreator);
      expect(c.userTaste).not.toEqual(a.userTaste);
    });
    it('has unit-norm tastes and topics and ~coldUserShare cold users', () => {
      const w = World.build(resolveWorldConfig({ seed: 1, users: 5000, items: 200 }, 'tiny'));
      for (const [v, n] of [
        [w.userTaste, 20],
        [w.itemTopic, 20],
      ] as const) {
        for (let r = 0; r < n; r++) {
          let s = 0;
          for (let d = 0; d < w.cfg.dim; d++) s += (v[r * w.cfg.dim + d] as number) ** 2;
          expect(s).toBeCloseTo(1, 4);
        }
      }
      const cold = w.userCold.reduce((a, b) => a + b, 0) / w.cfg.users;
      expect(cold).toBeGreaterThan(0.1);
      expect(cold).toBeLessThan(0.14);
    });
    it('gives creators a heavy-tailed popularity (top 1% of creators hold a large share of followers)', () => {
      const w = World.build(resolveWorldConfig({ seed: 2, users: 100, items: 20000 }, 'tiny'));
      const f = Array.from(w.creatorFollowers).sort((a, b) => b - a);
      const total = f.reduce((a, b) => a + b, 0);
      const top = f.slice(0, Math.ceil(f.length / 100)).reduce((a, b) => a + b, 0);
      expect(top / total).toBeGreaterThan(0.1);
    });
  });
  describe('eligible', () => {
    it('never allows misinformation and blocks kids-restricted items for band a0', () => {
      const w = World.build(cfg);
      for (let i = 0; i < cfg.items; i++) {
        if (w.itemMisinfo[i] === 1) expect(w.eligible(0, i)).toBe(false);
        for (let u = 0; u < 50; u++) if (w.itemKids[i] === 1 && w.userAgeBand[u] === 0) expect(w.eligible(u, i)).toBe(false);
      }
    });
  });
});

describe('groundTruth', () => {
  it('returns probabilities in (0, 1) and value = the objective of the heads', () => {
    const w = World.build(cfg);
    for (let u = 0; u < 20; u++)
      for (let i = 0; i < 20; i++) {
        const t = groundTruth(w, u, i, 3 * 86_400);
        for (const p of [t.pClick, t.watch, t.pReport, t.pSat]) {
          expect(p).toBeGreaterThan(0);
          expect(p).toBeLessThan(1);
        }
        expect(t.value).toBeCloseTo(objectiveValue(t.pClick, t.watch, t.pReport, t.pSat), 12);
      }
  });
  it('raises pClick with affinity: the best-aligned item beats the worst for a user', () => {
    const w = World.build(cfg);
    const D = cfg.dim;
    let best = 0;
    let worst = 0;
    let bs = -2;
    let ws = 2;
    for (let i = 0; i < cfg.items; i++) {
      let a = 0;
      for (let d = 0; d < D; d++) a += (w.userTaste[d] as number) * (w.itemTopic[i * D + d] as number);
      if (a > bs) [bs, best] = [a, i];
      if (a < ws) [ws, worst] = [a, i];
    }
    expect(groundTruth(w, 0, best, 0).pClick).toBeGreaterThan(groundTruth(w, 0, worst, 0).pClick);
  });
  it('has decreasing examination by position', () => {
    for (let p = 1; p < 10; p++) expect(examination(p)).toBeLessThan(examination(p - 1));
  });
});

describe('resolveWorldConfig', () => {
  it('rejects invalid settings with a coded client error naming the field', () => {
    for (const bad of [{ users: 0 }, { coldUserShare: 2 }, { dim: 1.5 }, { items: 30, slateSize: 10 }]) {
      try {
        resolveWorldConfig({ seed: 1, ...bad }, 'tiny');
        expect.unreachable();
      } catch (e) {
        expect(isRecSpineError(e)).toBe(true);
        expect(e).toMatchObject({ code: 'RECSPINE_ERR_VP_WORLD_CONFIG', category: 'client' });
      }
    }
  });
  it('keys the cache on every setting', () => {
    expect(worldCacheKey(cfg)).toBe(worldCacheKey({ ...cfg }));
    expect(worldCacheKey({ ...cfg, shift: 0.5 })).not.toBe(worldCacheKey(cfg));
  });
});
