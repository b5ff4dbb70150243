import type { Candidate } from './Candidate.js';
import type { StageContext } from './StageContext.js';

/**
 * A hard policy (kids' content, region restriction, misinformation…). Policy filters run
 * **last, on every path** — fallback and degraded paths included — so nothing earlier can
 * override them. A slate is never padded with an item a filter removed.
 *
 * Contract: a pure, synchronous predicate; `false` removes the item. If a filter throws, the
 * runner treats the item as rejected (fail closed).
 */
export interface PolicyFilter {
  readonly name: string;
  allows(ctx: StageContext, c: Candidate): boolean;
}
