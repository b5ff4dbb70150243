import { MapItemCatalog, StaticSource, createRecommender, type ItemMeta, type RecResponse } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { InMemoryExposureStore } from './InMemoryExposureStore.js';
import { InMemoryItemStats } from './InMemoryItemStats.js';
import { InMemorySlateMetricsSink } from './InMemorySlateMetricsSink.js';
import { KidsContentFilter } from './KidsContentFilter.js';
import { MisinformationFilter } from './MisinformationFilter.js';
import { RecommendedChains } from './RecommendedChains.js';
import { RegionRestrictionFilter } from './RegionRestrictionFilter.js';

const NOW = 1_700_000_000_000;

function world() {
  const metas = new Map<string, ItemMeta>();
  const main: string[] = [];
  const cold: string[] = [];
  const stats = new InMemoryItemStats();
  for (let i = 0; i < 60; i++) {
    const id = `v${i}`;
    metas.set(id, {
      creatorId: `c${i % 7}`,
      category: `cat${i % 5}`,
      publishedAtMs: NOW - i * 3_600_000,
      embedding: Float32Array.from([Math.cos(i), Math.sin(i), (i % 5) / 5]),
      misinformation: i % 11 === 3,
      kidsRestricted: i % 4 === 0,
      ...(i % 13 === 5 ? { blockedRegions: ['US'] } : {}),
    });
    if (i < 50) {
      main.push(id);
      stats.set(id, { impressions: 1_000_000, clicks: 40_000 });
    } else cold.push(id);
  }
  const policy = [new KidsContentFilter(), new RegionRestrictionFilter(), new MisinformationFilter()];
  return { metas, main, cold, stats, policy, catalog: new MapItemCatalog(metas) };
}

function creatorsOf(res: RecResponse, metas: Map<string, ItemMeta>): string[] {
  return res.items.map((it) => metas.get(it.itemId)?.creatorId as string);
}

describe('RecommendedChains', () => {
  describe('homepage', () => {
    it('serves a capped, policy-clean slate through core with a bounded, marked explored share', async () => {
      const w = world();
      const sink = new InMemorySlateMetricsSink();
      const rec = createRecommender({
        slaMs: 1000,
        budgets: { retrieval: 200, coarse: 100, features: 100, fine: 100, rerank: 200 },
        shared: { policy: w.policy, catalog: w.catalog },
        slots: {
          homepage: {
            sources: [new StaticSource('main', w.main), new StaticSource('cold-start', w.cold)],
            coarseKeep: 200,
            rerank: RecommendedChains.homepage({
              policy: w.policy,
              stats: w.stats,
              metrics: sink,
              seed: 3,
              exploreFraction: 0.2,
              exploreEligible: (c) => c.sources.includes('cold-start'),
            }),
          },
        },
      });
      const res = await rec.recommend({ slot: 'homepage', limit: 10, context: { region: 'US', nowMs: NOW } });
      expect(res.degraded).toEqual([]);
      expect(res.items).toHaveLength(10);
      for (const it of res.items) {
        const m = w.metas.get(it.itemId) as ItemMeta;
        expect(m.misinformation).toBe(false);
        expect(m.blockedRegions ?? []).not.toContain('US');
      }
      const explored = res.items.filter((it) => it.explore);
      expect(explored.length).toBeGreaterThan(0);
      expect(explored.length).toBeLessThanOrEqual(2);
      for (const it of explored) {
        expect(it.sources).toContain('cold-start');
        expect(it.explore?.propensity).toBeGreaterThan(0);
      }
      const cr = creatorsOf(res, w.metas);
      for (let p = 0; p + 4 <= cr.length; p++) expect(new Set(cr.slice(p, p + 4)).size).toBe(4);
      expect(sink.summary('homepage')?.slates).toBe(1);
    });

    it('a bad per-request parameter skips that re-ranker visibly (rerank_failed with the code)', async () => {
      const w = world();
      const rec = createRecommender({
        slaMs: 1000,
        budgets: { retrieval: 200, coarse: 100, features: 100, fine: 100, rerank: 200 },
        shared: { policy: w.policy, catalog: w.catalog },
        slots: { homepage: { sources: [new StaticSource('main', w.main)], coarseKeep: 200, rerank: RecommendedChains.homepage(w) } },
      });
      const res = await rec.recommend({
        slot: 'homepage',
        limit: 10,
        context: { region: 'US' },
        overrides: { params: { mmrLambda: 7 } },
      });
      expect(res.degraded).toEqual([
        expect.objectContaining({
          mode: 'rerank_failed',
          tier: 'skip_reranker',
          code: 'RECSPINE_ERR_RERANK_PARAM',
          stage: 'homepage/rerank/mmr',
        }),
      ]);
      expect(res.items).toHaveLength(10);
    });
  });

  describe('endOfVideo', () => {
    it('rotates creators across consecutive slates of one', async () => {
      const w = world();
      const rec = createRecommender({
        slaMs: 1000,
        budgets: { retrieval: 200, coarse: 100, features: 100, fine: 100, rerank: 200 },
        shared: { policy: w.policy, catalog: w.catalog },
        slots: {
          'end-of-video': {
            sources: [new StaticSource('main', w.main)],
            coarseKeep: 150,
            rerank: RecommendedChains.endOfVideo({ policy: w.policy, exposure: new InMemoryExposureStore(), freshness: false }),
          },
        },
      });
      const served: string[] = [];
      for (let r = 0; r < 6; r++) {
        const res = await rec.recommend({ slot: 'end-of-video', limit: 1, context: { region: 'US', nowMs: NOW } });
        expect(res.items).toHaveLength(1);
        served.push(...creatorsOf(res, w.metas));
      }
      // Without fairness the same top item (creator c1: v1 is the best allowed item) would be served 6 times.
      expect(new Set(served).size).toBeGreaterThan(2);
    });
  });

  describe('search', () => {
    it('keeps ≤ 2 items per creator in any 5 positions', async () => {
      const w = world();
      const rec = createRecommender({
        slaMs: 1000,
        budgets: { retrieval: 200, coarse: 100, features: 100, fine: 100, rerank: 200 },
        shared: { policy: w.policy, catalog: w.catalog },
        slots: { search: { sources: [new StaticSource('q', w.main)], coarseKeep: 200, rerank: RecommendedChains.search(w) } },
      });
      const res = await rec.recommend({ slot: 'search', limit: 20, query: 'x', context: { region: 'US' } });
      expect(res.items).toHaveLength(20);
      const cr = creatorsOf(res, w.metas);
      for (let p = 0; p + 5 <= cr.length; p++) {
        const counts = new Map<string, number>();
        for (const c of cr.slice(p, p + 5)) counts.set(c, (counts.get(c) ?? 0) + 1);
        expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
      }
    });
  });
});
