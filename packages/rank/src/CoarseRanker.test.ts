import { emptyFeatureBatch } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { CoarseRanker } from './CoarseRanker.js';
import { FeatureAssembler } from './FeatureAssembler.js';
import { OnnxModel } from './OnnxModel.js';
import { buildMlp, referenceForward } from './testing/onnxModels.js';
import { makeCandidate, makeCtx } from './testing/fixtures.js';

const NOW = Date.UTC(2024, 5, 1);
const user = Float32Array.of(1, -1, 0.5);
const cands = [
  makeCandidate('a', {
    retrievalScore: 0.02,
    sources: ['twoTower', 'pop'],
    sourceScores: [0.8, 10],
    meta: { embedding: Float32Array.of(1, 0, 0), publishedAtMs: NOW - 24 * 3_600_000, attributes: { quality: 0.5 } },
  }),
  makeCandidate('b', { retrievalScore: 0.01, sources: ['pop'], sourceScores: [20], meta: { embedding: Float32Array.of(0, 1, 2) } }),
  makeCandidate('c', { retrievalScore: 0.015, sources: ['fresh'], meta: { publishedAtMs: NOW, attributes: { quality: 'high' } } }),
];
const ctx = () => makeCtx({ state: new Map([['userEmbedding', user]]), request: { context: { nowMs: NOW } } });
const empty = emptyFeatureBatch('u1', []);

describe('CoarseRanker', () => {
  describe('score', () => {
    it('combines dot product, retrieval scores and in-memory item features linearly', async () => {
      const r = new CoarseRanker({
        keep: 2,
        weights: {
          dot: 2,
          retrieval: 10,
          sourceCount: 0.1,
          sources: { pop: 0.01 },
          freshness: { weight: 1, halfLifeHours: 24 },
          attributes: { quality: 3 },
        },
      });
      const out = await r.score(ctx(), cands, empty);
      const dot = (e: number[]) => e.reduce((s, v, i) => s + v * (user[i] as number), 0);
      const want = [
        2 * dot([1, 0, 0]) + 10 * 0.02 + 0.1 * 2 + 0.01 * 10 + 1 * 0.5 + 3 * 0.5,
        2 * dot([0, 1, 2]) + 10 * 0.01 + 0.1 * 1 + 0.01 * 20,
        2 * 0 + 10 * 0.015 + 0.1 * 1 + 1 * 1,
      ];
      want.forEach((w, i) => expect(out.scores[i]).toBeCloseTo(w, 6));
    });

    it('uses missingDot when the user embedding is absent', async () => {
      const r = new CoarseRanker({ keep: 2, weights: { retrieval: 0 }, missingDot: -1 });
      const out = await r.score(makeCtx(), cands, empty);
      expect(Array.from(out.scores)).toEqual([-1, -1, -1]);
    });

    it('scores through a tiny ONNX MLP over in-memory features', async () => {
      const assembler = new FeatureAssembler({
        maxBatch: 1000,
        features: [
          { kind: 'dot', name: 'aff', a: { from: 'state', key: 'userEmbedding' }, b: { from: 'candidate', key: 'meta.embedding' } },
          { kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore', missingIndicator: false },
          { kind: 'numeric', name: 'n', from: 'candidate', key: 'sourceCount', missingIndicator: false },
        ],
      });
      const mlp = buildMlp({ inputDim: assembler.width, hidden: [8], heads: [{ name: 'score', activation: 'none' }], seed: 9 });
      const model = await OnnxModel.load(
        mlp.bytes,
        {
          inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', assembler.width] }],
          outputs: [{ name: 'score', dtype: 'float32', shape: 'perRow' }],
          maxBatch: 1000,
        },
        { version: 'coarse-1' },
      );
      const r = new CoarseRanker({ keep: 2, mlp: { model, assembler } });
      const out = await r.score(ctx(), cands, empty);
      const lease = assembler.assemble({ candidates: cands, ctx: ctx() });
      const ref = referenceForward(mlp, lease.data, 3).score as number[];
      lease.release();
      ref.forEach((v, i) => expect(out.scores[i]).toBeCloseTo(v, 5));
      expect(out.modelVersion).toBe('coarse-1');
      await model.release();
    });

    it('refuses an MLP feature spec that reads online features', async () => {
      const assembler = new FeatureAssembler({ maxBatch: 4, features: [{ kind: 'numeric', name: 'x', from: 'item', key: 'x' }] });
      const mlp = buildMlp({ inputDim: assembler.width, hidden: [], heads: [{ name: 'score', activation: 'none' }] });
      const model = await OnnxModel.load(mlp.bytes, {
        inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', assembler.width] }],
        outputs: [{ name: 'score', dtype: 'float32', shape: 'perRow' }],
        maxBatch: 4,
      });
      expect(() => new CoarseRanker({ keep: 1, mlp: { model, assembler } })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_RANK_FEATURE_SPEC' }),
      );
      await model.release();
    });
  });

  describe('setKeep', () => {
    it('changes the keep count at run time and pushes it to bound targets', () => {
      const r = new CoarseRanker({ keep: 200 });
      const seen: [string, number][] = [];
      const unbind = r.bindTo({ setCoarseKeep: (slot, k) => seen.push([slot, k]) }, ['homepage', 'search']);
      r.setKeep(120);
      expect(r.keep).toBe(120);
      unbind();
      r.setKeep(80);
      expect(seen).toEqual([
        ['homepage', 200],
        ['search', 200],
        ['homepage', 120],
        ['search', 120],
      ]);
      expect(() => r.setKeep(0)).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_CONFIG' }));
      expect(r.keep).toBe(80);
    });
  });

  describe('selectTop', () => {
    it('keeps the best `keep` candidates, best first', async () => {
      const r = new CoarseRanker({ keep: 2, weights: { dot: 0, retrieval: 1 } });
      const out = await r.score(ctx(), cands, empty);
      expect(r.selectTop(cands, out.scores).map((c) => c.itemId)).toEqual(['a', 'c']);
      r.setKeep(1);
      expect(r.selectTop(cands, out.scores).map((c) => c.itemId)).toEqual(['a']);
    });
  });
});
