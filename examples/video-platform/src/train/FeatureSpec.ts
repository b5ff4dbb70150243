import type { FeatureRow, FeatureValue } from '@recspine/core';

/** Version of the feature-spec JSON format. */
export const FEATURE_SPEC_VERSION = 1;

/** Where a raw feature value comes from. `candidate` holds per-candidate retrieval signals (e.g. `tt_score`). */
export type Entity = 'user' | 'item' | 'context' | 'candidate';

/** A raw feature reference: `entity.feature`. */
export interface FeatureRef {
  readonly entity: Entity;
  readonly feature: string;
}

/**
 * How one input column is computed from raw features. Every kind's raw value is then normalised:
 * `(raw - mean) / std`; an absent raw value becomes `default` (so `(default - mean) / std`).
 *
 * - `numeric`: the number `ref` (with `log1p` if `transform` says so);
 * - `onehot`: 1 when the string `ref` equals `value`, else 0 (absent → 0);
 * - `vector`: element `offset` of the Float32Array `ref`;
 * - `ratio`: `(num + prior · strength) / (den + strength)` of two numbers of one entity (smoothed rate);
 * - `dot`: dot product of two Float32Arrays;
 * - `match`: 1 when the two strings are equal, else 0;
 * - `age_days`: `log1p(max(0, now_ms - published_at_ms) / 86400000)` with `now` = `context.now_ms`;
 * - `missing`: the missing indicator of `group` (1 when any raw feature of the group is absent).
 */
export type ColumnDef =
  | { readonly kind: 'numeric'; readonly ref: FeatureRef; readonly transform?: 'log1p' }
  | { readonly kind: 'onehot'; readonly ref: FeatureRef; readonly value: string }
  | { readonly kind: 'vector'; readonly ref: FeatureRef; readonly offset: number }
  | { readonly kind: 'ratio'; readonly num: FeatureRef; readonly den: FeatureRef; readonly prior: number; readonly strength: number }
  | { readonly kind: 'dot'; readonly left: FeatureRef; readonly right: FeatureRef }
  | { readonly kind: 'match'; readonly left: FeatureRef; readonly right: FeatureRef }
  | { readonly kind: 'age_days'; readonly ref: FeatureRef; readonly now: FeatureRef }
  | { readonly kind: 'missing'; readonly group: string };

/** One column of a model's input: its definition, its feature group and its normalisation. */
export type ColumnSpec = ColumnDef & {
  /** Unique readable name, e.g. `user.region=r3`, `item.content[4]`, `missing:item_stats`. */
  readonly name: string;
  /** Feature group (what goes missing together). `missing` columns carry the group they flag. */
  readonly group: string;
  readonly mean: number;
  readonly std: number;
  /** Raw value used when the raw feature is absent. Equal to `mean` for numeric columns (normalises to 0). */
  readonly default: number;
};

/**
 * The contract between a trained model and whoever builds its input (the rank package's
 * FeatureAssembler, the evaluation adapters, the trainer itself): the ordered columns of the
 * float32 input tensor `input` of shape `[batch, width]`, their normalisation and defaults, and
 * which groups have missing-indicator columns. Written as `<model>.features.json` beside each model.
 *
 * Invariant: `columns.length === width`; a group listed in `missingIndicators` has exactly one
 * `missing` column.
 */
export interface FeatureSpec {
  readonly schemaVersion: number;
  readonly model: string;
  readonly input: 'features';
  readonly width: number;
  readonly columns: readonly ColumnSpec[];
  /** Groups with a missing-indicator column, and that column's index. */
  readonly missingIndicators: Readonly<Record<string, number>>;
  /** Output tensor names, in order. */
  readonly outputs: readonly string[];
}

/** The raw rows one input row is built from. Absent keys are missing features (core's convention). */
export interface RawRows {
  readonly user: FeatureRow;
  readonly item: FeatureRow;
  readonly context: FeatureRow;
  readonly candidate: FeatureRow;
}

const EMPTY: FeatureRow = Object.freeze({});

