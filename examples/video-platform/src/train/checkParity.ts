import * as ort from 'onnxruntime-node';
import type { Mlp } from './internal/Mlp.js';

/** Result of a parity check: the largest absolute difference per output, and overall. */
export interface ParityResult {
  readonly rows: number;
  readonly maxAbsDiff: number;
  readonly byOutput: Readonly<Record<string, number>>;
}

/** Default parity tolerance between the trainer's and onnxruntime's outputs. */
export const PARITY_TOLERANCE = 1e-4;

/**
 * Runs an exported ONNX model in onnxruntime-node and the trainer's model (tfjs) on the same
 * batch, and returns the largest absolute output difference.
 *
 * @example
 * ```ts
 * const r = await checkParity(onnxBytes, mlp, heldOut, rows, width);
 * if (r.maxAbsDiff > PARITY_TOLERANCE) throw …;
 * ```
 */
export async function checkParity(onnxBytes: Uint8Array, model: Mlp, x: Float32Array, rows: number, width: number): Promise<ParityResult> {
  const session = await ort.InferenceSession.create(onnxBytes);
  try {
    const feeds = { features: new ort.Tensor('float32', x.subarray(0, rows * width), [rows, width]) };
    const got = await session.run(feeds);
    const want = model.predictArrays(x, rows, width);
    const byOutput: Record<string, number> = {};
    let maxAbsDiff = 0;
    for (const [name, w] of Object.entries(want)) {
      const g = got[name]?.data as Float32Array | undefined;
      if (!g || g.length !== w.length) {
        byOutput[name] = Number.POSITIVE_INFINITY;
        maxAbsDiff = Number.POSITIVE_INFINITY;
        continue;
      }
      let m = 0;
      for (let k = 0; k < w.length; k++) m = Math.max(m, Math.abs((w[k] as number) - (g[k] as number)));
      byOutput[name] = m;
      maxAbsDiff = Math.max(maxAbsDiff, m);
    }
    return { rows, maxAbsDiff, byOutput };
  } finally {
    await session.release();
  }
}
