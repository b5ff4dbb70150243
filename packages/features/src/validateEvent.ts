import type { RecSpineError } from '@recspine/core';
import type { RecEvent, RecEventType } from './RecEvent.js';
import { FeaturesErrors } from './errors.js';

/** The result of {@link validateEvent}. */
export type EventValidation = { readonly ok: true; readonly event: RecEvent } | { readonly ok: false; readonly error: RecSpineError };

const ITEM_TYPES: ReadonlySet<string> = new Set(['impression', 'click', 'watch', 'like', 'report']);
const TYPES: ReadonlySet<string> = new Set<RecEventType>([
  'impression',
  'click',
  'watch',
  'like',
  'report',
  'search',
  'publish',
  'opt_out',
]);
const ID_RE = /^[A-Za-z0-9_.:@\-/]{1,256}$/;
/** Events more than this far in the future are rejected (clock skew allowance). */
const MAX_FUTURE_MS = 24 * 3600_000;

/**
 * Validates an untrusted event (e.g. parsed JSON from an HTTP body or a Kafka message). Returns
 * the typed event, or a `RECSPINE_ERR_EVENT_INVALID` error whose `field` names the bad field.
 * Never throws. Unknown extra fields are dropped from the returned event.
 *
 * @example
 * ```ts
 * const v = validateEvent(JSON.parse(body));
 * if (!v.ok) return reply.code(400).send(v.error.toJSON());
 * await bus.publish([v.event]);
 * ```
 */
export function validateEvent(input: unknown, nowMs: number = Date.now()): EventValidation {
  const fail = (field: string, why: string): EventValidation => ({
    ok: false,
    error: FeaturesErrors.create('RECSPINE_ERR_EVENT_INVALID', `event.${field}: ${why}`, { field }),
  });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('(root)', 'expected an object');
  const e = input as Record<string, unknown>;
  if (typeof e.type !== 'string' || !TYPES.has(e.type)) return fail('type', `expected one of ${[...TYPES].join('|')}`);
  const type = e.type as RecEventType;
  if (typeof e.id !== 'string' || !ID_RE.test(e.id)) return fail('id', 'expected 1..256 chars of [A-Za-z0-9_.:@-/]');
  if (typeof e.userId !== 'string' || !ID_RE.test(e.userId)) return fail('userId', 'expected 1..256 chars of [A-Za-z0-9_.:@-/]');
  if (typeof e.atMs !== 'number' || !Number.isFinite(e.atMs) || e.atMs <= 0 || e.atMs > nowMs + MAX_FUTURE_MS)
    return fail('atMs', 'expected ms since epoch, not in the far future');
  const out: Record<string, unknown> = { id: e.id, type, userId: e.userId, atMs: e.atMs };
  const optId = (k: string): EventValidation | undefined => {
    const v = e[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !ID_RE.test(v)) return fail(k, 'expected 1..256 chars of [A-Za-z0-9_.:@-/]');
    out[k] = v;
    return undefined;
  };
  const optStr = (k: string, max: number): EventValidation | undefined => {
    const v = e[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max || v.includes('\u001f'))
      return fail(k, `expected a string of 1..${max} chars`);
    out[k] = v;
    return undefined;
  };
  const bad = optId('sessionId') ?? optStr('region', 16);
  if (bad) return bad;
  if (ITEM_TYPES.has(type) || type === 'publish') {
    const b = optId('itemId') ?? optId('creatorId') ?? optStr('category', 128);
    if (b) return b;
    if (out.itemId === undefined) return fail('itemId', 'required');
    if (type === 'publish' && out.creatorId === undefined) return fail('creatorId', 'required');
  }
  switch (type) {
    case 'impression': {
      const b = optStr('slot', 64);
      if (b) return b;
      if (e.position !== undefined) {
        if (!Number.isInteger(e.position) || (e.position as number) < 0 || (e.position as number) > 10_000)
          return fail('position', 'expected an integer 0..10000');
        out.position = e.position;
      }
      break;
    }
    case 'watch':
      if (typeof e.watchMs !== 'number' || !Number.isFinite(e.watchMs) || e.watchMs < 0 || e.watchMs > 7 * 24 * 3600_000)
        return fail('watchMs', 'expected a finite number of ms ≥ 0');
      out.watchMs = e.watchMs;
      if (typeof e.completed !== 'boolean') return fail('completed', 'expected a boolean');
      out.completed = e.completed;
      if (e.durationMs !== undefined) {
        if (typeof e.durationMs !== 'number' || !Number.isFinite(e.durationMs) || e.durationMs <= 0)
          return fail('durationMs', 'expected a positive number');
        out.durationMs = e.durationMs;
      }
      break;
    case 'report': {
      const b = optStr('reason', 128);
      if (b) return b;
      break;
    }
    case 'search':
      if (typeof e.query !== 'string' || e.query.length === 0 || e.query.length > 512)
        return fail('query', 'expected a string of 1..512 chars');
      out.query = e.query;
      break;
    default:
      break;
  }
  return { ok: true, event: out as unknown as RecEvent };
}

/** Parses and validates one serialized event (a bus message). */
export function parseEvent(raw: Buffer | string | null | undefined, nowMs?: number): EventValidation {
  if (raw === null || raw === undefined)
    return { ok: false, error: FeaturesErrors.create('RECSPINE_ERR_EVENT_INVALID', 'empty message', { field: '(root)' }) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (cause) {
    return { ok: false, error: FeaturesErrors.create('RECSPINE_ERR_EVENT_INVALID', 'message is not JSON', { field: '(root)', cause }) };
  }
  return validateEvent(parsed, nowMs);
}
