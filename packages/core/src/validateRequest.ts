import { CoreErrors } from './errors.js';
import type { RecRequest } from './RecRequest.js';

/** Limits applied to every request. */
export interface RequestLimits {
  readonly maxLimit: number;
  readonly slots: ReadonlySet<string> | ReadonlyMap<string, unknown>;
}

const USER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const MAX_QUERY = 512;
const MAX_TOKEN = 128;

const bad = (field: string, message: string): never => {
  throw CoreErrors.create('RECSPINE_ERR_INVALID_REQUEST', `invalid request: \`${field}\` ${message}`, { field });
};

function shortString(v: unknown, field: string, max = MAX_TOKEN): void {
  if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > max)) bad(field, `must be a string of 1-${max} chars`);
}

/**
 * Validates a request on entry and returns it typed. Throws `RECSPINE_ERR_INVALID_REQUEST`
 * (client) naming the bad field, or `RECSPINE_ERR_UNKNOWN_SLOT`.
 *
 * Hand-written rather than a schema library: it runs on every request, checks a handful of
 * fields, and allocates nothing on success. Servers should still validate their wire format
 * (the example uses fastify's JSON schema) and call this as the SDK's own guard.
 */
export function validateRequest(req: unknown, limits: RequestLimits): RecRequest {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return bad('(body)', 'must be an object');
  const r = req as Record<string, unknown>;
  if (typeof r.slot !== 'string' || r.slot.length === 0 || r.slot.length > 64) bad('slot', 'must be a string of 1-64 chars');
  if (!limits.slots.has(r.slot as string)) {
    throw CoreErrors.create('RECSPINE_ERR_UNKNOWN_SLOT', `unknown slot '${String(r.slot)}'`, { field: 'slot' });
  }
  const limit = r.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit <= 0 || limit > limits.maxLimit) {
    bad('limit', `must be an integer in 1..${limits.maxLimit}, got ${typeof limit === 'number' ? limit : typeof limit}`);
  }
  if (r.userId !== undefined && (typeof r.userId !== 'string' || !USER_ID.test(r.userId))) {
    bad('userId', 'must be 1-128 chars of [A-Za-z0-9_.:@-]');
  }
  if (r.query !== undefined && (typeof r.query !== 'string' || r.query.length > MAX_QUERY))
    bad('query', `must be a string of at most ${MAX_QUERY} chars`);
  shortString(r.requestId, 'requestId');
  const ctx = r.context;
  if (ctx !== undefined) {
    if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) bad('context', 'must be an object');
    const c = ctx as Record<string, unknown>;
    shortString(c.region, 'context.region', 64);
    shortString(c.device, 'context.device', 64);
    shortString(c.language, 'context.language', 64);
    shortString(c.itemId, 'context.itemId');
    if (c.nowMs !== undefined && (typeof c.nowMs !== 'number' || !Number.isFinite(c.nowMs)))
      bad('context.nowMs', 'must be a finite number');
    if (c.attributes !== undefined && (typeof c.attributes !== 'object' || c.attributes === null || Array.isArray(c.attributes))) {
      bad('context.attributes', 'must be an object');
    }
  }
  const o = r.overrides;
  if (o !== undefined) {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('overrides', 'must be an object');
    const ov = o as Record<string, unknown>;
    if (ov.coarseKeep !== undefined && (typeof ov.coarseKeep !== 'number' || !Number.isInteger(ov.coarseKeep) || ov.coarseKeep <= 0)) {
      bad('overrides.coarseKeep', 'must be a positive integer');
    }
    shortString(ov.arm, 'overrides.arm');
    if (ov.params !== undefined && (typeof ov.params !== 'object' || ov.params === null)) bad('overrides.params', 'must be an object');
  }
  return r as unknown as RecRequest;
}
