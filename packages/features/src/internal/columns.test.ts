import type { FeatureValue } from '@recspine/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineFeatureSchema, type CompiledGroup, type FeatureSpec } from '../FeatureSchema.js';
import { InMemoryFeatureStore } from '../InMemoryFeatureStore.js';
import { itemProfile, testSchema } from '../../test/fixtures.js';
import type { Backend } from './Backend.js';
import { DecodeStatus, decayTo, decodeHashField, decodePacked, encodeHashField, encodePacked } from './codec.js';
import {
  allocGroupColumns,
  allocSnapshotColumns,
  cellValue,
  decodeHashColumns,
  decodePackedColumns,
  decodeSnapshotColumns,
  parseNumber,
  shortString,
  snapshotSpec,
} from './columns.js';

const SPECS: FeatureSpec[] = [
  { name: 'n', type: 'number', default: 0, freshness: 'stable' },
  { name: 'v', type: 'vector', dim: 3, default: new Float32Array(3), freshness: 'stable' },
  { name: 'c', type: 'category', default: '', freshness: 'stable' },
  { name: 'l', type: 'idList', default: [], freshness: 'stable' },
  { name: 'm', type: 'number', default: 0, freshness: 'stable' },
];
const HOT: FeatureSpec[] = [
  ...SPECS.slice(0, 4).map((f) => ({ ...f, freshness: 'hot' as const })),
  { name: 'd', type: 'number', default: 0, freshness: 'hot', halfLifeMs: 1000 },
];
const P = defineFeatureSchema({ groups: [{ name: 'p', entity: 'item', features: SPECS }] }).group('p') as CompiledGroup;
const H = defineFeatureSchema({ groups: [{ name: 'h', entity: 'item', features: HOT }] }).group('h') as CompiledGroup;

const valueArb = fc.record(
  {
    n: fc.double({ noNaN: true, noDefaultInfinity: true }),
    v: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }).map((a) => Float32Array.from(a)),
    c: fc.string(),
    l: fc.array(
      fc.string({ maxLength: 5 }).filter((x) => !x.includes('\u001f')),
      { maxLength: 4 },
    ),
    m: fc.integer(),
  },
  { requiredKeys: [] },
);

/** Row `row` of group columns as a record (what the row decoder would have produced). */
function rowOf(g: CompiledGroup, gc: ReturnType<typeof allocGroupColumns>, row: number): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  gc.cols.forEach((c, i) => {
    const v = cellValue(c, row);
    if (v !== undefined) out[g.outputNames[i] as string] = v;
  });
  return out;
}

