import type { Candidate, PolicyFilter, StageContext } from '@recspine/core';
import { configCheck } from './internal/validate.js';

/**
 * A policy filter from any predicate: `true` keeps the candidate. A predicate that throws rejects
 * the candidate (fail closed), both here and in the core runner. Keep it pure and cheap: it runs
 * once per candidate on every path.
 *
 * @example
 * ```ts
 * const noShorts = new PredicateFilter('no-shorts', (_ctx, c) => c.meta?.attributes?.['short'] !== true);
 * ```
 */
export class PredicateFilter implements PolicyFilter {
  readonly name: string;
  private readonly predicate: (ctx: StageContext, c: Candidate) => boolean;

  constructor(name: string, predicate: (ctx: StageContext, c: Candidate) => boolean) {
    configCheck(typeof name === 'string' && name.length > 0, 'name', 'must be a non-empty string');
    configCheck(typeof predicate === 'function', 'predicate', 'must be a function');
    this.name = name;
    this.predicate = predicate;
  }

  allows(ctx: StageContext, c: Candidate): boolean {
    try {
      return this.predicate(ctx, c) === true;
    } catch {
      return false;
    }
  }
}
