import type { FeatureAssemblerSpec } from '@recspine/rank';
import { assembleLogged } from '../train/assembleLogged.js';
import type { WorldData } from '../world/WorldData.js';

/** PSI of one input column between the training data and recent serving logs. */
export interface FeaturePsi {
  readonly feature: string;
  readonly psi: number;
}

/** The gate's verdict. */
export interface DriftReport {
  readonly threshold: number;
  readonly maxPsi: number;
  readonly worst: readonly FeaturePsi[];
  readonly drifted: readonly string[];
  /** Columns reported but not gating (e.g. cumulative counters that grow by construction). */
  readonly exempt: readonly string[];
  /** True when no gated feature drifted past the threshold: the model may be promoted. */
  readonly promoted: boolean;
  readonly perFeature: Readonly<Record<string, number>>;
}

const FLOOR = 1e-4;

/**
 * Population stability index of `actual` against `expected`, over `bins` quantile bins of
 * `expected` (binary columns get their two values as bins). `PSI = Σ (a − e) · ln(a / e)`, with
 * bin shares floored at 1e-4. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate, > 0.25 shifted.
 */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>, bins = 10): number {
  const sorted = Float64Array.from(expected).sort();
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const v = sorted[Math.floor((b * sorted.length) / bins)] as number;
    if (edges.length === 0 || v > (edges[edges.length - 1] as number)) edges.push(v);
  }
  const hist = (xs: ArrayLike<number>): Float64Array => {
    const h = new Float64Array(edges.length + 1);
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k] as number;
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (x < (edges[mid] as number)) hi = mid;
        else lo = mid + 1;
      }
      h[lo] = (h[lo] as number) + 1;
    }
    for (let b = 0; b < h.length; b++) h[b] = Math.max(FLOOR, (h[b] as number) / Math.max(1, xs.length));
    return h;
  };
  const e = hist(expected);
  const a = hist(actual);
  let s = 0;
  for (let b = 0; b < e.length; b++) s += ((a[b] as number) - (e[b] as number)) * Math.log((a[b] as number) / (e[b] as number));
  return s;
}

/**
 * The release gate on input drift: computes PSI per input column of a model between rows it was
 * trained on and rows from recent serving logs (both `[n × spec.width]`, assembled by the same
 * FeatureAssembler), and refuses promotion when any column's PSI exceeds `threshold`.
 * Missing-indicator columns are gated too (a feature that starts to go missing is drift).
 * `exempt` columns are reported but do not gate.
 *
 * @example
 * ```ts
 * const report = driftGate(fine.spec, trainX, nTrain, servingX, nServing);
 * if (!report.promoted) console.log('not promoted; drifted:', report.drifted);
 * ```
 */
export function driftGate(
  columns: readonly string[],
  train: Float32Array,
  nTrain: number,
  serving: Float32Array,
  nServing: number,
  threshold = 0.25,
  exempt: readonly string[] = [],
): DriftReport {
  const W = columns.length;
  const perFeature: Record<string, number> = {};
  const all: FeaturePsi[] = [];
  const e = new Float32Array(nTrain);
  const a = new Float32Array(nServing);
  columns.forEach((name, j) => {
    for (let r = 0; r < nTrain; r++) e[r] = train[r * W + j] as number;
    for (let r = 0; r < nServing; r++) a[r] = serving[r * W + j] as number;
    const v = psi(e, a);
    perFeature[name] = v;
    all.push({ feature: name, psi: v });
  });
  all.sort((x, y) => y.psi - x.psi);
  const gated = all.filter((f) => !exempt.includes(f.feature));
  const drifted = gated.filter((f) => f.psi > threshold).map((f) => f.feature);
  return { threshold, maxPsi: gated[0]?.psi ?? 0, worst: all.slice(0, 5), drifted, exempt, promoted: drifted.length === 0, perFeature };
}

/**
 * The drift gate on logged data: a model's inputs, assembled (through the rank FeatureAssembler,
 * as served) from the served features of (up to 20k) impressions of the last training day —
 * recent training data, so slow trends such as growing counters do not count as drift — vs (up
 * to 20k) held-out-window (serving) impressions. Per-candidate two-tower scores are left out
 * (missing on both sides): the gate watches the logged feature distribution.
 *
 * @example
 * ```ts
 * const report = driftOnLogs(WorldData.load(dir), fineSpec(cfg));
 * if (!report.promoted) console.log('blocked by', report.drifted);
 * ```
 */
export function driftOnLogs(data: WorldData, spec: FeatureAssemblerSpec, threshold = 0.25): DriftReport {
  const trainN = data.manifest.counts.trainImpressions;
  const n = data.impressions.n;
  const sample = (from: number, to: number) => {
    const rows = Math.min(20_000, to - from);
    const stride = (to - from) / rows;
    const idx = Int32Array.from({ length: rows }, (_, k) => from + Math.floor(k * stride));
    return { ...assembleLogged(spec, data, { dim: 0 }, idx), rows };
  };
  const lastDayS = data.manifest.splitS - 86_400;
  let from = trainN;
  while (from > 0 && (data.sessions.timeS[data.impressions.session[from - 1] as number] as number) >= lastDayS) from--;
  const tr = sample(from, trainN);
  const held = sample(trainN, n);
  // Cumulative impression counters grow by construction from one day to the next: reported, not gated.
  return driftGate(tr.columns, tr.X, tr.rows, held.X, held.rows, threshold, ['item.log1p_impressions', 'catalog.log1p_impressions']);
}