/** An empty {@link RawRows}. */
export function emptyRows(): RawRows {
  return { user: EMPTY, item: EMPTY, context: EMPTY, candidate: EMPTY };
}

type Getter = (r: RawRows) => number | undefined;

function get(r: RawRows, ref: FeatureRef): FeatureValue | undefined {
  return r[ref.entity][ref.feature];
}
function num(r: RawRows, ref: FeatureRef): number | undefined {
  const v = get(r, ref);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function str(r: RawRows, ref: FeatureRef): string | undefined {
  const v = get(r, ref);
  return typeof v === 'string' ? v : undefined;
}
function vec(r: RawRows, ref: FeatureRef): Float32Array | undefined {
  const v = get(r, ref);
  return v instanceof Float32Array ? v : undefined;
}

/** The raw features a column reads (for group-missing detection). */
export function refsOf(c: ColumnDef): FeatureRef[] {
  switch (c.kind) {
    case 'numeric':
    case 'onehot':
    case 'vector':
      return [c.ref];
    case 'ratio':
      return [c.num, c.den];
    case 'dot':
    case 'match':
      return [c.left, c.right];
    case 'age_days':
      return [c.ref, c.now];
    case 'missing':
      return [];
  }
}

function rawGetter(c: ColumnDef): Getter {
  switch (c.kind) {
    case 'numeric':
      return c.transform === 'log1p'
        ? (r) => {
            const v = num(r, c.ref);
            return v === undefined ? undefined : Math.log1p(Math.max(0, v));
          }
        : (r) => num(r, c.ref);
    case 'onehot':
      return (r) => {
        const v = str(r, c.ref);
        return v === undefined ? undefined : v === c.value ? 1 : 0;
      };
    case 'vector':
      return (r) => {
        const v = vec(r, c.ref);
        return v === undefined ? undefined : v[c.offset];
      };
    case 'ratio':
      return (r) => {
        const a = num(r, c.num);
        const b = num(r, c.den);
        return a === undefined || b === undefined ? undefined : (a + c.prior * c.strength) / (b + c.strength);
      };
    case 'dot':
      return (r) => {
        const a = vec(r, c.left);
        const b = vec(r, c.right);
        if (a === undefined || b === undefined) return undefined;
        let s = 0;
        const n = Math.min(a.length, b.length);
        for (let k = 0; k < n; k++) s += (a[k] as number) * (b[k] as number);
        return s;
      };
    case 'match':
      return (r) => {
        const a = str(r, c.left);
        const b = str(r, c.right);
        return a === undefined || b === undefined ? undefined : a === b ? 1 : 0;
      };
    case 'age_days':
      return (r) => {
        const p = num(r, c.ref);
        const now = num(r, c.now);
        return p === undefined || now === undefined ? undefined : Math.log1p(Math.max(0, now - p) / 86_400_000);
      };
    case 'missing':
      return () => 0;
  }
}

/**
 * Builds model input rows from raw feature rows according to a {@link FeatureSpec}. Compiled once
 * per spec (no per-row closures); `assemble` allocates nothing.
 *
 * Missing handling: a raw feature that is absent (or whose group is in `dropGroups`, the
 * training-time augmentation) takes the column default, and its group's indicator is set to 1.
 *
 * @example
 * ```ts
 * const asm = new FeatureAssembler(spec);
 * const x = new Float32Array(spec.width * n);
 * asm.assemble({ user, item, context, candidate }, x, row * spec.width);
 * ```
 */
export class FeatureAssembler {
  private readonly getters: Getter[];
  private readonly groupIdx: Int32Array;
  private readonly groups: string[];
  private readonly missingCol: Int32Array;
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private readonly def: Float64Array;
  private readonly isMissingCol: Uint8Array;
  private readonly groupMissing: Uint8Array;
  readonly width: number;

  constructor(readonly spec: FeatureSpec) {
    this.width = spec.width;
    this.groups = [...new Set(spec.columns.map((c) => c.group))];
    const gi = new Map(this.groups.map((g, i) => [g, i]));
    this.getters = spec.columns.map(rawGetter);
    this.groupIdx = Int32Array.from(spec.columns.map((c) => gi.get(c.group) as number));
    this.missingCol = Int32Array.from(this.groups.map((g) => spec.missingIndicators[g] ?? -1));
    this.mean = Float64Array.from(spec.columns.map((c) => c.mean));
    this.invStd = Float64Array.from(spec.columns.map((c) => 1 / (c.std || 1)));
    this.def = Float64Array.from(spec.columns.map((c) => c.default));
    this.isMissingCol = Uint8Array.from(spec.columns.map((c) => (c.kind === 'missing' ? 1 : 0)));
    this.groupMissing = new Uint8Array(this.groups.length);
  }

  /**
   * Writes one normalised row into `out` at `offset`. An absent raw feature takes its column's
   * default and flags its group; `dropGroups` forces whole groups missing (training augmentation:
   * every column of the group takes its default, as when the group timed out at serving).
   */
  assemble(rows: RawRows, out: Float32Array, offset: number, dropGroups?: ReadonlySet<string>): void {
    this.groupMissing.fill(0);
    if (dropGroups !== undefined)
      for (let g = 0; g < this.groups.length; g++) if (dropGroups.has(this.groups[g] as string)) this.groupMissing[g] = 2;
    const n = this.width;
    for (let c = 0; c < n; c++) {
      if (this.isMissingCol[c] === 1) continue;
      const g = this.groupIdx[c] as number;
      let v = this.groupMissing[g] === 2 ? undefined : (this.getters[c] as Getter)(rows);
      if (v === undefined) {
        if (this.groupMissing[g] === 0) this.groupMissing[g] = 1;
        v = this.def[c] as number;
      }
      out[offset + c] = (v - (this.mean[c] as number)) * (this.invStd[c] as number);
    }
    for (let g = 0; g < this.groups.length; g++) {
      const mc = this.missingCol[g] as number;
      if (mc >= 0) out[offset + mc] = this.groupMissing[g] === 0 ? 0 : 1;
    }
  }
}

/**
 * Fills `mean`, `std` and `default` of a spec's numeric-like columns from raw (un-normalised)
 * training rows, assembled with an identity spec. One-hot, match and missing columns stay
 * un-normalised (mean 0, std 1, default 0).
 */
export function fitNormalisation(spec: FeatureSpec, raw: Float32Array, rows: number): FeatureSpec {
  const W = spec.width;
  const columns = spec.columns.map((c, j): ColumnSpec => {
    if (c.kind === 'onehot' || c.kind === 'missing' || c.kind === 'match') return { ...c, mean: 0, std: 1, default: 0 };
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < rows; r++) {
      const v = raw[r * W + j] as number;
      s += v;
      s2 += v * v;
    }
    const mean = rows > 0 ? s / rows : 0;
    const std = Math.sqrt(Math.max(0, rows > 0 ? s2 / rows - mean * mean : 0));
    return { ...c, mean, std: std > 1e-6 ? std : 1, default: mean };
  });
  return { ...spec, columns };
}

/** Builds an identity-normalised spec (mean 0, std 1, default 0) from column definitions. */
export function defineSpec(
  model: string,
  cols: readonly (ColumnDef & { name: string; group: string })[],
  outputs: readonly string[],
): FeatureSpec {
  const columns = cols.map((c): ColumnSpec => ({ ...c, mean: 0, std: 1, default: 0 }));
  const names = new Set<string>();
  for (const c of columns) {
    if (names.has(c.name)) throw new Error(`duplicate column ${c.name}`);
    names.add(c.name);
  }
  const missingIndicators: Record<string, number> = {};
  columns.forEach((c, i) => {
    if (c.kind === 'missing') missingIndicators[c.group] = i;
  });
  return { schemaVersion: FEATURE_SPEC_VERSION, model, input: 'features', width: columns.length, columns, missingIndicators, outputs };
}
