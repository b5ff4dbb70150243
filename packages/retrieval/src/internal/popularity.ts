import type { PopularityUpdate } from '../PopularityCounters.js';
import { RetrievalErrors } from '../errors.js';

/** Rescale when an update's exponent (atMs - L)/τ exceeds this: e^50 ≈ 5e21, far from double overflow. */
export const RENORMALISE_AT = 50;

export function tauOf(halfLifeMs: number, stage: string): number {
  if (!Number.isFinite(halfLifeMs) || halfLifeMs <= 0) {
    throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', `halfLifeMs must be a positive number, got ${String(halfLifeMs)}`, {
      stage,
      field: 'halfLifeMs',
    });
  }
  return halfLifeMs / Math.LN2;
}

export function checkUpdates(updates: readonly PopularityUpdate[], stage: string): void {
  if (!Array.isArray(updates)) {
    throw RetrievalErrors.create('RECSPINE_ERR_POPULARITY_INPUT', 'updates must be an array', { stage, field: 'updates' });
  }
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i] as PopularityUpdate;
    const bad = (field: string, why: string): never => {
      throw RetrievalErrors.create('RECSPINE_ERR_POPULARITY_INPUT', `updates[${i}].${field} ${why}`, {
        stage,
        field: `updates[${i}].${field}`,
      });
    };
    if (u === null || typeof u !== 'object') bad('', 'is not an object');
    if (typeof u.itemId !== 'string' || u.itemId.length === 0) bad('itemId', 'must be a non-empty string');
    if (typeof u.segment !== 'string' || u.segment.length === 0) bad('segment', 'must be a non-empty string');
    if (typeof u.weight !== 'number' || !Number.isFinite(u.weight)) bad('weight', `must be finite, got ${String(u.weight)}`);
    if (typeof u.atMs !== 'number' || !Number.isFinite(u.atMs)) bad('atMs', `must be finite, got ${String(u.atMs)}`);
  }
}

export function checkTop(segment: string, k: number, stage: string): void {
  if (typeof segment !== 'string' || segment.length === 0) {
    throw RetrievalErrors.create('RECSPINE_ERR_POPULARITY_INPUT', 'segment must be a non-empty string', { stage, field: 'segment' });
  }
  if (!Number.isInteger(k) || k <= 0) {
    throw RetrievalErrors.create('RECSPINE_ERR_ANN_BAD_K', `k must be a positive integer, got ${String(k)}`, { stage, field: 'k' });
  }
}
