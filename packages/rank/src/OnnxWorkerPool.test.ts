import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxModel } from './OnnxModel.js';
import type { OnnxModelSpec } from './OnnxModelSpec.js';
import { OnnxWorkerPool } from './OnnxWorkerPool.js';
import { buildMlp, prng, referenceForward } from './testing/onnxModels.js';

const F = 8;
const spec: OnnxModelSpec = {
  inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', F] }],
  outputs: [
    { name: 'ctr', dtype: 'float32', shape: 'perRow', range: [0, 1] },
    { name: 'watch', dtype: 'float32', shape: 'perRow' },
  ],
  maxBatch: 256,
};
const mlp = buildMlp({
  inputDim: F,
  hidden: [16, 8],
  heads: [
    { name: 'ctr', activation: 'sigmoid' },
    { name: 'watch', activation: 'relu' },
  ],
  seed: 4,
});
const rows = 50;
const x = Float32Array.from({ length: rows * F }, prng(8));
let pool: OnnxWorkerPool;

beforeAll(() => {
  pool = new OnnxWorkerPool({ size: 2 });
});
afterAll(async () => {
  await pool.close();
});

describe('OnnxWorkerPool', () => {
  describe('constructor', () => {
    it('rejects a bad size', () => {
      expect(() => new OnnxWorkerPool({ size: 0 })).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_CONFIG' }));
    });
  });

  describe('run (through OnnxModel)', () => {
    it('computes the same values off the main thread as the independent forward pass', async () => {
      const model = await OnnxModel.load(mlp.bytes, spec, { pool, version: 'p1' });
      expect(model.mode).toBe('pool');
      const ref = referenceForward(mlp, x, rows);
      const outs = await Promise.all([1, 2, 3, 4].map(() => model.run({ features: x }, rows)));
      for (const out of outs) (ref.ctr as number[]).forEach((v, i) => expect(out.ctr?.data[i]).toBeCloseTo(v, 5));
      expect(x[0]).toBe(Float32Array.from({ length: rows * F }, prng(8))[0]); // the caller's buffer is untouched
      await model.release();
    });

    it('checks spec mismatches and NaN outputs exactly as inline', async () => {
      await expect(
        OnnxModel.load(mlp.bytes, { ...spec, inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', F + 1] }] }, { pool }),
      ).rejects.toMatchObject({
        code: 'RECSPINE_ERR_RANK_SPEC_MISMATCH',
      });
      const nan = buildMlp({
        inputDim: F,
        hidden: [4],
        heads: [
          { name: 'ctr', activation: 'sigmoid' },
          { name: 'watch', activation: 'relu' },
        ],
        headBias: { ctr: Number.NaN },
      });
      const model = await OnnxModel.load(nan.bytes, spec, { pool });
      await expect(model.run({ features: x }, rows)).rejects.toMatchObject({ code: 'RECSPINE_ERR_RANK_NONFINITE_OUTPUT' });
      await model.release();
    });

    it('fails in-flight runs of a dead worker with RECSPINE_ERR_RANK_WORKER, respawns it, and keeps serving', async () => {
      const own = new OnnxWorkerPool({ size: 1 });
      const model = await OnnxModel.load(mlp.bytes, spec, { pool: own });
      const inFlight = model.run({ features: x }, rows);
      await own.recycleWorker(0);
      await expect(inFlight).rejects.toMatchObject({ code: 'RECSPINE_ERR_RANK_WORKER' });
      expect(own.restarts).toBe(1);
      const out = await model.run({ features: x }, rows);
      (referenceForward(mlp, x, rows).ctr as number[]).forEach((v, i) => expect(out.ctr?.data[i]).toBeCloseTo(v, 5));
      await own.close();
      await expect(model.run({ features: x }, rows)).rejects.toMatchObject({ code: 'RECSPINE_ERR_RANK_WORKER' });
    });
  });
});
