import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { VideoPlatformErrors } from '../errors.js';
import type { FeatureSpec, RawRows } from '../train/FeatureSpec.js';
import { FeatureAssembler } from '../train/FeatureSpec.js';
import type { ModelEntry } from '../train/trainModels.js';

/**
 * An exported model loaded into onnxruntime-node together with its feature spec: raw rows in,
 * named outputs out. The evaluation's stand-in for the rank package's ONNX rankers; it reads the
 * same files a server would.
 *
 * @example
 * ```ts
 * const fine = await OnnxModel.load(modelsDir, manifest.models.fine);
 * const { ctr } = await fine.run([{ user, item, context, candidate }]);
 * ```
 */
export class OnnxModel {
  readonly assembler: FeatureAssembler;
  private constructor(
    readonly name: string,
    readonly spec: FeatureSpec,
    private readonly session: ort.InferenceSession,
  ) {
    this.assembler = new FeatureAssembler(spec);
  }

  /** Loads `entry.onnx` and `entry.featureSpec` from a models directory. */
  static async load(dir: string, entry: ModelEntry): Promise<OnnxModel> {
    try {
      const spec = JSON.parse(readFileSync(join(dir, entry.featureSpec), 'utf8')) as FeatureSpec;
      const session = await ort.InferenceSession.create(readFileSync(join(dir, entry.onnx)));
      return new OnnxModel(entry.onnx, spec, session);
    } catch (cause) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_ARTIFACT', `cannot load model ${entry.onnx} from ${dir}`, {
        stage: 'artifacts',
        cause,
      });
    }
  }

  /** Assembles rows and runs the model. */
  async run(rows: readonly RawRows[]): Promise<Record<string, Float32Array>> {
    const W = this.spec.width;
    const x = new Float32Array(rows.length * W);
    rows.forEach((r, k) => this.assembler.assemble(r, x, k * W));
    return this.runMatrix(x, rows.length);
  }

  /** Runs the model on an already assembled `[rows × width]` matrix. */
  async runMatrix(x: Float32Array, rows: number): Promise<Record<string, Float32Array>> {
    const out = await this.session.run({ features: new ort.Tensor('float32', x, [rows, this.spec.width]) });
    const res: Record<string, Float32Array> = {};
    for (const name of this.spec.outputs) res[name] = out[name]?.data as Float32Array;
    return res;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
