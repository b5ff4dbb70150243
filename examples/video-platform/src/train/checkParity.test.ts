import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../world/internal/random.js';
import { PARITY_TOLERANCE, checkParity } from './checkParity.js';
import { fitRanker } from './internal/fit.js';
import { Mlp } from './internal/Mlp.js';
import { exportMlpToOnnx } from './OnnxExport.js';
import { initTf } from './tfBackend.js';

const W = 12;
function data(n: number, seed: number): { X: Float32Array; y: Float32Array } {
  const rng = new Rng(seed);
  const X = Float32Array.from({ length: n * W }, () => rng.gaussian());
  const y = Float32Array.from({ length: n }, (_, r) => ((X[r * W] as number) + (X[r * W + 1] as number) > 0 ? 1 : 0));
  return { X, y };
}

describe('checkParity', () => {
  beforeAll(async () => {
    await initTf();
  });

  it('ONNX (onnxruntime-node) matches the trained tfjs multi-task ranker within 1e-4 on a held-out batch', async () => {
    const m = new Mlp(W, [16, 8], { ctr: 1, watch: 1, report: 1, satisfaction: 1 }, 'sigmoid', 3, { satisfaction: 0.5, report: 3 });
    const train = data(2048, 1);
    fitRanker(
      m,
      train.X,
      2048,
      W,
      ['ctr', 'watch', 'report', 'satisfaction'].map((head) => ({ head, kind: 'bce' as const, label: train.y, weight: 1 })),
      { epochs: 2, batch: 256, lr: 1e-2, seed: 1, slateSize: 1 },
    );
    const held = data(300, 2);
    const r = await checkParity(exportMlpToOnnx(m.weights(), { name: 'fine' }), m, held.X, 300, W);
    // The objective output `value` is computed in the graph and checked like the heads.
    expect(Object.keys(r.byOutput).sort()).toEqual(['ctr', 'report', 'satisfaction', 'value', 'watch']);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(PARITY_TOLERANCE);
    const p = m.predictArrays(held.X, 3, W);
    const want =
      (p['ctr']?.[1] as number) *
      ((p['watch']?.[1] as number) + 0.5 * (p['satisfaction']?.[1] as number) - 3 * (p['report']?.[1] as number));
    expect(p['value']?.[1]).toBeCloseTo(want, 6);
    m.dispose();
  });

  it('ONNX matches an L2-normalised tower and emits [batch, D] embeddings', async () => {
    const t = new Mlp(W, [16], { embedding: 6 }, 'l2normalize', 4);
    const held = data(64, 3);
    const bytes = exportMlpToOnnx(t.weights(), { name: 'user_tower' });
    const r = await checkParity(bytes, t, held.X, 64, W);
    expect(r.maxAbsDiff).toBeLessThanOrEqual(PARITY_TOLERANCE);
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ features: new ort.Tensor('float32', held.X.subarray(0, 5 * W), [5, W]) });
    expect(out['embedding']?.dims).toEqual([5, 6]);
    await s.release();
    t.dispose();
  });

  it('detects an export that does not match the trainer', async () => {
    const a = new Mlp(W, [8], { ctr: 1 }, 'sigmoid', 5);
    const b = new Mlp(W, [8], { ctr: 1 }, 'sigmoid', 6);
    const held = data(64, 4);
    const r = await checkParity(exportMlpToOnnx(b.weights(), { name: 'x' }), a, held.X, 64, W);
    expect(r.maxAbsDiff).toBeGreaterThan(PARITY_TOLERANCE);
    a.dispose();
    b.dispose();
  });
});
