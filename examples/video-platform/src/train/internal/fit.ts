import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../world/internal/random.js';
import type { Mlp } from './Mlp.js';

/** One head's loss. `pal`: position-aware (click = seen(position) · relevant), for position-biased labels. */
export interface HeadLoss {
  readonly head: string;
  readonly kind: 'pal' | 'bce';
  readonly label: Float32Array;
  /** Rows that carry this label (e.g. clicked rows for watch); all rows when absent. */
  readonly mask?: Float32Array;
  readonly weight: number;
}

/** What {@link fitRanker} learned besides the model: the examination logit per position (training-only). */
export interface FitResult {
  readonly positionLogits: Float32Array;
  readonly finalLoss: number;
  readonly steps: number;
}

/** Options of {@link fitRanker}. */
export interface FitOptions {
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly seed: number;
  readonly positions?: Uint8Array;
  readonly slateSize: number;
  readonly onEpoch?: () => void;
}

const EPS = 1e-6;

/**
 * Trains a ranker MLP with masked multi-task losses. Position bias is handled the PAL way
 * (position-aware learning, Guo et al. 2019): for `pal` heads the training likelihood is
 * `σ(model) · σ(b_position)`, the second factor a learned examination probability per slot that
 * exists only in training; the exported model is `σ(model)` alone, i.e. the click probability
 * had the item been examined. Position is therefore never a serving feature.
 */
export function fitRanker(model: Mlp, X: Float32Array, n: number, W: number, losses: readonly HeadLoss[], o: FitOptions): FitResult {
  const posVar = tf.variable(tf.zeros([o.slateSize, 1]));
  const opt = tf.train.adam(o.lr);
  const rng = new Rng(o.seed, 0xf17);
  const perm = Int32Array.from({ length: n }, (_, k) => k);
  const xb = new Float32Array(o.batch * W);
  const lb = losses.map(() => new Float32Array(o.batch));
  const mb = losses.map(() => new Float32Array(o.batch));
  // Position as a one-hot matrix: tfjs-wasm lacks the gradient of gather, so seen = onehot · b.
  const pb = new Float32Array(o.batch * o.slateSize);
  let lastLoss = Number.NaN;
  let steps = 0;
  for (let e = 0; e < o.epochs; e++) {
    for (let k = n - 1; k > 0; k--) {
      const j = rng.int(k + 1);
      const t = perm[k] as number;
      perm[k] = perm[j] as number;
      perm[j] = t;
    }
    for (let s = 0; s + o.batch <= n; s += o.batch) {
      for (let b = 0; b < o.batch; b++) {
        const r = perm[s + b] as number;
        xb.set(X.subarray(r * W, (r + 1) * W), b * W);
        losses.forEach((l, h) => {
          (lb[h] as Float32Array)[b] = l.label[r] as number;
          (mb[h] as Float32Array)[b] = l.mask ? (l.mask[r] as number) : 1;
        });
        for (let q = 0; q < o.slateSize; q++) pb[b * o.slateSize + q] = 0;
        pb[b * o.slateSize + (o.positions ? (o.positions[r] as number) : 0)] = 1;
      }
      const xt = tf.tensor2d(xb, [o.batch, W]);
      const pt = tf.tensor2d(pb, [o.batch, o.slateSize]);
      const lts = lb.map((a) => tf.tensor2d(a, [o.batch, 1]));
      const mts = mb.map((a) => tf.tensor2d(a, [o.batch, 1]));
      const loss = opt.minimize(
        () => {
          const logits = model.logits(xt);
          let total: tf.Tensor = tf.scalar(0);
          losses.forEach((l, h) => {
            const z = logits[l.head] as tf.Tensor2D;
            const y = lts[h] as tf.Tensor2D;
            const m = mts[h] as tf.Tensor2D;
            let per: tf.Tensor;
            if (l.kind === 'pal') {
              const seen = tf.sigmoid(tf.matMul(pt, posVar as tf.Tensor2D));
              const p = tf.clipByValue(tf.mul(tf.sigmoid(z), seen), EPS, 1 - EPS);
              per = tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p)))));
            } else {
              // Numerically stable BCE with logits; soft labels allowed.
              per = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
            }
            const headLoss = tf.div(tf.sum(tf.mul(per, m)), tf.add(tf.sum(m), 1));
            total = tf.add(total, tf.mul(headLoss, l.weight));
          });
          return total as tf.Scalar;
        },
        true,
        [...model.variables(), posVar],
      );
      if (loss) {
        if (steps % 50 === 0) lastLoss = loss.dataSync()[0] as number;
        loss.dispose();
      }
      steps++;
      xt.dispose();
      pt.dispose();
      for (const t of [...lts, ...mts]) t.dispose();
    }
    o.onEpoch?.();
  }
  const positionLogits = Float32Array.from(posVar.dataSync());
  posVar.dispose();
  opt.dispose();
  return { positionLogits, finalLoss: lastLoss, steps };
}

