import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../world/internal/random.js';

/** Activation after a dense layer. */
export type Activation = 'relu' | 'linear' | 'sigmoid';

/** One dense layer's weights as plain arrays (what the ONNX exporter and model files use). */
export interface DenseWeights {
  /** Row-major [inputs × outputs]. */
  readonly W: Float32Array;
  readonly b: Float32Array;
  readonly inputs: number;
  readonly outputs: number;
  readonly activation: Activation;
}

/** An MLP's weights: a shared trunk, named heads, and whether the head output is L2-normalised (towers). */
export interface MlpWeights {
  readonly trunk: readonly DenseWeights[];
  readonly heads: Readonly<Record<string, DenseWeights>>;
  readonly l2normalize: boolean;
  /** When set, an extra output `value = ctr · (watch + satisfaction · sat − report · rep)` (the ranking objective). */
  readonly objective?: { readonly satisfaction: number; readonly report: number };
}

interface Dense {
  W: tf.Variable;
  b: tf.Variable;
  activation: Activation;
}

function dense(rng: Rng, inputs: number, outputs: number, activation: Activation): Dense {
  // He/Glorot-style init from our own seeded stream so training is reproducible.
  const scale = Math.sqrt((activation === 'relu' ? 2 : 1) / inputs);
  const w = new Float32Array(inputs * outputs);
  for (let k = 0; k < w.length; k++) w[k] = scale * rng.gaussian();
  return { W: tf.variable(tf.tensor2d(w, [inputs, outputs])), b: tf.variable(tf.zeros([outputs])), activation };
}

function act(x: tf.Tensor2D, a: Activation): tf.Tensor2D {
  return a === 'relu' ? tf.relu(x) : a === 'sigmoid' ? tf.sigmoid(x) : x;
}

/**
 * A multi-layer perceptron as tfjs variables: `trunk` (ReLU layers) then one linear head per
 * output name. `logits()` gives pre-activation head outputs for the losses; `predict()` gives the
 * served outputs (sigmoid for ranker heads, L2-normalised vectors for towers), the exact graph the
 * ONNX export writes.
 */
export class Mlp {
  private readonly trunk: Dense[] = [];
  private readonly heads = new Map<string, Dense>();
  constructor(
    inputs: number,
    hidden: readonly number[],
    heads: Readonly<Record<string, number>>,
    readonly headActivation: 'sigmoid' | 'l2normalize',
    seed: number,
    readonly objective?: { readonly satisfaction: number; readonly report: number },
  ) {
    const rng = new Rng(seed, 0x3a1);
    let n = inputs;
    for (const h of hidden) {
      this.trunk.push(dense(rng, n, h, 'relu'));
      n = h;
    }
    for (const [name, width] of Object.entries(heads)) this.heads.set(name, dense(rng, n, width, 'linear'));
  }

  /** Trainable variables. */
  variables(): tf.Variable[] {
    return [...this.trunk.flatMap((d) => [d.W, d.b]), ...[...this.heads.values()].flatMap((d) => [d.W, d.b])];
  }

  private body(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    for (const d of this.trunk) h = act(tf.add(tf.matMul(h, d.W as tf.Tensor2D), d.b), d.activation);
    return h;
  }

  /** Head outputs before the final activation. */
  logits(x: tf.Tensor2D): Record<string, tf.Tensor2D> {
    const h = this.body(x);
    const out: Record<string, tf.Tensor2D> = {};
    for (const [name, d] of this.heads) out[name] = tf.add(tf.matMul(h, d.W as tf.Tensor2D), d.b);
    return out;
  }

  /** Served outputs (sigmoid or L2-normalised), as the ONNX graph computes them. */
  predict(x: tf.Tensor2D): Record<string, tf.Tensor2D> {
    const lg = this.logits(x);
    const out: Record<string, tf.Tensor2D> = {};
    for (const [name, t] of Object.entries(lg)) {
      out[name] = this.headActivation === 'sigmoid' ? tf.sigmoid(t) : tf.div(t, tf.norm(t, 2, 1, true));
    }
    const o = this.objective;
    if (o !== undefined && out['ctr'] && out['watch'] && out['report'] && out['satisfaction']) {
      const inner = tf.sub(tf.add(out['watch'], tf.mul(out['satisfaction'], o.satisfaction)), tf.mul(out['report'], o.report));
      out['value'] = tf.mul(out['ctr'], inner);
    }
    return out;
  }

  /** Runs `predict` on a plain matrix in batches and returns each output as a flat array. */
  predictArrays(x: Float32Array, rows: number, width: number, batch = 4096): Record<string, Float32Array> {
    const parts: Record<string, Float32Array[]> = {};
    for (let s = 0; s < rows; s += batch) {
      const n = Math.min(batch, rows - s);
      const res = tf.tidy(() => {
        const xt = tf.tensor2d(x.subarray(s * width, (s + n) * width), [n, width]);
        const p = this.predict(xt);
        return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.dataSync() as Float32Array]));
      });
      for (const [k, v] of Object.entries(res)) (parts[k] ??= []).push(Float32Array.from(v));
    }
    const out: Record<string, Float32Array> = {};
    for (const [k, arrs] of Object.entries(parts)) {
      const total = arrs.reduce((a, b) => a + b.length, 0);
      const f = new Float32Array(total);
      let o = 0;
      for (const a of arrs) {
        f.set(a, o);
        o += a.length;
      }
      out[k] = f;
    }
    return out;
  }

  /** Plain-array weights. */
  weights(): MlpWeights {
    const w = (d: Dense): DenseWeights => {
      const [inputs, outputs] = d.W.shape as [number, number];
      return { W: Float32Array.from(d.W.dataSync()), b: Float32Array.from(d.b.dataSync()), inputs, outputs, activation: d.activation };
    };
    return {
      trunk: this.trunk.map(w),
      heads: Object.fromEntries([...this.heads].map(([k, d]) => [k, w(d)])),
      l2normalize: this.headActivation === 'l2normalize',
      ...(this.objective === undefined ? {} : { objective: this.objective }),
    };
  }

  /** True when every weight is finite. */
  finite(): boolean {
    return this.variables().every((v) => (v.dataSync() as Float32Array).every(Number.isFinite));
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }
}
