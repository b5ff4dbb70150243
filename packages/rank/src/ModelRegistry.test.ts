import { describe, expect, it } from 'vitest';
import { ModelRegistry } from './ModelRegistry.js';
import type { OnnxModelSpec } from './OnnxModelSpec.js';
import { buildMlp, corruptModelBytes, prng, referenceForward } from './testing/onnxModels.js';

const F = 5;
const spec: OnnxModelSpec = {
  inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', F] }],
  outputs: [
    { name: 'ctr', dtype: 'float32', shape: 'perRow', range: [0, 1] },
    { name: 'watch', dtype: 'float32', shape: 'perRow' },
  ],
  maxBatch: 16,
};
const version = (seed: number, extra: Partial<Parameters<typeof buildMlp>[0]> = {}) =>
  buildMlp({
    inputDim: F,
    hidden: [6],
    heads: [
      { name: 'ctr', activation: 'sigmoid' },
      { name: 'watch', activation: 'relu' },
    ],
    seed,
    ...extra,
  });
const x = Float32Array.from({ length: 3 * F }, prng(3));

describe('ModelRegistry', () => {
  describe('current', () => {
    it('throws RECSPINE_ERR_RANK_NO_MODEL before the first load', () => {
      const reg = new ModelRegistry({ name: 'fine', spec });
      expect(() => reg.current()).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_NO_MODEL' }));
      expect(reg.version).toBeUndefined();
    });
  });

  describe('load', () => {
    it('hot-swaps to the new version atomically, keeps the previous one, and runs in flight finish on the old one', async () => {
      const reg = new ModelRegistry({ name: 'fine', spec });
      const v1 = version(1);
      const v2 = version(2);
      await reg.load(v1.bytes, 'v1');
      expect(reg.version).toBe('v1');
      const old = reg.current();
      const inFlight = old.run({ features: x }, 3);
      await reg.load(v2.bytes, 'v2');
      expect(reg.version).toBe('v2');
      expect(reg.previousVersion).toBe('v1');
      const oldOut = await inFlight;
      (referenceForward(v1, x, 3).ctr as number[]).forEach((v, i) => expect(oldOut.ctr?.data[i]).toBeCloseTo(v, 5));
      const newOut = await reg.current().run({ features: x }, 3);
      (referenceForward(v2, x, 3).ctr as number[]).forEach((v, i) => expect(newOut.ctr?.data[i]).toBeCloseTo(v, 5));
      expect(reg.describe().serving?.sha256).toMatch(/^[0-9a-f]{64}$/);
      await reg.close();
    });

    it('refuses a corrupt file, a missing file, a spec mismatch and a NaN-emitting model; the old version keeps serving', async () => {
      const reg = new ModelRegistry({ name: 'fine', spec });
      await reg.load(version(1).bytes, 'good');
      const serving = reg.current();
      const attempts: [Uint8Array | string, string][] = [
        [corruptModelBytes(), 'RECSPINE_ERR_RANK_MODEL_LOAD'],
        ['/no/such/model.onnx', 'RECSPINE_ERR_RANK_MODEL_LOAD'],
        [
          buildMlp({
            inputDim: F + 2,
            hidden: [4],
            heads: [
              { name: 'ctr', activation: 'sigmoid' },
              { name: 'watch', activation: 'relu' },
            ],
          }).bytes,
          'RECSPINE_ERR_RANK_SPEC_MISMATCH',
        ],
        [version(4, { headBias: { watch: Number.NaN } }).bytes, 'RECSPINE_ERR_RANK_SMOKE_TEST'],
        [
          buildMlp({
            inputDim: F,
            hidden: [],
            heads: [
              { name: 'ctr', activation: 'none' },
              { name: 'watch', activation: 'relu' },
            ],
            headBias: { ctr: 40 },
          }).bytes,
          'RECSPINE_ERR_RANK_SMOKE_TEST',
        ],
      ];
      for (const [src, code] of attempts) {
        await expect(reg.load(src, 'bad')).rejects.toMatchObject({ code });
        expect(reg.version).toBe('good');
        expect(reg.current()).toBe(serving);
        expect((await reg.current().run({ features: x }, 3)).ctr?.data.length).toBe(3);
      }
      expect(reg.previousVersion).toBeUndefined();
      await reg.close();
    });

    it('serialises concurrent loads: the last one requested serves', async () => {
      const reg = new ModelRegistry({ name: 'fine', spec });
      await Promise.all([reg.load(version(1).bytes, 'a'), reg.load(version(2).bytes, 'b'), reg.load(version(3).bytes, 'c')]);
      expect(reg.version).toBe('c');
      expect(reg.previousVersion).toBe('b');
      await reg.close();
    });

    it('smoke-tests on the caller-supplied canned batch instead of the default one', async () => {
      // relu(w·x + 0) is exactly 0 on an all-zero row, and positive on some random rows.
      const m = buildMlp({
        inputDim: F,
        hidden: [],
        heads: [
          { name: 'ctr', activation: 'sigmoid' },
          { name: 'watch', activation: 'relu' },
        ],
        headBias: { watch: 0 },
        seed: 5,
      });
      const strict: OnnxModelSpec = {
        ...spec,
        outputs: [spec.outputs[0]!, { name: 'watch', dtype: 'float32', shape: 'perRow', range: [0, 0] }],
      };
      const byDefault = new ModelRegistry({ name: 'fine', spec: strict });
      await expect(byDefault.load(m.bytes, 'v')).rejects.toMatchObject({ code: 'RECSPINE_ERR_RANK_SMOKE_TEST' });
      expect(byDefault.version).toBeUndefined();
      const canned = new ModelRegistry({ name: 'fine', spec: strict, smoke: { rows: 2, feeds: { features: new Float32Array(2 * F) } } });
      await expect(canned.load(m.bytes, 'v')).resolves.toMatchObject({ version: 'v' });
      await canned.close();
    });
  });

  describe('rollback', () => {
    it('swaps back to the previous version, and refuses when there is none', async () => {
      const reg = new ModelRegistry({ name: 'fine', spec });
      await reg.load(version(1).bytes, 'v1');
      expect(() => reg.rollback()).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_NO_MODEL' }));
      await reg.load(version(2).bytes, 'v2');
      expect(reg.rollback().version).toBe('v1');
      expect(reg.version).toBe('v1');
      expect(reg.previousVersion).toBe('v2');
      const out = await reg.current().run({ features: x }, 3);
      (referenceForward(version(1), x, 3).ctr as number[]).forEach((v, i) => expect(out.ctr?.data[i]).toBeCloseTo(v, 5));
      await reg.close();
    });
  });
});