/** Options of {@link fitTwoTower}. */
export interface TwoTowerFitOptions {
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly temperature: number;
  readonly seed: number;
  readonly onEpoch?: () => void;
}

/**
 * Trains a two-tower model with in-batch negatives and the logQ sampling-bias correction
 * (Yi et al. 2019): logits `u·v / τ − log q(item)`, where `q` is the item's frequency among
 * positives, so popular items are not over-penalised for appearing as negatives often. Rows of
 * the same item in one batch are all positives of each other (multi-positive softmax target).
 */
export function fitTwoTower(
  userTower: Mlp,
  itemTower: Mlp,
  Xu: Float32Array,
  Wu: number,
  Xi: Float32Array,
  Wi: number,
  posItem: Int32Array,
  logQ: Float32Array,
  o: TwoTowerFitOptions,
): { finalLoss: number; steps: number } {
  const n = posItem.length;
  const B = Math.min(o.batch, n);
  const opt = tf.train.adam(o.lr);
  const rng = new Rng(o.seed, 0x77);
  const perm = Int32Array.from({ length: n }, (_, k) => k);
  const ub = new Float32Array(B * Wu);
  const ib = new Float32Array(B * Wi);
  const qb = new Float32Array(B);
  const tb = new Float32Array(B * B);
  const items = new Int32Array(B);
  let last = Number.NaN;
  let steps = 0;
  for (let e = 0; e < o.epochs; e++) {
    for (let k = n - 1; k > 0; k--) {
      const j = rng.int(k + 1);
      const t = perm[k] as number;
      perm[k] = perm[j] as number;
      perm[j] = t;
    }
    for (let s = 0; s + B <= n; s += B) {
      for (let b = 0; b < B; b++) {
        const r = perm[s + b] as number;
        const it = posItem[r] as number;
        items[b] = it;
        ub.set(Xu.subarray(r * Wu, (r + 1) * Wu), b * Wu);
        ib.set(Xi.subarray(it * Wi, (it + 1) * Wi), b * Wi);
        qb[b] = logQ[it] as number;
      }
      for (let a = 0; a < B; a++) {
        let c = 0;
        for (let b = 0; b < B; b++) if (items[a] === items[b]) c++;
        for (let b = 0; b < B; b++) tb[a * B + b] = items[a] === items[b] ? 1 / c : 0;
      }
      const ut = tf.tensor2d(ub, [B, Wu]);
      const it = tf.tensor2d(ib, [B, Wi]);
      const qt = tf.tensor2d(qb, [1, B]);
      const tt = tf.tensor2d(tb, [B, B]);
      const loss = opt.minimize(
        () => {
          const U = userTower.predict(ut)['embedding'] as tf.Tensor2D;
          const V = itemTower.predict(it)['embedding'] as tf.Tensor2D;
          const logits = tf.sub(tf.div(tf.matMul(U, V, false, true), o.temperature), qt);
          return tf.losses.softmaxCrossEntropy(tt, logits) as tf.Scalar;
        },
        true,
        [...userTower.variables(), ...itemTower.variables()],
      );
      if (loss) {
        if (steps % 20 === 0) last = loss.dataSync()[0] as number;
        loss.dispose();
      }
      steps++;
      ut.dispose();
      it.dispose();
      qt.dispose();
      tt.dispose();
    }
    o.onEpoch?.();
  }
  opt.dispose();
  return { finalLoss: last, steps };
}
