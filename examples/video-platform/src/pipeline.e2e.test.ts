import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate } from './eval/evaluate.js';
import { DEFAULT_HOMEPAGE_QUOTAS, buildVideoRecommender } from './serving/buildVideoRecommender.js';
import type { ModelCard } from './train/ModelCard.js';
import { resolveTrainConfig, trainModels } from './train/trainModels.js';
import type { FeatureAssemblerSpec } from '@recspine/rank';
import { FeatureAssembler } from '@recspine/rank';
import { generateWorld } from './world/generateWorld.js';
import { resolveWorldConfig } from './world/WorldConfig.js';

const dataDir = mkdtempSync(join(tmpdir(), 'vp-e2e-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// The CI-sized world: generate → train → export → evaluate, end to end.
describe('video-platform pipeline (tiny world)', () => {
  it('generates, trains, exports ONNX with parity, evaluates, and caches', async () => {
    const cfg = resolveWorldConfig({ seed: 3, users: 1200, items: 600 }, 'tiny');
    const world = generateWorld(cfg, { dataDir, progress: false });
    expect(world.cached).toBe(false);
    expect(world.manifest.counts.impressions).toBeGreaterThan(10_000);
    expect(generateWorld(cfg, { dataDir, progress: false }).cached).toBe(true);

    const tc = resolveTrainConfig({ seed: 3, towerEpochs: 20, rankEpochs: 2 }, 'tiny');
    const models = await trainModels(world, tc, { progress: false });
    const mm = models.manifest;
    for (const [name, entry] of Object.entries(mm.models)) {
      expect(existsSync(join(models.dir, entry.onnx)), name).toBe(true);
      const spec = JSON.parse(readFileSync(join(models.dir, entry.featureSpec), 'utf8')) as FeatureAssemblerSpec & { width?: number };
      // Ranker specs are consumed by the rank package's FeatureAssembler as they are on disk.
      if (name === 'userTower') expect(spec.width).toBe(entry.inputWidth);
      else expect(new FeatureAssembler(spec).width).toBe(entry.inputWidth);
      const card = JSON.parse(readFileSync(join(models.dir, entry.card), 'utf8')) as ModelCard;
      expect(card.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(card.trainWindow.toIso > card.trainWindow.fromIso).toBe(true);
    }
    expect(mm.models.fine.outputs).toEqual(['ctr', 'watch', 'report', 'satisfaction', 'value']);
    expect(mm.models.coarse.outputs).toEqual(['score']);
    expect(mm.models.userTower.outputs).toEqual(['embedding']);
    expect(mm.itemEmbeddings.shape).toEqual([600, tc.embeddingDim]);
    expect((await trainModels(world, tc)).cached).toBe(true);

    const e = await evaluate(world, models, { maxUsers: 60, retrieveK: 100, progress: false });
    expect(e.evalUsers).toBe(60);
    expect(e.degradedOrderedShare).toBe(1);
    for (const v of [e.ndcg10, e.oracleNdcg10, e.popularityNdcg10, e.degradedNdcg10, e.twoTowerRecall1000, e.popularityRecall1000]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(e.portfolioRecall1000).toBeGreaterThanOrEqual(e.twoTowerRecall1000);
    // End-of-video, offline: slates for users with a history, scored on engagement and relatedness.
    const eov = e.endOfVideo;
    expect(eov.users).toBeGreaterThan(0);
    expect(eov.users).toBeLessThanOrEqual(e.evalUsers - e.coldEvalUsers);
    expect(eov.backfillK).toBe(500);
    for (const v of [eov.ndcg10, eov.relatedOnlyNdcg10, eov.relatedShare, eov.sameCategoryShare]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(eov.relatedShare).toBeGreaterThan(0.5); // the related source leads the slot
    // nearest neighbours are the most related list there is; the served slate trades some of that for the user
    expect(eov.relatedOnlyRelatedness).toBeGreaterThan(eov.relatedness);
    // Search, offline: queries built from the watched item's title, scored on matching items.
    const sq = e.search;
    expect(sq.users).toBe(eov.users);
    expect(sq.backfillK).toBe(100);
    expect(sq.matchingItems).toBeGreaterThanOrEqual(1); // the watched item's own title matches its words
    for (const v of [sq.ndcg10, sq.queryOnlyNdcg10, sq.matchShare, sq.queryOnlyMatchShare]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(sq.queryOnlyMatchShare).toBeGreaterThan(0.5); // the query source finds the matching titles
    expect(e.oracleNdcg10).toBeGreaterThan(e.popularityNdcg10);
    // Learned something: better-than-chance click AUC on the held-out window.
    expect(e.aucByHead['ctr']).toBeGreaterThan(0.55);
    expect(e.drift.promoted).toBe(true);

    // The serving module composes the three slots from the same artifacts.
    const vr = await buildVideoRecommender({
      preset: 'tiny',
      mode: 'embedded',
      worldDir: world.dir,
      modelsDir: models.dir,
      slaMs: 30_000,
      budgets: { retrieval: 10_000, coarse: 5_000, features: 5_000, fine: 5_000, rerank: 2_000 },
      seed: 1,
    });
    try {
      const kid = vr.sampleUsers.find((x) => x.context.attributes?.['kids'] === true) ?? vr.sampleUsers[0];
      const u = kid as (typeof vr.sampleUsers)[number];
      const home = await vr.recommender.recommend({ slot: 'homepage', userId: u.userId, limit: 10, context: u.context });
      expect(home.items).toHaveLength(10);
      expect(home.orderedBy).toBe('fine');
      expect(home.items[0]?.heads?.['ctr']).toBeGreaterThan(0);
      // the homepage asks each source for its quota, no more
      expect(vr.homepageQuotas).toEqual(DEFAULT_HOMEPAGE_QUOTAS);
      const q = DEFAULT_HOMEPAGE_QUOTAS;
      const quota: Record<string, number> = { 'two-tower': q.twoTower, popular: q.popular, fresh: q.fresh, 'cold-start': q.coldStart };
      expect(Object.keys(home.sources).sort()).toEqual(Object.keys(quota).sort());
      for (const [name, r] of Object.entries(home.sources)) expect(r.retrieved, name).toBeLessThanOrEqual(quota[name] as number);
      expect(home.sources['popular']?.retrieved).toBe(q.popular); // the tiny world has more than 200 popular items
      if (u.context.attributes?.['kids'] === true)
        for (const it of home.items) expect(vr.catalog.get(it.itemId)?.kidsRestricted).not.toBe(true);
      const watched = home.items[0]?.itemId as string;
      const next = await vr.recommender.recommend({
        slot: 'end-of-video',
        userId: u.userId,
        limit: 1,
        context: { ...u.context, itemId: watched },
      });
      expect(next.items).toHaveLength(1);
      expect(next.items[0]?.itemId).not.toBe(watched);
      expect(next.sources['related']?.retrieved).toBeGreaterThan(0);
      const found = await vr.recommender.recommend({
        slot: 'search',
        userId: u.userId,
        limit: 5,
        query: vr.sampleQueries[0],
        context: u.context,
      });
      expect(found.sources['query']?.retrieved).toBeGreaterThan(0);
      expect(found.items.length).toBeGreaterThan(0);
      vr.simulateOutage('ranking');
      expect((await vr.recommender.recommend({ slot: 'homepage', userId: u.userId, limit: 10, context: u.context })).orderedBy).toBe(
        'degraded',
      );
    } finally {
      await vr.close();
    }
  });
});
