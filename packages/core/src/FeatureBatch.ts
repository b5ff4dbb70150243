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
  /** One row per item, aligned with `itemIds` (item and creator features). */
  readonly items: readonly FeatureRow[];
  /** Feature groups that could not be read, and why. Empty when the batch is complete. */
  readonly missingGroups: ReadonlyMap<string, MissingReason>;
}

const EMPTY_ROW: FeatureRow = Object.freeze({});
const NO_MISSING: ReadonlyMap<string, MissingReason> = new Map();

/** A batch with no features at all: what degraded-mode rankers and coarse rankers receive. */
export function emptyFeatureBatch(userId: string | undefined, itemIds: readonly string[]): FeatureBatch {
  return { userId, itemIds, user: EMPTY_ROW, items: new Array<FeatureRow>(itemIds.length).fill(EMPTY_ROW), missingGroups: NO_MISSING };
}
