import { emptyFeatureBatch, type FeatureBatch, type FeatureRow } from '@recspine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureAssembler } from './FeatureAssembler.js';
import { MultiTaskRanker } from './MultiTaskRanker.js';
import { OnnxModel } from './OnnxModel.js';
import type { OnnxModelSpec } from './OnnxModelSpec.js';
import { buildMlp, referenceForward, type MlpModel } from './testing/onnxModels.js';
import { makeCandidate, makeCtx } from './testing/fixtures.js';

const HEADS = ['ctr', 'watch', 'report', 'satisfaction'] as const;
const assembler = new FeatureAssembler({
  maxBatch: 32,
  features: [
    { kind: 'numeric', name: 'u', from: 'user', key: 'u' },
    { kind: 'numeric', name: 'x', from: 'item', key: 'x' },
    { kind: 'vector', name: 'e', from: 'item', key: 'e', dim: 3, missingIndicator: false },
    { kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore', missingIndicator: false },
  ],
});
const spec: OnnxModelSpec = {
  inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', assembler.width] }],
  outputs: HEADS.map((name) => ({ name, dtype: 'float32', shape: 'perRow' as const, range: [0, 1] as const })),
  maxBatch: 32,
};

let mlp: MlpModel;
let model: OnnxModel;

beforeAll(async () => {
  mlp = buildMlp({
    inputDim: assembler.width,
    hidden: [8, 8],
    heads: HEADS.map((name) => ({ name, activation: 'sigmoid' as const })),
    seed: 21,
  });
  model = await OnnxModel.load(mlp.bytes, spec, { version: 'mt-1' });
});
afterAll(async () => {
  await model.release();
});

function fixture(n: number): { cands: ReturnType<typeof makeCandidate>[]; feats: FeatureBatch } {
  const cands = Array.from({ length: n }, (_, i) => makeCandidate(`i${i}`, { retrievalScore: 1 / (60 + i) }));
  const items: FeatureRow[] = cands.map((_, i): FeatureRow =>
    i % 3 === 2 ? {} : { x: (i % 5) - 2, e: Float32Array.of(i / n, -i / n, 0.5) },
  );
  return { cands, feats: { userId: 'u1', itemIds: cands.map((c) => c.itemId), user: { u: 0.3 }, items, missingGroups: new Map() } };
}

/** Heads computed independently: assemble, then the JS forward pass. */
function expectedHeads(cands: ReturnType<typeof makeCandidate>[], feats: FeatureBatch): Record<string, number[]> {
  const lease = assembler.assemble({ batch: feats, candidates: cands, ctx: makeCtx() });
  const heads = referenceForward(mlp, lease.data, lease.rows);
  lease.release();
  return heads;
}

describe('MultiTaskRanker', () => {
  describe('constructor', () => {
    it('refuses a feature spec whose width differs from the model input', () => {
      const narrow = new FeatureAssembler({ maxBatch: 4, features: [{ kind: 'numeric', name: 'u', from: 'user', key: 'u' }] });
      expect(() => new MultiTaskRanker({ model, assembler: narrow, heads: { ctr: { weight: 1 } } })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_RANK_SPEC_MISMATCH' }),
      );
    });

    it('refuses heads that are not model outputs, bad transforms and non-finite weights', () => {
      expect(() => new MultiTaskRanker({ model, assembler, heads: { dwell: { weight: 1 } } })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_RANK_CONFIG' }),
      );
      expect(
        () =>
          new MultiTaskRanker({ model, assembler, heads: { ctr: { weight: 1, transform: { kind: 'isotonic', x: [1, 0], y: [0, 1] } } } }),
      ).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_CONFIG' }));
      expect(() => new MultiTaskRanker({ model, assembler, heads: { ctr: { weight: Number.NaN } } })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_RANK_WEIGHTS' }),
      );
    });
  });

  describe('score', () => {
    it('combines the heads as Σ w·transform(head) and returns every raw head and the model version', async () => {
      const ranker = new MultiTaskRanker({
        model,
        assembler,
        heads: {
          ctr: { weight: 1 },
          watch: { weight: 0.5, transform: { kind: 'log', epsilon: 1e-4 } },
          report: { weight: -3 },
          satisfaction: { weight: 0.7, transform: { kind: 'platt', a: 2, b: -0.5 } },
        },
      });
      const { cands, feats } = fixture(17);
      const out = await ranker.score(makeCtx(), cands, feats);
      const h = expectedHeads(cands, feats);
      expect(out.modelVersion).toBe('mt-1');
      for (let i = 0; i < cands.length; i++) {
        const ctr = h.ctr?.[i] as number;
        const watch = h.watch?.[i] as number;
        const report = h.report?.[i] as number;
        const sat = h.satisfaction?.[i] as number;
        const platt = 1 / (1 + Math.exp(-(2 * Math.log(sat / (1 - sat)) - 0.5)));
        const want = ctr + 0.5 * Math.log(Math.max(watch, 1e-4)) - 3 * report + 0.7 * platt;
        expect(out.scores[i]).toBeCloseTo(want, 4);
        for (const name of HEADS) expect(out.heads?.[name]?.[i]).toBeCloseTo(h[name]?.[i] as number, 5);
      }
    });

    it('applies an isotonic calibration by piecewise-linear interpolation', async () => {
      const ranker = new MultiTaskRanker({
        model,
        assembler,
        heads: { ctr: { weight: 1, transform: { kind: 'isotonic', x: [0, 0.5, 1], y: [0, 0.2, 1] } } },
      });
      const { cands, feats } = fixture(9);
      const out = await ranker.score(makeCtx(), cands, feats);
      const h = expectedHeads(cands, feats);
      h.ctr?.forEach((p, i) => expect(out.scores[i]).toBeCloseTo(p <= 0.5 ? p * 0.4 : 0.2 + (p - 0.5) * 1.6, 4));
    });

    it('changes the ordering when the weights change at run time, without reloading the model', async () => {
      const ranker = new MultiTaskRanker({ model, assembler, heads: { ctr: { weight: 1 }, report: { weight: 0 } } });
      const { cands, feats } = fixture(20);
      const h = expectedHeads(cands, feats);
      const order = (s: ArrayLike<number>) =>
        Array.from({ length: s.length }, (_, i) => i).sort((a, b) => (s[b] as number) - (s[a] as number));
      const before = await ranker.score(makeCtx(), cands, feats);
      ranker.setWeights({ ctr: 0, report: -1 });
      expect(ranker.weights).toEqual({ ctr: 0, report: -1 });
      const after = await ranker.score(makeCtx(), cands, feats);
      expect(after.modelVersion).toBe(before.modelVersion);
      h.report?.forEach((r, i) => expect(after.scores[i]).toBeCloseTo(-r, 5));
      const byCtr = Array.from({ length: 20 }, (_, i) => i).sort((a, b) => (h.ctr?.[b] as number) - (h.ctr?.[a] as number));
      const byLowReport = Array.from({ length: 20 }, (_, i) => i).sort((a, b) => (h.report?.[a] as number) - (h.report?.[b] as number));
      expect(order(before.scores)).toEqual(byCtr);
      expect(order(after.scores)).toEqual(byLowReport);
    });

    it('uses ctx.params.objectiveWeights per request, merged over the current weights', async () => {
      const ranker = new MultiTaskRanker({ model, assembler, heads: { ctr: { weight: 1 }, watch: { weight: 2 } } });
      const { cands, feats } = fixture(6);
      const h = expectedHeads(cands, feats);
      const out = await ranker.score(makeCtx({ params: { objectiveWeights: { watch: -1 } } }), cands, feats);
      h.ctr?.forEach((c, i) => expect(out.scores[i]).toBeCloseTo(c - (h.watch?.[i] as number), 5));
      expect(ranker.weights).toEqual({ ctr: 1, watch: 2 }); // the override does not stick
    });

    it('rejects invalid weights with RECSPINE_ERR_RANK_WEIGHTS and keeps the old ones', async () => {
      const ranker = new MultiTaskRanker({ model, assembler, heads: { ctr: { weight: 1 } } });
      expect(() => ranker.setWeights({ nope: 1 })).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_WEIGHTS' }));
      expect(() => ranker.setWeights({ ctr: Number.POSITIVE_INFINITY })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_RANK_WEIGHTS' }),
      );
      expect(ranker.weights).toEqual({ ctr: 1 });
      const { cands, feats } = fixture(3);
      await expect(ranker.score(makeCtx({ params: { objectiveWeights: 'ctr=1' } }), cands, feats)).rejects.toMatchObject({
        code: 'RECSPINE_ERR_RANK_WEIGHTS',
      });
    });

    it('serves defaults + missing indicators when online feature groups are missing', async () => {
      const ranker = new MultiTaskRanker({ model, assembler, heads: { ctr: { weight: 1 } } });
      const cands = [makeCandidate('a', { retrievalScore: 0.1 }), makeCandidate('b', { retrievalScore: 0.2 })];
      const out = await ranker.score(makeCtx(), cands, emptyFeatureBatch('u1', ['a', 'b']));
      const h = expectedHeads(cands, emptyFeatureBatch('u1', ['a', 'b']));
      h.ctr?.forEach((c, i) => expect(out.scores[i]).toBeCloseTo(c, 5));
      expect(ranker.stats.missingCells).toBe(2 + 2 * 2); // user u (×2 rows) + x and e per row
    });

    it('refuses a batch over maxBatch and an aborted request, with coded errors', async () => {
      const ranker = new MultiTaskRanker({ model, assembler, heads: { ctr: { weight: 1 } } });
      const big = fixture(33);
      await expect(ranker.score(makeCtx(), big.cands, big.feats)).rejects.toMatchObject({ code: 'RECSPINE_ERR_RANK_BATCH_TOO_LARGE' });
      const small = fixture(2);
      await expect(ranker.score(makeCtx({ aborted: true }), small.cands, small.feats)).rejects.toMatchObject({
        code: 'RECSPINE_ERR_DEADLINE_EXCEEDED',
      });
      const ok = await ranker.score(makeCtx(), small.cands, small.feats);
      expect(ok.scores.length).toBe(2);
    });
  });
});
