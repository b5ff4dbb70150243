/**
 * How a head's raw prediction is turned into the value the objective weighs:
 *
 * - `raw`: as predicted;
 * - `log`: ln(max(p, epsilon)) (default epsilon 1e-6), for heavy-tailed heads like watch time;
 * - `platt`: 1 / (1 + exp(−(a·logit(p) + b))), a Platt-scaling calibration fitted offline;
 * - `isotonic`: piecewise-linear interpolation through the points `(x[i], y[i])` of an isotonic
 *   calibration fitted offline (`x` strictly increasing; clamped outside).
 */
export type HeadTransform =
  | { readonly kind: 'raw' }
  | { readonly kind: 'log'; readonly epsilon?: number }
  | { readonly kind: 'platt'; readonly a: number; readonly b: number }
  | { readonly kind: 'isotonic'; readonly x: readonly number[]; readonly y: readonly number[] };

/** One head of a multi-task model. */
export interface HeadConfig {
  /** Objective weight; negative to penalise (e.g. `report`). */
  readonly weight: number;
  /** Default `raw`. */
  readonly transform?: HeadTransform;
  /** Model output name; default the head name. */
  readonly output?: string;
}
