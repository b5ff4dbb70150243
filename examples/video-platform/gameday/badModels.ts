import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportMlpToOnnx } from '../src/train/OnnxExport.js';
import type { DenseWeights, MlpWeights } from '../src/train/internal/Mlp.js';

const HEADS = ['ctr', 'watch', 'report', 'satisfaction'] as const;

function dense(inputs: number, outputs: number, fill: (k: number) => number): DenseWeights {
  const W = new Float32Array(inputs * outputs);
  for (let k = 0; k < W.length; k++) W[k] = fill(k);
  return { W, b: new Float32Array(outputs), inputs, outputs, activation: 'relu' };
}

/**
 * Writes the bad fine models a game day pushes, each a well-formed ONNX file the runtime loads:
 *
 * - `nan.onnx`: the right input width and outputs, but NaN weights in the trunk, so every head
 *   (and `value`) is NaN — the registry's smoke test must refuse it;
 * - `spec-mismatch.onnx`: sane weights, but an input width that does not match the fine spec
 *   (width + 7) and no `value` output — the spec check must refuse it.
 *
 * @returns the two paths.
 */
export function writeBadFineModels(dir: string, inputWidth: number): { nan: string; specMismatch: string } {
  const mlp = (width: number, trunkFill: (k: number) => number, withValue: boolean): MlpWeights => ({
    trunk: [dense(width, 8, trunkFill)],
    heads: Object.fromEntries(HEADS.map((h) => [h, { ...dense(8, 1, () => 0.1), activation: 'sigmoid' as const }])),
    l2normalize: false,
    ...(withValue ? { objective: { satisfaction: 0.5, report: 3 } } : {}),
  });
  const nan = join(dir, 'fine-nan.onnx');
  writeFileSync(
    nan,
    exportMlpToOnnx(
      mlp(inputWidth, () => Number.NaN, true),
      { name: 'fine', version: 'gameday-nan' },
    ),
  );
  const specMismatch = join(dir, 'fine-spec-mismatch.onnx');
  writeFileSync(
    specMismatch,
    exportMlpToOnnx(
      mlp(inputWidth + 7, (k) => ((k % 7) - 3) / 10, false),
      { name: 'fine', version: 'gameday-mismatch' },
    ),
  );
  return { nan, specMismatch };
}
