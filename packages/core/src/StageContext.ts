import type { RecRequest } from './RecRequest.js';

/**
 * What every stage receives. One context per stage call; cheap to create.
 *
 * Contract for stages: watch `signal` (it fires at the stage's deadline) and stop work when it
 * fires. The runner does not wait for a stage past its deadline either way; honouring the signal
 * only frees the resources sooner.
 */
export interface StageContext {
  readonly request: RecRequest;
  readonly requestId: string;
  /** Stage path, e.g. `homepage/retrieval/two-tower`. Used in metrics, logs and errors. */
  readonly stage: string;
  /** Fires at this stage's deadline (or when the whole request is abandoned). */
  readonly signal: AbortSignal;
  /** This stage's deadline on the `performance.now()` time base. */
  readonly deadlineAt: number;
  /** Milliseconds left until `deadlineAt` (negative once it has passed). */
  remainingMs(): number;
  /**
   * Per-request scratch shared by all stages of one request, e.g. the user embedding the
   * two-tower source computed, which the coarse ranker then reuses.
   */
  readonly state: Map<string, unknown>;
  /** Trusted per-request parameters (`request.overrides.params`), e.g. objective weights. */
  readonly params: Readonly<Record<string, unknown>>;
}
