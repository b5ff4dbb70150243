import type { FeatureRow } from '@recspine/core';
import type { UserTowerFeature } from '@recspine/retrieval';

/** Width of the user tower's input for a feature list (the retrieval package's `OnnxUserTower` layout). */
export function userTowerWidth(features: readonly UserTowerFeature[]): number {
  let w = 0;
  for (const f of features) {
    if (f.kind === 'number') w += 1;
    else if (f.kind === 'vector') w += f.dims;
    else if (f.kind === 'ids') w += f.table.dims;
    else if (f.kind === 'hashed') w += f.buckets;
    else w += f.vocabulary.length + 1;
  }
  return w;
}

/**
 * Writes a user row's tower input into `out` at `offset`, in exactly the layout and arithmetic of
 * the retrieval package's `OnnxUserTower.featurize` (which serves the exported tower), for the
 * kinds the example uses: `category` (one-hot + out-of-vocabulary slot; absent → zeros), `ids`
 * (mean of the table rows of the known ids, decay 1) and `number` (`log1p`, then shift/scale;
 * absent → `(default − shift) / scale`).
 *
 * Hand-written because `OnnxUserTower.featurize` needs a loaded session and the trainer builds
 * inputs before the model exists. One difference, for speed: a row may carry the pooled `ids`
 * value precomputed as `<name>__pooled` (a `Float32Array`, what the logged sessions store); it is
 * used as is. `userTowerInput.test.ts` checks the equality with `OnnxUserTower.featurize`.
 */
export function userTowerInput(features: readonly UserTowerFeature[], row: FeatureRow, out: Float32Array, offset: number): void {
  let o = offset;
  for (const f of features) {
    const v = row[f.name];
    switch (f.kind) {
      case 'category': {
        const n = f.vocabulary.length + 1;
        out.fill(0, o, o + n);
        if (typeof v === 'string') {
          const k = f.vocabulary.indexOf(v);
          out[o + (k < 0 ? f.vocabulary.length : k)] = 1;
        }
        o += n;
        break;
      }
      case 'number': {
        let x = typeof v === 'number' && Number.isFinite(v) ? v : (f.default ?? 0);
        if (f.log1p === true && typeof v === 'number') x = Math.log1p(Math.max(0, x));
        out[o] = (x - (f.shift ?? 0)) / (f.scale ?? 1);
        o += 1;
        break;
      }
      case 'ids': {
        const d = f.table.dims;
        out.fill(0, o, o + d);
        const pooled = row[`${f.name}__pooled`];
        if (pooled instanceof Float32Array && pooled.length === d) {
          out.set(pooled, o);
        } else if (Array.isArray(v)) {
          const index = tableIndex(f.table);
          let total = 0;
          const n = Math.min(v.length, f.maxLen ?? 100);
          for (let i = 0; i < n; i++) {
            const r = index.get(v[i] as string);
            if (r === undefined) continue;
            for (let j = 0; j < d; j++) out[o + j] = (out[o + j] as number) + (f.table.vectors[r * d + j] as number);
            total += 1;
          }
          if (total > 0) for (let j = 0; j < d; j++) out[o + j] = (out[o + j] as number) / total;
        }
        o += d;
        break;
      }
      case 'vector': {
        out.fill(0, o, o + f.dims);
        if (v instanceof Float32Array && v.length === f.dims) out.set(v, o);
        o += f.dims;
        break;
      }
      case 'hashed':
        throw new Error('userTowerInput: hashed features are not used by the example');
    }
  }
}

const indexes = new WeakMap<object, Map<string, number>>();
function tableIndex(t: { readonly ids: readonly string[] }): Map<string, number> {
  let m = indexes.get(t);
  if (!m) {
    m = new Map(t.ids.map((id, i) => [id, i]));
    indexes.set(t, m);
  }
  return m;
}
