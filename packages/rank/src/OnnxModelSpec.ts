/** Element types a model spec can declare (onnxruntime's tensor type names). */
export type TensorDType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

/**
 * One dimension of a declared shape: a fixed size, `'batch'` (the batch dimension: symbolic in the
 * model, filled with the row count at run time) or `'*'` (outputs only: anything).
 */
export type DimSpec = number | 'batch' | '*';

/** A declared model input. Inputs must have `'batch'` as their first dimension and fixed sizes elsewhere. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: TensorDType;
  readonly shape: readonly DimSpec[];
}

/**
 * A declared model output. `shape: 'perRow'` accepts `[batch]` and `[batch, 1]` (what exporters
 * produce for one score per row). `range`, when set, is checked on every run (and by the registry's
 * smoke test): a value outside `[lo, hi]` fails the batch like a NaN does.
 */
export interface OutputSpec {
  readonly name: string;
  readonly dtype: TensorDType;
  readonly shape: readonly DimSpec[] | 'perRow';
  readonly range?: readonly [number, number];
}

/**
 * What a model must look like to be served. Checked against the model's own declared inputs and
 * outputs at load time: a mismatch refuses the model (`RECSPINE_ERR_RANK_SPEC_MISMATCH`).
 *
 * Invariants: the model's inputs are exactly `inputs` (by name); every `outputs` entry exists in
 * the model (extra model outputs are ignored and never fetched); `maxBatch` ≥ 1 bounds every run.
 *
 * @example
 * ```ts
 * const spec: OnnxModelSpec = {
 *   inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', assembler.width] }],
 *   outputs: ['ctr', 'watch', 'report', 'satisfaction'].map((name) => ({ name, dtype: 'float32', shape: 'perRow', range: [0, 1] })),
 *   maxBatch: 1000,
 * };
 * ```
 */
export interface OnnxModelSpec {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly OutputSpec[];
  readonly maxBatch: number;
}
