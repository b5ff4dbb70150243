/**
 * Where a feature's value comes from.
 *
 * - `user`: `batch.user[key]` (user and context features from the feature store; online);
 * - `item`: `batch.items[i][key]` (item and `creator_*` features; online);
 * - `candidate`: the candidate itself, available without the feature store: `retrievalScore`,
 *   `coarseScore`, `sourceCount`, `source:<name>` (that source's score; missing if it did not
 *   retrieve the item), `inSource:<name>` (1/0), `meta.embedding`, `meta.category`,
 *   `meta.creatorId`, `meta.language`, `meta.ageHours` (from `publishedAtMs` and the request's
 *   `nowMs`), `meta.attributes.<k>`;
 * - `context`: the request: `region`, `device`, `language`, `itemId`, `hasUser` (1/0),
 *   `hourOfDay` (UTC, from `nowMs`), `attributes.<k>`;
 * - `state`: per-request scratch `ctx.state.get(key)`, e.g. `userEmbedding` from the two-tower source.
 *
 * `user` and `item` are the only *online* sources: a spec without them can serve when the feature
 * store is down (degraded mode) and in coarse rank.
 */
export type FeatureFrom = 'user' | 'item' | 'candidate' | 'context' | 'state';

/** A reference to one value. */
export interface FeatureRef {
  readonly from: FeatureFrom;
  readonly key: string;
}

/**
 * Normalisation applied to a present value (never to the default):
 * `zscore` → (x − mean) / std; `minmax` → (x − min) / (max − min); `log1p` → sign(x)·ln(1 + |x|).
 */
export type Normalization =
  | { readonly kind: 'zscore'; readonly mean: number; readonly std: number }
  | { readonly kind: 'minmax'; readonly min: number; readonly max: number }
  | { readonly kind: 'log1p' };

interface FeatureBase {
  /** Column name prefix; unique within a spec. */
  readonly name: string;
  /** Add a column that is 1 when the value is missing or malformed, else 0. Default true. */
  readonly missingIndicator?: boolean;
  /**
   * The feature-store group this feature belongs to. When the batch lists the group in
   * `missingGroups`, the feature is missing in every row without being looked up.
   */
  readonly group?: string;
}

/** One number → one column. Missing → `default` (written as is, already in normalised space; default 0). */
export interface NumericFeature extends FeatureBase, FeatureRef {
  readonly kind: 'numeric';
  readonly normalize?: Normalization;
  /** Clamp after normalisation. */
  readonly clip?: readonly [number, number];
  readonly default?: number;
}

/** A dense vector (`Float32Array` or number array of length `dim`) → `dim` columns. Missing → `default` in each (0). */
export interface VectorFeature extends FeatureBase, FeatureRef {
  readonly kind: 'vector';
  readonly dim: number;
  readonly default?: number;
}

/**
 * A category id (string; numbers are stringified) over a declared vocabulary.
 * `onehot` → `vocabulary.length + 1` columns (the last is out-of-vocabulary; missing → all zeros);
 * `index` → one column holding the vocabulary position, `vocabulary.length` for OOV, `default` (−1) when missing.
 */
export interface CategoryFeature extends FeatureBase, FeatureRef {
  readonly kind: 'category';
  readonly vocabulary: readonly string[];
  readonly encoding: 'onehot' | 'index';
  readonly default?: number;
}

/**
 * A list of ids. `count` → one column, the list length (optionally normalised); `hashedBag` →
 * `buckets` columns, the share of the list's ids hashing into each bucket (FNV-1a 32 over the UTF-8
 * bytes, modulo `buckets`; the training pipeline must use the same hash). Missing → zeros.
 */
export interface IdListFeature extends FeatureBase, FeatureRef {
  readonly kind: 'idList';
  readonly encoding: 'count' | 'hashedBag';
  readonly buckets?: number;
  readonly normalize?: Normalization;
}

/**
 * A cross feature: the dot product (or cosine) of two vectors, e.g. the user embedding and the item
 * embedding (user·item affinity). Missing if either side is missing; malformed if their lengths differ.
 */
export interface DotFeature extends FeatureBase {
  readonly kind: 'dot';
  readonly a: FeatureRef;
  readonly b: FeatureRef;
  readonly cosine?: boolean;
  readonly normalize?: Normalization;
  readonly clip?: readonly [number, number];
  readonly default?: number;
}

/**
 * A cross feature: 1 when two categorical values are equal, else 0 — e.g. the request's language
 * and the item's (`{ from: 'context', key: 'language' }` vs `{ from: 'candidate', key: 'meta.language' }`).
 * Strings compare as is; finite numbers are stringified first. Missing if either side is missing;
 * malformed if either side is not a string or finite number. One column (plus the indicator).
 */
export interface MatchFeature extends FeatureBase {
  readonly kind: 'match';
  readonly a: FeatureRef;
  readonly b: FeatureRef;
  /** Value written when missing (default 0). */
  readonly default?: number;
}

/** One entry of a {@link FeatureAssemblerSpec}. */
export type FeatureSpec = NumericFeature | VectorFeature | CategoryFeature | IdListFeature | DotFeature | MatchFeature;

/**
 * The model-input layout: features in column order, each with its encoding, normalisation,
 * default and missing indicator. Shared by serving and training, so both see the same columns.
 *
 * @example
 * ```ts
 * const spec: FeatureAssemblerSpec = {
 *   maxBatch: 1000,
 *   features: [
 *     { kind: 'numeric', name: 'user_age', from: 'user', key: 'age', normalize: { kind: 'zscore', mean: 30, std: 12 } },
 *     { kind: 'category', name: 'device', from: 'context', key: 'device', vocabulary: ['ios', 'android', 'web'], encoding: 'onehot' },
 *     { kind: 'vector', name: 'item_emb', from: 'item', key: 'embedding', dim: 16 },
 *     { kind: 'idList', name: 'item_tags', from: 'item', key: 'tags', encoding: 'hashedBag', buckets: 8 },
 *     { kind: 'dot', name: 'affinity', a: { from: 'state', key: 'userEmbedding' }, b: { from: 'candidate', key: 'meta.embedding' } },
 *   ],
 * };
 * ```
 */
export interface FeatureAssemblerSpec {
  readonly features: readonly FeatureSpec[];
  /** Largest batch (rows) the assembler prepares buffers for. */
  readonly maxBatch: number;
}
