import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FeatureValue } from '@recspine/core';
import { defineFeatureSchema, type FeatureSpec } from './FeatureSchema.js';
import { DecodeStatus, decodeHashField, decodePacked, encodeHashField, encodePacked, fingerprint } from './internal/codec.js';

const SPECS: FeatureSpec[] = [
  { name: 'n', type: 'number', default: 0, freshness: 'stable' },
  { name: 'v', type: 'vector', dim: 3, default: new Float32Array(3), freshness: 'stable' },
  { name: 'c', type: 'category', default: '', freshness: 'stable' },
  { name: 'l', type: 'idList', default: [], freshness: 'stable' },
];
const NAMES = SPECS.map((s) => s.name);
const FP = fingerprint(SPECS);

const valueArb = fc.record(
  {
    n: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0), // -0 is stored as "0" in hashes
    v: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }).map((a) => Float32Array.from(a)),
    c: fc.string({ maxLength: 40 }),
    l: fc.array(
      fc.string({ maxLength: 10 }).filter((s) => !s.includes('\u001f')),
      { maxLength: 5 },
    ),
  },
  { requiredKeys: [] },
);

describe('FeatureSchema', () => {
  describe('constructor', () => {
    it('rejects duplicate names in one row, bad types, wrong defaults and vectors without dim', () => {
      const base = { name: 'g', entity: 'item' as const };
      const f = (x: Partial<FeatureSpec>): FeatureSpec =>
        ({ name: 'a', type: 'number', default: 0, freshness: 'stable', ...x }) as FeatureSpec;
      expect(() => defineFeatureSchema({ groups: [{ ...base, features: [f({}), f({})] }] })).toThrow(/twice/);
      expect(() => defineFeatureSchema({ groups: [{ ...base, features: [f({ type: 'blob' as never })] }] })).toThrow(/type/);
      expect(() => defineFeatureSchema({ groups: [{ ...base, features: [f({ default: 'x' })] }] })).toThrow(/default/);
      expect(() => defineFeatureSchema({ groups: [{ ...base, features: [f({ type: 'vector', default: new Float32Array(2) })] }] })).toThrow(
        /dim/,
      );
      // creator features land prefixed in item rows, so a clash is detected
      expect(() =>
        defineFeatureSchema({
          groups: [
            { name: 'i', entity: 'item', features: [f({ name: 'creator_x' })] },
            { name: 'c', entity: 'creator', features: [f({ name: 'x' })] },
          ],
        }),
      ).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_FEATURES_SCHEMA' }));
    });

    it('picks packed for all-stable groups and hash otherwise, and marks stable item groups cacheable', () => {
      const s = defineFeatureSchema({
        groups: [
          { name: 'a', entity: 'item', features: [{ name: 'x', type: 'number', default: 0, freshness: 'stable' }] },
          { name: 'b', entity: 'item', features: [{ name: 'y', type: 'number', default: 0, freshness: 'hot', halfLifeMs: 1000 }] },
        ],
      });
      expect(s.group('a')).toMatchObject({ encoding: 'packed', cacheable: true });
      expect(s.group('b')).toMatchObject({ encoding: 'hash', cacheable: false, hashFields: ['y', 'y~t'] });
      expect(s.defaults('item')).toEqual(
        new Map([
          ['x', 0],
          ['y', 0],
        ]),
      );
    });
  });
});

describe('packed codec', () => {
  describe('encodePacked/decodePacked', () => {
    it('round-trips any subset of values', () => {
      fc.assert(
        fc.property(valueArb, (vals) => {
          const m = new Map<number, never>();
          for (const [k, v] of Object.entries(vals)) m.set(NAMES.indexOf(k), v as never);
          const out: Record<string, FeatureValue> = {};
          expect(decodePacked(SPECS, FP, NAMES, encodePacked(SPECS, FP, m), out)).toBe(DecodeStatus.Ok);
          expect(out).toEqual(vals);
        }),
      );
    });

    it('reports truncated, foreign or drifted records as malformed and writes nothing, never NaN', () => {
      fc.assert(
        fc.property(valueArb, fc.nat(), (vals, cut) => {
          const m = new Map<number, never>();
          for (const [k, v] of Object.entries(vals)) m.set(NAMES.indexOf(k), v as never);
          const buf = encodePacked(SPECS, FP, m);
          const out: Record<string, FeatureValue> = {};
          const truncated = buf.subarray(0, cut % buf.length);
          expect(decodePacked(SPECS, FP, NAMES, truncated, out)).toBe(DecodeStatus.Malformed);
          expect(out).toEqual({});
          expect(decodePacked(SPECS, FP + 1, NAMES, buf, out)).toBe(DecodeStatus.Malformed);
          expect(Object.values(out).some((x) => typeof x === 'number' && Number.isNaN(x))).toBe(false);
        }),
      );
    });

    it('drops a stored NaN number as missing', () => {
      const buf = encodePacked(SPECS, FP, new Map([[0, 1.5]]));
      buf.writeDoubleLE(NaN, buf.length - 8);
      const out: Record<string, FeatureValue> = {};
      expect(decodePacked(SPECS, FP, NAMES, buf, out)).toBe(DecodeStatus.Ok);
      expect(out).toEqual({});
    });
  });
});

describe('hash codec', () => {
  describe('encodeHashField/decodeHashField', () => {
    it('round-trips every type', () => {
      fc.assert(
        fc.property(valueArb, (vals) => {
          for (const [k, v] of Object.entries(vals)) {
            const spec = SPECS[NAMES.indexOf(k)] as FeatureSpec;
            const enc = encodeHashField(spec, v);
            expect(decodeHashField(spec, typeof enc === 'string' ? Buffer.from(enc) : enc)).toEqual(v);
          }
        }),
      );
    });

    it('decodes garbage as missing, never NaN', () => {
      const n = SPECS[0] as FeatureSpec;
      const v = SPECS[1] as FeatureSpec;
      expect(decodeHashField(n, Buffer.from('abc'))).toBeUndefined();
      expect(decodeHashField(n, Buffer.from('NaN'))).toBeUndefined();
      expect(decodeHashField(n, Buffer.from(''))).toBeUndefined();
      expect(decodeHashField(v, Buffer.alloc(5))).toBeUndefined();
      expect(decodeHashField(n, null)).toBeUndefined();
    });
  });
});
