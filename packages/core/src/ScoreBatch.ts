/**
 * A ranker's output, aligned by index with the candidates it was given.
 *
 * Invariant (checked by the runner): `scores.length === candidates.length` and every score is
 * finite; otherwise the ranker counts as failed (`RECSPINE_ERR_RANKER_OUTPUT`).
 */
export interface ScoreBatch {
  /** Combined score per candidate. Higher is better. */
  readonly scores: ArrayLike<number>;
  /** Optional per-head outputs (e.g. `ctr`, `watch`, `report`, `satisfaction`), each aligned with `scores`. */
  readonly heads?: Readonly<Record<string, ArrayLike<number>>>;
  /** The model version that produced the scores, echoed on the response. */
  readonly modelVersion?: string;
}
