/** One feature value. Numbers, dense vectors, category ids (strings) and id lists. */
export type FeatureValue = number | Float32Array | string | readonly string[];

/**
 * One entity's features, by feature name. **A missing feature is an absent key** (never NaN,
 * never `undefined` as a value): the assembler downstream turns absence into default + missing
 * indicator.
 */
export type FeatureRow = Readonly<Record<string, FeatureValue>>;

/** Why a feature group is missing from a batch. */
export type MissingReason = 'timeout' | 'error' | 'skipped';

/**
 * The online features for one request: the user (plus context) and every candidate, aligned by
 * index with `itemIds`.
 *
 * The missing-mask is two-level: a whole group can be missing (`missingGroups`, e.g. it timed out;
 * every feature of it is absent from every row), and single features can be absent from single
 * rows (no value stored, or a malformed value that decoding rejected).
 */
export interface FeatureBatch {
  readonly userId: string | undefined;
  readonly itemIds: readonly string[];
  /** User and context features. Empty for anonymous users. */
  readonly user: FeatureRow;
  /**
   * One row per item, aligned with `itemIds` (item and creator features). A batch that carries
   * {@link FeatureBatch.columns} may build these rows lazily on first access (and cache them):
   * prefer `columns` on hot paths.
   */
  readonly items: readonly FeatureRow[];
  /** Feature groups that could not be read, and why. Empty when the batch is complete. */
  readonly missingGroups: ReadonlyMap<string, MissingReason>;
  /**
   * Optional columnar view of the same item features (see {@link FeatureColumns}). Producers
   * that decode straight into columns (the feature stores) set it; consumers that can read
   * columns (the model assembler) should, because then no per-row objects are built at all.
   * When absent, read `items`.
   */
  readonly columns?: FeatureColumns;
}

/**
 * The item features of one column, one slot per item (aligned with `itemIds`); `present[i]` is 1
 * when item `i` has a value, 0 when the feature is missing for it. Values in absent slots are
 * unspecified (usually 0 / `undefined`) and must not be read.
 */
export interface NumberColumn {
  readonly type: 'number';
  /** Finite numbers (never NaN in a present slot). */
  readonly values: Float64Array;
  readonly present: Uint8Array;
}

/** Dense vectors of one length, row-major: item `i` is `values.subarray(i * dim, (i + 1) * dim)`. */
export interface VectorColumn {
  readonly type: 'vector';
  readonly dim: number;
  /** `itemCount × dim` finite floats. */
  readonly values: Float32Array;
  readonly present: Uint8Array;
}

/** Category ids. */
export interface CategoryColumn {
  readonly type: 'category';
  readonly values: readonly (string | undefined)[];
  readonly present: Uint8Array;
}

/** Id lists. */
export interface IdListColumn {
  readonly type: 'idList';
  readonly values: readonly (readonly string[] | undefined)[];
  readonly present: Uint8Array;
}

/** One item feature as a column. */
export type FeatureColumn = NumberColumn | VectorColumn | CategoryColumn | IdListColumn;

/**
 * A columnar view of a batch's item rows: feature name → column, every column of length
 * `itemIds.length`.
 *
 * Contract (what makes it interchangeable with `items`):
 * - `items[i][name]` is present iff `columns.get(name)?.present[i] === 1`, and then equals the
 *   column's value for `i` (a vector row is `values.subarray(i * dim, (i + 1) * dim)`);
 * - a name that is not in the map is absent from every row (e.g. its group is in
 *   `missingGroups`, or was not requested);
 * - columns are read-only for consumers; rows built from them may share their memory.
 */
export type FeatureColumns = ReadonlyMap<string, FeatureColumn>;

const EMPTY_ROW: FeatureRow = Object.freeze({});
const NO_MISSING: ReadonlyMap<string, MissingReason> = new Map();

/** A batch with no features at all: what degraded-mode rankers and coarse rankers receive. */
export function emptyFeatureBatch(userId: string | undefined, itemIds: readonly string[]): FeatureBatch {
  return { userId, itemIds, user: EMPTY_ROW, items: new Array<FeatureRow>(itemIds.length).fill(EMPTY_ROW), missingGroups: NO_MISSING };
}

/**
 * Builds the row view of {@link FeatureColumns}: one row object per item holding the present
 * values (vectors as views into the column, not copies). What a columnar batch's lazy `items`
 * returns.
 */
export function featureRowsFromColumns(itemCount: number, columns: FeatureColumns): FeatureRow[] {
  const rows: Record<string, FeatureValue>[] = new Array<Record<string, FeatureValue>>(itemCount);
  for (let i = 0; i < itemCount; i++) rows[i] = {};
  for (const [name, c] of columns) {
    const present = c.present;
    for (let i = 0; i < itemCount; i++) {
      if (present[i] !== 1) continue;
      const row = rows[i] as Record<string, FeatureValue>;
      switch (c.type) {
        case 'number':
          row[name] = c.values[i] as number;
          break;
        case 'vector':
          row[name] = c.values.subarray(i * c.dim, (i + 1) * c.dim);
          break;
        default:
          row[name] = c.values[i] as FeatureValue;
      }
    }
  }
  return rows;
}

/**
 * A batch whose item features live in `columns`; `items` is built from them on first access and
 * cached, so a consumer that reads only `columns` never pays for row objects.
 *
 * @example
 * ```ts
 * const batch = columnarFeatureBatch({ userId, itemIds, user, columns, missingGroups });
 * batch.columns?.get('duration_s'); // no rows built
 * batch.items[0]?.duration_s;       // rows built once, here
 * ```
 */
export function columnarFeatureBatch(parts: {
  readonly userId: string | undefined;
  readonly itemIds: readonly string[];
  readonly user: FeatureRow;
  readonly columns: FeatureColumns;
  readonly missingGroups: ReadonlyMap<string, MissingReason>;
}): FeatureBatch {
  return new ColumnarFeatureBatch(parts.userId, parts.itemIds, parts.user, parts.columns, parts.missingGroups);
}

class ColumnarFeatureBatch implements FeatureBatch {
  private rows: readonly FeatureRow[] | undefined;
  constructor(
    readonly userId: string | undefined,
    readonly itemIds: readonly string[],
    readonly user: FeatureRow,
    readonly columns: FeatureColumns,
    readonly missingGroups: ReadonlyMap<string, MissingReason>,
  ) {}

  get items(): readonly FeatureRow[] {
    return (this.rows ??= featureRowsFromColumns(this.itemIds.length, this.columns));
  }
}
