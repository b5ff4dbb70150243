import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxModel } from './OnnxModel.js';
import type { OnnxModelSpec } from './OnnxModelSpec.js';
import { buildMlp, corruptModelBytes, prng, referenceForward } from './testing/onnxModels.js';

const HEADS = ['ctr', 'watch', 'report', 'satisfaction'] as const;
const F = 6;

function spec(over: Partial<OnnxModelSpec> = {}): OnnxModelSpec {
  return {
    inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', F] }],
    outputs: HEADS.map((name) => ({ name, dtype: 'float32', shape: 'perRow' as const })),
    maxBatch: 64,
    ...over,
  };
}

function mlp(seed = 1, extra: Partial<Parameters<typeof buildMlp>[0]> = {}) {
  return buildMlp({ inputDim: F, hidden: [8, 4], heads: HEADS.map((name) => ({ name, activation: 'sigmoid' as const })), seed, ...extra });
}

function randomRows(rows: number, seed = 7): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: rows * F }, () => r() * 4 - 2);
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

describe('OnnxModel', () => {
  describe('load', () => {
    it('loads from a buffer and from a file, with a version from the hash unless given', async () => {
      const m = mlp();
      const dir = mkdtempSync(join(tmpdir(), 'rank-'));
      const file = join(dir, 'm.onnx');
      writeFileSync(file, m.bytes);
      const a = await OnnxModel.load(m.bytes, spec());
      const b = await OnnxModel.load(file, spec(), { version: 'v1' });
      expect(a.version).toMatch(/^[0-9a-f]{12}$/);
      expect(a.sha256.startsWith(a.version)).toBe(true);
      expect(b.version).toBe('v1');
      expect(b.sha256).toBe(a.sha256);
      await Promise.all([a.release(), b.release()]);
    });

    it('refuses a missing file and a corrupt model with RECSPINE_ERR_RANK_MODEL_LOAD', async () => {
      expect(await codeOf(OnnxModel.load('/nonexistent/model.onnx', spec()))).toBe('RECSPINE_ERR_RANK_MODEL_LOAD');
      expect(await codeOf(OnnxModel.load(corruptModelBytes(), spec()))).toBe('RECSPINE_ERR_RANK_MODEL_LOAD');
      expect(await codeOf(OnnxModel.load(new Uint8Array(0), spec()))).toBe('RECSPINE_ERR_RANK_MODEL_LOAD');
    });

    it('refuses a model whose inputs or outputs differ from the spec', async () => {
      const m = mlp();
      const wrongWidth = spec({ inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', F + 1] }] });
      expect(await codeOf(OnnxModel.load(m.bytes, wrongWidth))).toBe('RECSPINE_ERR_RANK_SPEC_MISMATCH');
      const wrongName = spec({ inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', F] }] });
      expect(await codeOf(OnnxModel.load(m.bytes, wrongName))).toBe('RECSPINE_ERR_RANK_SPEC_MISMATCH');
      const wrongType = spec({ inputs: [{ name: 'features', dtype: 'float64', shape: ['batch', F] }] });
      expect(await codeOf(OnnxModel.load(m.bytes, wrongType))).toBe('RECSPINE_ERR_RANK_SPEC_MISMATCH');
      const extraOutput = spec({ outputs: [...spec().outputs, { name: 'dwell', dtype: 'float32', shape: 'perRow' }] });
      expect(await codeOf(OnnxModel.load(m.bytes, extraOutput))).toBe('RECSPINE_ERR_RANK_SPEC_MISMATCH');
      const fixedBatch = buildMlp({ inputDim: F, hidden: [4], heads: [{ name: 'ctr', activation: 'sigmoid' }], fixedBatch: 1 });
      const ctrOnly = spec({ outputs: [{ name: 'ctr', dtype: 'float32', shape: 'perRow' }] });
      expect(await codeOf(OnnxModel.load(fixedBatch.bytes, ctrOnly))).toBe('RECSPINE_ERR_RANK_SPEC_MISMATCH');
    });

    it('accepts a subset of the outputs and both [batch] and [batch, 1] per-row outputs', async () => {
      const rank1 = mlp(3, { outputRank: 1 });
      const m = await OnnxModel.load(rank1.bytes, spec({ outputs: [{ name: 'watch', dtype: 'float32', shape: 'perRow' }] }));
      const x = randomRows(5);
      const out = await m.run({ features: x }, 5);
      expect(Object.keys(out)).toEqual(['watch']);
      expect(out.watch?.dims).toEqual([5]);
      const ref = referenceForward(rank1, x, 5).watch as number[];
      ref.forEach((v, i) => expect(out.watch?.data[i]).toBeCloseTo(v, 5));
      await m.release();
    });

    it('rejects an invalid spec with RECSPINE_ERR_RANK_CONFIG', async () => {
      expect(await codeOf(OnnxModel.load(mlp().bytes, spec({ maxBatch: 0 })))).toBe('RECSPINE_ERR_RANK_CONFIG');
      const noBatch = spec({ inputs: [{ name: 'features', dtype: 'float32', shape: [4, F] }] });
      expect(await codeOf(OnnxModel.load(mlp().bytes, noBatch))).toBe('RECSPINE_ERR_RANK_CONFIG');
    });
  });

  describe('run', () => {
    it('matches a forward pass computed independently in the test, for every head', async () => {
      const m = mlp(11);
      const model = await OnnxModel.load(m.bytes, spec());
      const rows = 33;
      const x = randomRows(rows, 5);
      const out = await model.run({ features: x }, rows);
      const ref = referenceForward(m, x, rows);
      for (const h of HEADS) {
        expect(out[h]?.dims).toEqual([rows, 1]);
        (ref[h] as number[]).forEach((v, i) => expect(out[h]?.data[i]).toBeCloseTo(v, 5));
      }
      await model.release();
    });

    it('rejects a batch larger than maxBatch, and malformed feeds, with coded errors', async () => {
      const model = await OnnxModel.load(mlp().bytes, spec({ maxBatch: 4 }));
      expect(await codeOf(model.run({ features: randomRows(5) }, 5))).toBe('RECSPINE_ERR_RANK_BATCH_TOO_LARGE');
      expect(await codeOf(model.run({ features: randomRows(3).subarray(1) }, 3))).toBe('RECSPINE_ERR_RANK_BAD_FEEDS');
      expect(await codeOf(model.run({ features: new Float64Array(3 * F) }, 3))).toBe('RECSPINE_ERR_RANK_BAD_FEEDS');
      expect(await codeOf(model.run({}, 3))).toBe('RECSPINE_ERR_RANK_BAD_FEEDS');
      expect(await codeOf(model.run({ features: randomRows(3), other: randomRows(3) }, 3))).toBe('RECSPINE_ERR_RANK_BAD_FEEDS');
      // still serving after the bad calls
      const ok = await model.run({ features: randomRows(2) }, 2);
      expect(ok.ctr?.data.length).toBe(2);
      await model.release();
    });

    it('rejects NaN outputs and out-of-range outputs with RECSPINE_ERR_RANK_NONFINITE_OUTPUT', async () => {
      const nan = await OnnxModel.load(mlp(1, { headBias: { ctr: Number.NaN } }).bytes, spec());
      expect(await codeOf(nan.run({ features: randomRows(2) }, 2))).toBe('RECSPINE_ERR_RANK_NONFINITE_OUTPUT');
      const linear = buildMlp({ inputDim: F, hidden: [], heads: [{ name: 'ctr', activation: 'none' }], headBias: { ctr: 50 } });
      const ranged = await OnnxModel.load(
        linear.bytes,
        spec({ outputs: [{ name: 'ctr', dtype: 'float32', shape: 'perRow', range: [0, 1] }] }),
      );
      expect(await codeOf(ranged.run({ features: new Float32Array(F) }, 1))).toBe('RECSPINE_ERR_RANK_NONFINITE_OUTPUT');
      await Promise.all([nan.release(), ranged.release()]);
    });

    it('returns empty outputs for zero rows without running', async () => {
      const model = await OnnxModel.load(mlp().bytes, spec());
      const out = await model.run({ features: new Float32Array(0) }, 0);
      expect(out.ctr?.data.length).toBe(0);
      await model.release();
    });
  });

  describe('release', () => {
    it('lets in-flight runs finish, then refuses new runs', async () => {
      const model = await OnnxModel.load(mlp().bytes, spec());
      const running = model.run({ features: randomRows(4) }, 4);
      const released = model.release();
      expect((await running).ctr?.data.length).toBe(4);
      await released;
      expect(await codeOf(model.run({ features: randomRows(1) }, 1))).toBe('RECSPINE_ERR_RANK_MODEL_RELEASED');
      expect(model.isReleased).toBe(true);
    });
  });
});
