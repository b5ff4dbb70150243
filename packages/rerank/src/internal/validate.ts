import type { StageContext } from '@recspine/core';
import { RerankErrors } from '../errors.js';

/** Validates a numeric constructor option; throws `RECSPINE_ERR_RERANK_CONFIG` naming the field. */
export function configNumber(
  value: number | undefined,
  fallback: number,
  field: string,
  min: number,
  max: number,
  integer = false,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    throw RerankErrors.create(
      'RECSPINE_ERR_RERANK_CONFIG',
      `${field} must be ${integer ? 'an integer' : 'a finite number'} in [${min}, ${max}], got ${String(v)}`,
      { field },
    );
  }
  return v;
}

/** Throws `RECSPINE_ERR_RERANK_CONFIG` unless `cond`. */
export function configCheck(cond: boolean, field: string, message: string): void {
  if (!cond) throw RerankErrors.create('RECSPINE_ERR_RERANK_CONFIG', `${field} ${message}`, { field });
}

/**
 * Reads a numeric per-request override from `ctx.params[key]`; `fallback` when absent.
 * A present but invalid value throws `RECSPINE_ERR_RERANK_PARAM` (the runner then records
 * `rerank_failed` and skips this re-ranker, so a bad experiment arm is visible, not silent).
 */
export function paramNumber(ctx: StageContext, key: string, fallback: number, min: number, max: number): number {
  const v = ctx.params?.[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw RerankErrors.create('RECSPINE_ERR_RERANK_PARAM', `ctx.params.${key} must be a number in [${min}, ${max}], got ${String(v)}`, {
      stage: ctx.stage,
      field: `params.${key}`,
    });
  }
  return v;
}

/** The request's wall-clock time: `request.context.nowMs` if given (replays), else the clock. */
export function requestNowMs(ctx: StageContext, clock: () => number): number {
  const t = ctx.request.context?.nowMs;
  return typeof t === 'number' && Number.isFinite(t) ? t : clock();
}