describe('columns', () => {
  describe('parseNumber', () => {
    const numberish = fc.oneof(
      fc.double().map(String),
      fc.integer().map(String),
      fc.stringMatching(/^-?[0-9]{0,20}(\.[0-9]{0,25})?$/),
      fc.stringMatching(/^[-+ 0-9.eExa-fIinty]{0,12}$/),
      fc.string({ maxLength: 45 }),
    );
    it('agrees with Number() on every input, and never returns a non-finite value (property)', () => {
      fc.assert(
        fc.property(numberish, fc.nat(3), (s, pad) => {
          const raw = Buffer.from('#'.repeat(pad) + s + '#'.repeat(pad), 'latin1');
          const x = parseNumber(raw, pad, raw.length - pad);
          const ref = s.length === 0 || Buffer.byteLength(s, 'latin1') > 40 ? NaN : Number(Buffer.from(s, 'latin1').toString('latin1'));
          if (Number.isFinite(ref)) expect(Object.is(x, ref)).toBe(true);
          else expect(Number.isNaN(x)).toBe(true);
        }),
        { numRuns: 3000 },
      );
    });

    it('parses the forms Redis writes exactly', () => {
      for (const s of [
        '0',
        '-0',
        '110',
        '10.5',
        '0.1',
        '-3.25',
        '1764169748000',
        '9.9999999999998',
        '1.5e+20',
        '12.',
        // around the exact-mantissa bound 2^53 − 1 = 9007199254740991
        '9007199254740991',
        '9007199254740992',
        '9007199254740993',
        '900719925474099.3',
        '0.9007199254740993',
        '1.234567890123456',
        '9.999999999999998',
        '-0.000000000000000000001',
      ])
        expect(Object.is(parseNumber(Buffer.from(s)), Number(s))).toBe(true);
      expect(parseNumber(Buffer.from('-'))).toBeNaN();
      expect(parseNumber(Buffer.from('1..2'))).toBeNaN();
      expect(parseNumber(Buffer.from('inf'))).toBeNaN();
    });
  });

  describe('decodePackedColumns', () => {
    it('decodes exactly what the row decoder decodes, corrupted or not (property)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(valueArb, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 6 }),
          (records) => {
            const gc = allocGroupColumns(P, records.length);
            records.forEach(([vals, cut, flip, how], row) => {
              const m = new Map<number, FeatureValue>();
              for (const [k, v] of Object.entries(vals)) m.set(P.index.get(k) as number, v);
              let buf: Buffer | null = encodePacked(SPECS, P.fingerprint, m);
              if (how === 1) buf = buf.subarray(0, cut % buf.length);
              else if (how === 2) {
                buf = Buffer.from(buf);
                buf[flip % buf.length] = (buf[flip % buf.length] as number) ^ 0xff;
              } else if (how === 3) buf = null;
              const ref: Record<string, FeatureValue> = {};
              const st = decodePacked(SPECS, P.fingerprint, P.outputNames, buf, ref);
              const got = decodePackedColumns(P, buf, gc, row);
              expect(got).toBe(st === DecodeStatus.Ok ? 1 : st === DecodeStatus.Malformed ? 2 : 0);
              expect(rowOf(P, gc, row)).toEqual(ref);
            });
          },
        ),
        { numRuns: 500 },
      );
    });

    it('decodes wide numeric records (eight numbers per bitmap byte) exactly like the row decoder, corrupted or not (property)', () => {
      // 19 numbers then a category: bytes 0 and 1 of the bitmap are all numbers, byte 2 is mixed.
      const wide: FeatureSpec[] = [
        ...Array.from({ length: 19 }, (_, i): FeatureSpec => ({ name: `x${i}`, type: 'number', default: 0, freshness: 'stable' })),
        { name: 'c', type: 'category', default: '', freshness: 'stable' },
      ];
      const W = defineFeatureSchema({ groups: [{ name: 'w', entity: 'item', features: wide }] }).group('w') as CompiledGroup;
      const num = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0));
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.array(fc.option(num, { freq: 4 }), { minLength: 19, maxLength: 19 }),
              fc.option(fc.string()),
              fc.nat(),
              fc.nat(),
              fc.integer({ min: 0, max: 2 }),
            ),
            { minLength: 1, maxLength: 5 },
          ),
          (records) => {
            const gc = allocGroupColumns(W, records.length);
            records.forEach(([nums, c, cut, flip, how], row) => {
              const m = new Map<number, FeatureValue>();
              nums.forEach((x, i) => {
                if (x !== null) m.set(i, x);
              });
              if (c !== null) m.set(19, c);
              let buf = encodePacked(wide, W.fingerprint, m);
              if (how === 1) buf = buf.subarray(0, cut % buf.length);
              else if (how === 2) {
                buf = Buffer.from(buf);
                buf[flip % buf.length] = (buf[flip % buf.length] as number) ^ 0xff;
              }
              const ref: Record<string, FeatureValue> = {};
              const st = decodePacked(wide, W.fingerprint, W.outputNames, buf, ref);
              expect(decodePackedColumns(W, buf, gc, row)).toBe(st === DecodeStatus.Ok ? 1 : st === DecodeStatus.Malformed ? 2 : 0);
              expect(rowOf(W, gc, row)).toEqual(ref);
            });
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe('shortString', () => {
    it('returns what Buffer#toString("utf8") returns, on first sight and on every repeat, whatever the bytes (property)', () => {
      const bytes = fc.oneof(
        fc.string({ maxLength: 40 }).map((x) => Buffer.from(x, 'utf8')),
        fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
        // a small alphabet so that hash slots are shared and overwritten often
        fc.array(fc.constantFrom(0x61, 0x62, 0x63), { maxLength: 6 }).map((a) => Buffer.from(a)),
      );
      fc.assert(
        fc.property(fc.array(fc.tuple(bytes, fc.nat(3)), { minLength: 1, maxLength: 30 }), (items) => {
          for (let round = 0; round < 2; round++) {
            for (const [b, pad] of items) {
              // inside a larger buffer at an offset, like a record inside a reply
              const host = Buffer.concat([Buffer.alloc(pad, 0x7a), b, Buffer.alloc(2, 0x7a)]);
              expect(shortString(host, pad, pad + b.length)).toBe(b.toString('utf8'));
            }
          }
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('decodePackedColumns on a wide group', () => {
    // 20 features, a 3-byte presence bitmap, several vectors and numbers: every slot of the
    // backing arrays after the first is exercised.
    const WIDE: FeatureSpec[] = [0, 1, 2, 3].flatMap((k) => SPECS.map((f) => ({ ...f, name: `${f.name}${k}` })));
    const W = defineFeatureSchema({ groups: [{ name: 'w', entity: 'item', features: WIDE }] }).group('w') as CompiledGroup;
    it('decodes exactly what the row decoder decodes, every row independent (property)', () => {
      fc.assert(
        fc.property(fc.array(fc.array(valueArb, { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 5 }), (records) => {
          const gc = allocGroupColumns(W, records.length);
          records.forEach((parts, row) => {
            const m = new Map<number, FeatureValue>();
            parts.forEach((vals, k) => {
              for (const [name, v] of Object.entries(vals)) m.set(W.index.get(`${name}${k}`) as number, v);
            });
            const buf = encodePacked(WIDE, W.fingerprint, m);
            expect(decodePackedColumns(W, buf, gc, row)).toBe(1);
          });
          records.forEach((_, row) => {
            const ref: Record<string, FeatureValue> = {};
            const m = new Map<number, FeatureValue>();
            records[row]?.forEach((vals, k) => {
              for (const [name, v] of Object.entries(vals)) m.set(W.index.get(`${name}${k}`) as number, v);
            });
            decodePacked(WIDE, W.fingerprint, W.outputNames, encodePacked(WIDE, W.fingerprint, m), ref);
            expect(rowOf(W, gc, row)).toEqual(ref);
          });
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('decodeSnapshotColumns', () => {
    it('decodes a packed snapshot of a hash record exactly like the hash record, decay included (property)', () => {
      const spec = snapshotSpec(H);
      expect(spec.features.map((f) => f.name)).toEqual(H.hashFields);
      fc.assert(
        fc.property(
          valueArb,
          fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
          fc.option(fc.integer({ min: 0, max: 10_000 })),
          fc.integer({ min: 0, max: 20_000 }),
          (vals, d, t, now) => {
            // the hash as the store writes it ...
            const fields: (Buffer | null)[] = H.hashFields.map((name, i) => {
              if (name === 'd') return d === null ? null : Buffer.from(String(d));
              if (name === 'd~t') return t === null ? null : Buffer.from(String(t));
              const v = (vals as Record<string, FeatureValue>)[name];
              if (v === undefined) return null;
              const enc = encodeHashField(H.features[i] as FeatureSpec, v);
              return typeof enc === 'string' ? Buffer.from(enc) : enc;
            });
            // ... and its snapshot as the write script packs it (each field parsed, undecayed)
            const m = new Map<number, FeatureValue>();
            spec.features.forEach((f, i) => {
              const v = decodeHashField(f, fields[i]);
              if (v !== undefined) m.set(i, v);
            });
            const snap = encodePacked(spec.features, spec.fingerprint, m);
            const viaHash = allocGroupColumns(H, 1);
            decodeHashColumns(H, fields, now, viaHash, 0);
            const { gc: viaSnap, sc } = allocSnapshotColumns(H, spec, 1);
            expect(decodeSnapshotColumns(H, spec, snap, now, sc, 0)).toBe(1);
            expect(rowOf(H, viaSnap, 0)).toEqual(rowOf(H, viaHash, 0));
            // the hash stores the decimal string, so -0 is stored (and read back) as 0
            if (d !== null && t !== null && now > t) expect(rowOf(H, viaSnap, 0).d).toBe(decayTo(Number(String(d)), t, now, 1000));
          },
        ),
        { numRuns: 500 },
      );
    });

    it('rejects a record of another layout (a packed record of the group, another version) so the caller falls back', () => {
      const spec = snapshotSpec(H);
      const { sc } = allocSnapshotColumns(H, spec, 1);
      const plain = encodePacked(HOT, H.fingerprint, new Map<number, FeatureValue>([[0, 1]]));
      expect(decodeSnapshotColumns(H, spec, plain, 0, sc, 0)).toBe(2);
      const other = encodePacked(spec.features, spec.fingerprint, new Map<number, FeatureValue>([[0, 1]]));
      other[0] = 9;
      expect(decodeSnapshotColumns(H, spec, other, 0, sc, 0)).toBe(2);
      expect(decodeSnapshotColumns(H, spec, null, 0, sc, 0)).toBe(0);
      expect(sc.cols.every((c) => c.present[0] === 0)).toBe(true);
    });
  });

  describe('decodeHashColumns', () => {
    it('decodes exactly what the field decoder decodes, decaying counters to the read time (property)', () => {
      const field = fc.oneof(
        fc.constant(null),
        fc.string({ maxLength: 12 }).map((s) => Buffer.from(s)),
        fc.double().map((x) => Buffer.from(String(x))),
        fc.uint8Array({ maxLength: 14 }).map((a) => Buffer.from(a)),
      );
      fc.assert(
        fc.property(valueArb, fc.array(field, { minLength: 6, maxLength: 6 }), fc.boolean(), (vals, garbage, useGarbage) => {
          const fields: (Buffer | null)[] = H.hashFields.map((name, i) => {
            if (useGarbage) return garbage[i] ?? null;
            if (name === 'd') return Buffer.from('8');
            if (name === 'd~t') return Buffer.from('1000');
            const v = (vals as Record<string, FeatureValue>)[name];
            const f = H.features[i] as FeatureSpec;
            if (v === undefined) return null;
            const enc = encodeHashField(f, v);
            return typeof enc === 'string' ? Buffer.from(enc) : enc;
          });
          const now = 3000;
          const gc = allocGroupColumns(H, 2);
          const errors = decodeHashColumns(H, fields, now, gc, 1);
          const ref: Record<string, FeatureValue> = {};
          let refErrors = 0;
          H.features.forEach((f, i) => {
            const raw = fields[i];
            if (raw === null || raw === undefined) return;
            let v = decodeHashField(f, raw);
            if (v === undefined) {
              refErrors++;
              return;
            }
            if (f.halfLifeMs !== undefined) {
              const t = decodeHashField({ ...f, halfLifeMs: undefined }, fields[5]);
              if (typeof t === 'number') v = decayTo(v as number, t, now, f.halfLifeMs);
            }
            ref[f.name] = v;
          });
          expect(rowOf(H, gc, 1)).toEqual(ref);
          expect(errors).toBe(refErrors);
          expect(rowOf(H, gc, 0)).toEqual({});
          if (!useGarbage) expect(ref.d).toBeCloseTo(2, 12); // 8 halved twice (2 half-lives)
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('StoreEngine (columnar reads)', () => {
    it('reports a malformed record as missing in every column and counts it once, cache tier or not', async () => {
      for (const cache of [false, { max: 100, ttlMs: 60_000 }] as const) {
        const store = new InMemoryFeatureStore(testSchema(), { cache });
        await store.write([
          { entity: 'item', id: 'a', group: 'item_profile', set: itemProfile(1) },
          { entity: 'item', id: 'b', group: 'item_profile', set: itemProfile(2) },
        ]);
        // corrupt b's stored record behind the store's back (a schema drift or a bad writer)
        const backend = (store as unknown as { backend: Backend }).backend;
        const bad = Buffer.from((await backend.getPacked([store.key('item', 'b', 'item_profile')]))[0] as Buffer);
        bad.writeUInt32LE(0xdeadbeef, 1);
        const key = store.key('item', 'b', 'item_profile');
        await backend.apply([
          { key, encoding: 'packed', packed: bad, set: [], incr: [], decay: [], guard: undefined, aux: undefined, ttlMs: 0 },
        ]);
        const before = store.stats().decodeErrors;
        for (let k = 0; k < 3; k++) {
          const batch = await store.read({ itemIds: ['a', 'b', 'c'], groups: ['item_profile'] });
          const cols = batch.columns;
          expect(cols?.get('f0')?.present).toEqual(Uint8Array.of(1, 0, 0));
          for (const c of cols?.values() ?? []) expect(c.present[1]).toBe(0);
          expect(batch.items[1]).toEqual({});
          expect((batch.items[0] as Record<string, unknown>).f0).toBe(100);
        }
        // without a cache every read decodes (and counts) the bad record; with one, only the miss does
        expect(store.stats().decodeErrors - before).toBe(cache === false ? 3 : 1);
      }
    });

    it('gives the same columns from the cache tier as from the backend', async () => {
      const cached = new InMemoryFeatureStore(testSchema(), { cache: { max: 1000, ttlMs: 60_000 } });
      const plain = new InMemoryFeatureStore(testSchema(), { cache: false });
      const ids = Array.from({ length: 30 }, (_, i) => `v${i}`);
      const muts = ids
        .filter((_, i) => i % 7 !== 2)
        .flatMap((id, i) => [
          { entity: 'item' as const, id, group: 'item_profile', set: itemProfile(i) },
          { entity: 'creator' as const, id: `c${i % 4}`, group: 'creator_profile', set: { followers: i, country: 'US' } },
        ]);
      await cached.write(muts);
      await plain.write(muts);
      const req = { itemIds: ids, creatorIds: ids.map((_, i) => `c${i % 5}`) };
      const miss = await cached.read(req);
      const hit = await cached.read(req);
      const ref = await plain.read(req);
      expect(cached.stats().cacheHits).toBeGreaterThan(0);
      for (const b of [miss, hit]) {
        expect([...(b.columns?.keys() ?? [])]).toEqual([...(ref.columns?.keys() ?? [])]);
        for (const [k, c] of ref.columns ?? []) {
          const got = b.columns?.get(k);
          expect(got?.present).toEqual(c.present);
          for (let i = 0; i < ids.length; i++) expect(got === undefined ? undefined : cellValue(got, i)).toEqual(cellValue(c, i));
        }
        expect(b.items).toEqual(ref.items);
      }
    });
  });
});
