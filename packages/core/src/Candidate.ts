/**
 * What a retrieval source returns for one item: its id, the source's own score, and optionally
 * the item's metadata if the source has it at hand (saves a catalog lookup).
 */
export interface RetrievedItem {
  readonly itemId: string;
  /** The source's score; only comparable within one source. Higher is better. */
  readonly score: number;
  readonly meta?: ItemMeta;
}

/**
 * In-process item metadata that re-rankers and policy filters read. Hydrated onto candidates
 * once per request from the `ItemCatalog` (or from the source that retrieved the item).
 */
export interface ItemMeta {
  readonly creatorId?: string;
  readonly category?: string;
  readonly language?: string;
  /** Publish time, ms since epoch. */
  readonly publishedAtMs?: number;
  /** Item embedding (e.g. the two-tower item vector), for MMR and coarse rank. */
  readonly embedding?: Float32Array;
  /** Policy flags. Hard filters read these. */
  readonly kidsRestricted?: boolean;
  readonly misinformation?: boolean;
  /** Regions where the item must not be shown. */
  readonly blockedRegions?: readonly string[];
  /** If set, the only regions where the item may be shown. */
  readonly allowedRegions?: readonly string[];
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** How an explored position was chosen; the propensity is what offline evaluation corrects with. */
export interface ExploreMark {
  /** e.g. `epsilon-greedy`, `thompson`. */
  readonly policy: string;
  /** Probability with which this item was placed here by the exploration policy. */
  readonly propensity: number;
}

/**
 * One candidate as it moves through the spine. The runner creates it when it merges the sources'
 * results; later stages update `score` and add their own fields.
 *
 * Invariants: `sources` is non-empty and lists every source that returned the item, in the
 * slot's source order; `sourceScores[i]` is the score `sources[i]` gave it.
 */
export interface Candidate {
  readonly itemId: string;
  /** The current ordering score: retrieval (fused) → coarse → fine → re-rank adjustments. */
  score: number;
  /** Reciprocal-rank fusion of the sources' ranks; comparable across sources. */
  retrievalScore: number;
  readonly sources: string[];
  readonly sourceScores: number[];
  coarseScore?: number;
  fineScore?: number;
  /** Per-head predictions of the multi-task ranker (for logging and debugging). */
  heads?: Record<string, number>;
  meta?: ItemMeta;
  /** Set by an exploration re-ranker on explored positions. */
  explore?: ExploreMark;
}
