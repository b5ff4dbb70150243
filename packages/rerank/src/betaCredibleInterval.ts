import { credibleInterval } from './internal/beta.js';
import { configNumber } from './internal/validate.js';

/**
 * The equal-tailed credible interval of a Beta(α, β) posterior holding probability `mass`: the
 * quantity {@link ExplorationReranker}'s graduation rule compares with its configured width.
 *
 * Exact (inverse regularised incomplete beta) when min(α, β) < 50; above that the normal
 * approximation, whose width is within ~1% of the exact one there.
 *
 * @example
 * ```ts
 * // prior pCTR 0.05 with strength 20, then 1000 impressions and 40 clicks:
 * const { lower, upper } = betaCredibleInterval(0.05 * 20 + 40, 0.95 * 20 + 960, 0.9);
 * upper - lower; // ≈ 0.020
 * ```
 */
export function betaCredibleInterval(alpha: number, beta: number, mass = 0.9): { lower: number; upper: number } {
  configNumber(alpha, 0, 'alpha', Number.MIN_VALUE, Number.MAX_VALUE);
  configNumber(beta, 0, 'beta', Number.MIN_VALUE, Number.MAX_VALUE);
  configNumber(mass, 0, 'mass', Number.MIN_VALUE, 1 - Number.EPSILON);
  return credibleInterval(alpha, beta, mass);
}
