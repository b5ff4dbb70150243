import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluate } from './eval/evaluate.js';
import type { ModelCard } from './train/ModelCard.js';
import { resolveTrainConfig, trainModels } from './train/trainModels.js';
import type { FeatureSpec } from './train/FeatureSpec.js';
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
      const spec = JSON.parse(readFileSync(join(models.dir, entry.featureSpec), 'utf8')) as FeatureSpec;
      expect(spec.columns.length).toBe(spec.width);
      expect(spec.input).toBe('features');
      const card = JSON.parse(readFileSync(join(models.dir, entry.card), 'utf8')) as ModelCard;
      expect(card.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
      expect(card.trainWindow.toIso > card.trainWindow.fromIso).toBe(true);
    }
    expect(mm.models.fine.outputs).toEqual(['ctr', 'watch', 'report', 'satisfaction']);
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
    expect(e.oracleNdcg10).toBeGreaterThan(e.popularityNdcg10);
    // Learned something: better-than-chance click AUC on the held-out window.
    expect(e.aucByHead['ctr']).toBeGreaterThan(0.55);
    expect(e.drift.promoted).toBe(true);
  });
});
