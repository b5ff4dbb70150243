import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEvent, validateEvent } from './validateEvent.js';

const NOW = 1_700_000_000_000;
const ok = { id: 'e1', type: 'watch', userId: 'u1', atMs: NOW, itemId: 'v1', watchMs: 1200, completed: true, extra: 'dropped' };

describe('validateEvent', () => {
  it('accepts a valid event and drops unknown fields', () => {
    const v = validateEvent(ok, NOW);
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.event).toEqual({ id: 'e1', type: 'watch', userId: 'u1', atMs: NOW, itemId: 'v1', watchMs: 1200, completed: true });
  });

  it.each([
    ['type', { ...ok, type: 'purchase' }],
    ['id', { ...ok, id: '' }],
    ['userId', { ...ok, userId: 'a b' }],
    ['atMs', { ...ok, atMs: NaN }],
    ['atMs', { ...ok, atMs: NOW + 2 * 86_400_000 }],
    ['watchMs', { ...ok, watchMs: -1 }],
    ['completed', { ...ok, completed: 'yes' }],
    ['itemId', { id: 'e', type: 'click', userId: 'u', atMs: NOW }],
    ['creatorId', { id: 'e', type: 'publish', userId: 'u', atMs: NOW, itemId: 'v' }],
    ['query', { id: 'e', type: 'search', userId: 'u', atMs: NOW, query: '' }],
    ['(root)', [1, 2]],
  ])('rejects a bad %s with RECSPINE_ERR_EVENT_INVALID naming the field', (field, input) => {
    const v = validateEvent(input, NOW);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error).toMatchObject({ code: 'RECSPINE_ERR_EVENT_INVALID', category: 'client', field });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        const v = validateEvent(x, NOW);
        expect(typeof v.ok).toBe('boolean');
      }),
    );
  });
});

describe('parseEvent', () => {
  it('reports non-JSON and empty messages as coded errors', () => {
    expect(parseEvent('{oops')).toMatchObject({ ok: false, error: { code: 'RECSPINE_ERR_EVENT_INVALID' } });
    expect(parseEvent(null)).toMatchObject({ ok: false });
    expect(parseEvent(Buffer.from(JSON.stringify(ok)), NOW).ok).toBe(true);
  });
});
