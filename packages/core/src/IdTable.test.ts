import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable } from './IdTable.js';

describe('IdTable', () => {
  it('agrees with a Map under any sequence of sets and deletes', () => {
    // A small key space forces collisions, long probe runs and deletes inside them.
    const key = fc.integer({ min: 0, max: 60 }).map((i) => `v${i}`);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), id: key, value: fc.integer({ min: 0, max: 0x7fffffff }) }),
      fc.record({ kind: fc.constant('delete' as const), id: key }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 0, max: 40 }), (ops, expected) => {
        const t = new IdTable(expected);
        const m = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            t.set(o.id, o.value);
            m.set(o.id, o.value);
          } else {
            expect(t.delete(o.id)).toBe(m.delete(o.id));
          }
          expect(t.size).toBe(m.size);
        }
        for (let i = 0; i <= 60; i++) {
          expect(t.get(`v${i}`)).toBe(m.get(`v${i}`));
          expect(t.has(`v${i}`)).toBe(m.has(`v${i}`));
        }
        expect(new Map(t.entries())).toEqual(m);
        expect(new Set(t.keys())).toEqual(new Set(m.keys()));
      }),
      { numRuns: 300 },
    );
  });

  it('holds a million ids and finds each', () => {
    const ids = Array.from({ length: 1_000_000 }, (_, i) => `v${i}`);
    const t = IdTable.fromIds(ids);
    expect(t.size).toBe(1_000_000);
    for (let i = 0; i < ids.length; i += 997) expect(t.get(ids[i] as string)).toBe(i);
    expect(t.get('v1000000')).toBeUndefined();
    // ids built at run time (not the same string objects) are found by value
    expect(t.get(['v', '123456'].join(''))).toBe(123456);
  });

  it('rejects values that are not non-negative 32-bit integers, and keeps its state', () => {
    const t = new IdTable();
    t.set('a', 1);
    for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) expect(() => t.set('b', bad)).toThrow(RangeError);
    expect(t.size).toBe(1);
    expect(t.has('b')).toBe(false);
    expect(t.get('a')).toBe(1);
  });

  it('clears and refills; a later duplicate in fromIds wins', () => {
    const t = IdTable.fromIds(['a', 'b', 'a']);
    expect(t.get('a')).toBe(2);
    expect(t.size).toBe(2);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get('a')).toBeUndefined();
    t.set('c', 7);
    expect([...t.entries()]).toEqual([['c', 7]]);
    // the empty string and non-ASCII ids are ids like any other
    t.set('', 3).set('vidéo-ü', 4);
    expect(t.get('')).toBe(3);
    expect(t.get('vidéo-ü')).toBe(4);
  });
});
