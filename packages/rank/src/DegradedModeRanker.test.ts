import { createRecommender, StaticSource, type FeatureBatch, type FeatureFetcher, type RetrievedItem } from '@recspine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoarseRanker } from './CoarseRanker.js';
import { DegradedModeRanker } from './DegradedModeRanker.js';
import { FeatureAssembler } from './FeatureAssembler.js';
import { ModelRegistry } from './ModelRegistry.js';
import { MultiTaskRanker } from './MultiTaskRanker.js';
import type { OnnxModelSpec } from './OnnxModelSpec.js';
import { buildMlp, referenceForward } from './testing/onnxModels.js';
import { makeCandidate, makeCtx } from './testing/fixtures.js';

const HEADS = ['ctr', 'report'] as const;
const fullAssembler = new FeatureAssembler({
  maxBatch: 64,
  features: [
    { kind: 'numeric', name: 'u', from: 'user', key: 'u' },
    { kind: 'numeric', name: 'x', from: 'item', key: 'x' },
    { kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore', normalize: { kind: 'zscore', mean: 0.015, std: 0.005 } },
  ],
});
const degradedAssembler = new FeatureAssembler({
  maxBatch: 64,
  features: [
    { kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore', normalize: { kind: 'zscore', mean: 0.015, std: 0.005 } },
    { kind: 'numeric', name: 'n', from: 'candidate', key: 'sourceCount', missingIndicator: false },
    { kind: 'category', name: 'dev', from: 'context', key: 'device', vocabulary: ['ios', 'web'], encoding: 'onehot' },
  ],
});
const specFor = (width: number): OnnxModelSpec => ({
  inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', width] }],
  outputs: HEADS.map((name) => ({ name, dtype: 'float32', shape: 'perRow' as const, range: [0, 1] as const })),
  maxBatch: 64,
});
const heads = { ctr: { weight: 1 }, report: { weight: -2 } };
const fineMlp = buildMlp({
  inputDim: fullAssembler.width,
  hidden: [6],
  heads: HEADS.map((name) => ({ name, activation: 'sigmoid' as const })),
  seed: 31,
});
const degradedMlp = buildMlp({
  inputDim: degradedAssembler.width,
  hidden: [6],
  heads: HEADS.map((name) => ({ name, activation: 'sigmoid' as const })),
  seed: 32,
});
const fineReg = new ModelRegistry({ name: 'fine', spec: specFor(fullAssembler.width) });
const degradedReg = new ModelRegistry({ name: 'degraded', spec: specFor(degradedAssembler.width) });

beforeAll(async () => {
  await fineReg.load(fineMlp.bytes, 'fine-v1');
  await degradedReg.load(degradedMlp.bytes, 'degraded-v1');
});
afterAll(async () => {
  await Promise.all([fineReg.close(), degradedReg.close()]);
});

const items: RetrievedItem[] = Array.from({ length: 30 }, (_, i) => ({ itemId: `i${i}`, score: 30 - i }));

class Features implements FeatureFetcher {
  readonly name = 'store';
  healthy = true;
  calls = 0;
  async fetch(_ctx: unknown, userId: string | undefined, itemIds: readonly string[]): Promise<FeatureBatch> {
    this.calls++;
    if (!this.healthy) throw new Error('feature store down');
    return { userId, itemIds, user: { u: 1 }, items: itemIds.map((id) => ({ x: Number(id.slice(1)) / 10 })), missingGroups: new Map() };
  }
}

describe('DegradedModeRanker', () => {
  describe('constructor', () => {
    it('refuses a feature spec that reads online features', () => {
      expect(() => new DegradedModeRanker({ model: fineReg, assembler: fullAssembler, heads })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_RANK_FEATURE_SPEC' }),
      );
    });
  });

  describe('score', () => {
    it('scores from candidate and request data alone, matching the independent forward pass', async () => {
      const r = new DegradedModeRanker({ model: degradedReg, assembler: degradedAssembler, heads });
      expect(r.name).toBe('degraded');
      const cands = [makeCandidate('a', { retrievalScore: 0.02, sources: ['pop', 'fresh'] }), makeCandidate('b', { retrievalScore: 0.01 })];
      const ctx = makeCtx({ request: { context: { device: 'web' } } });
      const out = await r.score(ctx, cands, { userId: 'u1', itemIds: ['a', 'b'], user: {}, items: [{}, {}], missingGroups: new Map() });
      const lease = degradedAssembler.assemble({ candidates: cands, ctx });
      const ref = referenceForward(degradedMlp, lease.data, 2);
      lease.release();
      [0, 1].forEach((i) => expect(out.scores[i]).toBeCloseTo((ref.ctr?.[i] as number) - 2 * (ref.report?.[i] as number), 5));
      expect(out.modelVersion).toBe('degraded-v1');
    });
  });

  describe('selection by core', () => {
    it('serves the fine model when the feature store is healthy and the degraded model when it is down', async () => {
      const features = new Features();
      const fine = new MultiTaskRanker({ model: fineReg, assembler: fullAssembler, heads });
      const degraded = new DegradedModeRanker({ model: degradedReg, assembler: degradedAssembler, heads });
      const coarse = new CoarseRanker({ keep: 20, weights: { dot: 0, retrieval: 1 } });
      const rec = createRecommender({
        slaMs: 5000,
        budgets: { retrieval: 1000, coarse: 1000, features: 1000, fine: 1000, rerank: 1000 },
        shared: { features, fine, degraded, coarse },
        slots: { homepage: { sources: [new StaticSource('pop', items)], coarseKeep: 20 } },
      });
      coarse.bindTo(rec, ['homepage']);

      const ok = await rec.recommend({ slot: 'homepage', userId: 'u1', limit: 5 });
      expect(ok.orderedBy).toBe('fine');
      expect(ok.modelVersions.fine).toBe('fine-v1');
      expect(ok.items[0]?.heads).toEqual({ ctr: expect.any(Number), report: expect.any(Number) });
      expect(ok.candidateCounts.afterCoarse).toBe(20);

      features.healthy = false;
      const down = await rec.recommend({ slot: 'homepage', userId: 'u1', limit: 5, context: { device: 'ios' } });
      expect(down.orderedBy).toBe('degraded');
      expect(down.modelVersions.degraded).toBe('degraded-v1');
      expect(down.degraded).toContainEqual(expect.objectContaining({ mode: 'features_unavailable', tier: 'degraded_model' }));
      // every score is the degraded ranker's objective over its own heads
      for (const it of down.items) expect(it.score).toBeCloseTo((it.heads?.ctr as number) - 2 * (it.heads?.report as number), 5);
      expect(features.calls).toBe(2);
      const scores = down.items.map((i) => i.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);

      coarse.setKeep(10); // the load-shedding knob reaches the runner through bindTo
      const trimmed = await rec.recommend({ slot: 'homepage', userId: 'u1', limit: 5 });
      expect(trimmed.candidateCounts.afterCoarse).toBe(10);
    });
  });
});
