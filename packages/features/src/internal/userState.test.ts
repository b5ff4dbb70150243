import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventIdKey } from './userState.js';

describe('eventIdKey', () => {
  it('is deterministic, at most 11 characters, and tells distinct ids apart', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 2000 }), (ids) => {
        const keys = ids.map(eventIdKey);
        expect(keys.every((k) => k.length <= 11 && /^[0-9a-z]+$/.test(k))).toBe(true);
        expect(new Set(keys).size).toBe(ids.length);
        expect(ids.map(eventIdKey)).toEqual(keys);
      }),
      { numRuns: 50 },
    );
  });

  it('separates ids that differ in one character or only in length', () => {
    const base = 'e8c2b0f4-3f7a-4c1e-9a55-000000000000';
    const near = Array.from({ length: 36 }, (_, i) => base.slice(0, i) + (base[i] === '0' ? '1' : '0') + base.slice(i + 1));
    const keys = new Set([base, ...near, `${base}0`, base.slice(0, -1)].map(eventIdKey));
    expect(keys.size).toBe(39);
  });
});
