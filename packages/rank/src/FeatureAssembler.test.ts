import {
  columnarFeatureBatch,
  type Candidate,
  featureRowsFromColumns,
  type FeatureBatch,
  type FeatureColumn,
  type FeatureRow,
  type FeatureValue,
  type MissingReason,
  type RecRequest,
} from '@recspine/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeatureAssembler } from './FeatureAssembler.js';
import type { FeatureAssemblerSpec, FeatureRef, FeatureSpec, Normalization } from './FeatureSpec.js';
import { fnv1a32 } from './internal/hash.js';
import { makeCandidate, makeCtx } from './testing/fixtures.js';

function batch(user: FeatureRow, items: FeatureRow[], missing: [string, MissingReason][] = []): FeatureBatch {
  return { userId: 'u1', itemIds: items.map((_, i) => `i${i}`), user, items, missingGroups: new Map(missing) };
}

function row(a: FeatureAssembler, data: Float32Array, r: number): Record<string, number> {
  const out: Record<string, number> = {};
  a.columns.forEach((c, k) => (out[c] = data[r * a.width + k] as number));
  return out;
}

describe('FeatureAssembler', () => {
  describe('constructor', () => {
    it('lays out columns in spec order with missing indicators', () => {
      const a = new FeatureAssembler({
        maxBatch: 4,
        features: [
          { kind: 'numeric', name: 'age', from: 'user', key: 'age' },
          { kind: 'vector', name: 'emb', from: 'item', key: 'emb', dim: 2, missingIndicator: false },
          { kind: 'category', name: 'dev', from: 'context', key: 'device', vocabulary: ['ios', 'web'], encoding: 'onehot' },
          { kind: 'idList', name: 'tags', from: 'item', key: 'tags', encoding: 'hashedBag', buckets: 2 },
        ],
      });
      expect(a.columns).toEqual([
        'age',
        'age__missing',
        'emb[0]',
        'emb[1]',
        'dev=ios',
        'dev=web',
        'dev=__oov__',
        'dev__missing',
        'tags#0',
        'tags#1',
        'tags__missing',
      ]);
      expect(a.width).toBe(11);
      expect(a.usesOnlineFeatures).toBe(true);
    });

    it('rejects invalid specs with RECSPINE_ERR_RANK_FEATURE_SPEC', () => {
      const bad: FeatureAssemblerSpec[] = [
        { maxBatch: 4, features: [] },
        { maxBatch: 0, features: [{ kind: 'numeric', name: 'a', from: 'user', key: 'a' }] },
        {
          maxBatch: 4,
          features: [
            { kind: 'numeric', name: 'a', from: 'user', key: 'a' },
            { kind: 'numeric', name: 'a', from: 'user', key: 'b' },
          ],
        },
        { maxBatch: 4, features: [{ kind: 'numeric', name: 'a', from: 'candidate', key: 'nope' }] },
        { maxBatch: 4, features: [{ kind: 'numeric', name: 'a', from: 'context', key: 'nope' }] },
        { maxBatch: 4, features: [{ kind: 'numeric', name: 'a', from: 'user', key: 'a', normalize: { kind: 'zscore', mean: 0, std: 0 } }] },
        { maxBatch: 4, features: [{ kind: 'category', name: 'c', from: 'user', key: 'c', vocabulary: ['x', 'x'], encoding: 'onehot' }] },
        { maxBatch: 4, features: [{ kind: 'vector', name: 'v', from: 'user', key: 'v', dim: 0 }] },
        { maxBatch: 4, features: [{ kind: 'idList', name: 'l', from: 'user', key: 'l', encoding: 'hashedBag' }] },
      ];
      for (const s of bad)
        expect(() => new FeatureAssembler(s)).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_FEATURE_SPEC' }));
    });

    it('marks specs without user/item sources as offline (usable in degraded mode and coarse rank)', () => {
      const a = new FeatureAssembler({
        maxBatch: 4,
        features: [
          { kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore' },
          { kind: 'dot', name: 'aff', a: { from: 'state', key: 'userEmbedding' }, b: { from: 'candidate', key: 'meta.embedding' } },
        ],
      });
      expect(a.usesOnlineFeatures).toBe(false);
    });
  });

  describe('cross features', () => {
    const crossSpec: FeatureAssemblerSpec = {
      maxBatch: 64,
      features: [
        { kind: 'dot', name: 'aff', a: { from: 'state', key: 'userEmbedding' }, b: { from: 'candidate', key: 'meta.embedding' } },
        {
          kind: 'dot',
          name: 'cos',
          a: { from: 'state', key: 'userEmbedding' },
          b: { from: 'candidate', key: 'meta.embedding' },
          cosine: true,
        },
        { kind: 'match', name: 'lang', a: { from: 'context', key: 'language' }, b: { from: 'candidate', key: 'meta.language' } },
      ],
    };

    it('resolves a row-constant operand once per call and feature, and again on the next call (a new state value is read)', () => {
      let gets = 0;
      class CountingMap extends Map<string, unknown> {
        override get(k: string): unknown {
          if (k === 'userEmbedding') gets++;
          return super.get(k);
        }
      }
      const a = new FeatureAssembler(crossSpec);
      const cands = Array.from({ length: 50 }, (_, i) =>
        makeCandidate(`i${i}`, { meta: { embedding: Float32Array.of(i, 1, -i), language: i % 2 ? 'en' : 'pt' } }),
      );
      const state = new CountingMap([['userEmbedding', Float32Array.of(1, 2, 3)]]);
      const ctx = makeCtx({ state, request: { context: { language: 'en' } } });
      const l1 = a.assemble({ candidates: cands, ctx });
      // once per dot feature (two of them), not once per row (100)
      expect(gets).toBe(2);
      expect(row(a, l1.data, 7)['aff']).toBeCloseTo(7 + 2 - 21, 5);
      expect(row(a, l1.data, 7)['lang']).toBe(1);
      l1.release();
      state.set('userEmbedding', Float32Array.of(0, 0, 1));
      const l2 = a.assemble({ candidates: cands, ctx });
      expect(gets).toBe(4);
      expect(row(a, l2.data, 7)['aff']).toBeCloseTo(-7, 5);
      l2.release();
    });

    it('Float32Array operands score the same doubles as plain-array operands', () => {
      fc.assert(
        fc.property(
          fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -100, max: 100 }), { minLength: 1, maxLength: 40 }),
          fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -100, max: 100 }), { minLength: 40, maxLength: 40 }),
          (u, e) => {
            const n = u.length;
            const emb = Float32Array.from(e.slice(0, n));
            const a = new FeatureAssembler(crossSpec);
            const cand = [makeCandidate('x', { meta: { embedding: emb } })];
            const f32 = a.assemble({ candidates: cand, ctx: makeCtx({ state: new Map([['userEmbedding', Float32Array.from(u)]]) }) });
            const r32 = row(a, f32.data, 0);
            f32.release();
            // a plain number[] takes the generic loop
            const arr = a.assemble({ candidates: cand, ctx: makeCtx({ state: new Map([['userEmbedding', [...Float32Array.from(u)]]]) }) });
            const rArr = row(a, arr.data, 0);
            arr.release();
            expect(r32['aff']).toBe(rArr['aff']);
            expect(r32['cos']).toBe(rArr['cos']);
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('assemble', () => {
    const spec: FeatureAssemblerSpec = {
      maxBatch: 8,
      features: [
        {
          kind: 'numeric',
          name: 'age',
          from: 'user',
          key: 'age',
          normalize: { kind: 'zscore', mean: 30, std: 10 },
          default: -9,
          group: 'user_profile',
        },
        { kind: 'numeric', name: 'views', from: 'item', key: 'views', normalize: { kind: 'log1p' }, clip: [0, 5] },
        { kind: 'vector', name: 'emb', from: 'item', key: 'emb', dim: 2, default: 0.5 },
        { kind: 'category', name: 'cat', from: 'item', key: 'cat', vocabulary: ['music', 'news'], encoding: 'onehot' },
        { kind: 'category', name: 'dev', from: 'context', key: 'device', vocabulary: ['ios', 'web'], encoding: 'index' },
        { kind: 'idList', name: 'ntags', from: 'item', key: 'tags', encoding: 'count' },
        { kind: 'idList', name: 'bag', from: 'item', key: 'tags', encoding: 'hashedBag', buckets: 3 },
        { kind: 'dot', name: 'aff', a: { from: 'user', key: 'uemb' }, b: { from: 'item', key: 'emb' } },
      ],
    };

    it('treats an idList count normalised past float32 as malformed: default + indicator, never Infinity', () => {
      const a = new FeatureAssembler({
        maxBatch: 2,
        features: [
          { kind: 'idList', name: 'n', from: 'item', key: 'tags', encoding: 'count', normalize: { kind: 'zscore', mean: 0, std: 1e-39 } },
        ],
      });
      const lease = a.assemble({ batch: batch({}, [{ tags: ['a', 'b'] }, { tags: [] }]), ctx: makeCtx() });
      expect(Array.from(lease.data).every(Number.isFinite)).toBe(true);
      expect(row(a, lease.data, 0)).toEqual({ n: 0, n__missing: 1 }); // 2 / 1e-39 overflows float32
      expect(row(a, lease.data, 1)).toEqual({ n: 0, n__missing: 0 }); // 0 / 1e-39 = 0 is fine
      expect(lease.malformed).toBe(1);
    });

    it('encodes present values and turns absent ones into default + missing indicator', () => {
      const a = new FeatureAssembler(spec);
      const b = batch({ age: 50, uemb: Float32Array.of(1, 2) }, [
        { views: Math.E - 1, emb: Float32Array.of(3, 4), cat: 'news', tags: ['a', 'b', 'c', 'd'] },
        {},
      ]);
      const lease = a.assemble({ batch: b, ctx: makeCtx({ request: { context: { device: 'tv' } } }) });
      const r0 = row(a, lease.data, 0);
      expect(r0.age).toBeCloseTo(2);
      expect(r0.age__missing).toBe(0);
      expect(r0.views).toBeCloseTo(1);
      expect([r0['emb[0]'], r0['emb[1]'], r0.emb__missing]).toEqual([3, 4, 0]);
      expect([r0['cat=music'], r0['cat=news'], r0['cat=__oov__'], r0.cat__missing]).toEqual([0, 1, 0, 0]);
      expect(r0.dev).toBe(2); // out of vocabulary → vocabulary.length
      expect(r0.ntags).toBe(4);
      const bag = [0, 0, 0];
      for (const t of ['a', 'b', 'c', 'd']) bag[fnv1a32(t) % 3] = (bag[fnv1a32(t) % 3] as number) + 0.25;
      bag.forEach((v, k) => expect(r0[`bag#${k}`]).toBeCloseTo(v));
      expect(r0.aff).toBeCloseTo(1 * 3 + 2 * 4);
      const r1 = row(a, lease.data, 1);
      expect(r1.age).toBeCloseTo(2); // user features are the same on every row
      expect([r1.views, r1.views__missing]).toEqual([0, 1]);
      expect([r1['emb[0]'], r1['emb[1]'], r1.emb__missing]).toEqual([0.5, 0.5, 1]);
      expect([r1['cat=music'], r1['cat=news'], r1['cat=__oov__'], r1.cat__missing]).toEqual([0, 0, 0, 1]);
      expect([r1.aff, r1.aff__missing]).toEqual([0, 1]);
      expect(lease.missing).toBe(6); // row 1: views, emb, cat, ntags, bag, aff
      expect(lease.malformed).toBe(0);
      lease.release();
    });

    it('treats a whole missing group as missing in every row', () => {
      const a = new FeatureAssembler(spec);
      const lease = a.assemble({ batch: batch({}, [{}, {}], [['user_profile', 'timeout']]), ctx: makeCtx() });
      for (const r of [0, 1]) {
        const x = row(a, lease.data, r);
        expect([x.age, x.age__missing]).toEqual([-9, 1]);
        expect([x.dev, x.dev__missing]).toEqual([-1, 1]);
      }
      lease.release();
    });

    it('counts malformed values (wrong type, wrong length, non-finite) and treats them as missing', () => {
      const a = new FeatureAssembler(spec);
      const lease = a.assemble({
        batch: batch({ age: 'old', uemb: Float32Array.of(1, 2, 3) }, [
          { views: Number.NaN, emb: Float32Array.of(1, Number.POSITIVE_INFINITY), cat: ['x'], tags: 'notalist' },
        ]),
      });
      const x = row(a, lease.data, 0);
      expect([x.age, x.age__missing, x.views__missing, x.emb__missing, x.cat__missing, x.ntags__missing, x.aff__missing]).toEqual([
        -9, 1, 1, 1, 1, 1, 1,
      ]);
      expect([x['emb[0]'], x['emb[1]']]).toEqual([0.5, 0.5]);
      expect(lease.malformed).toBe(7);
      lease.release();
    });

    it('reads candidate, context and state values without a feature batch', () => {
      const a = new FeatureAssembler({
        maxBatch: 4,
        features: [
          { kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore' },
          { kind: 'numeric', name: 'tt', from: 'candidate', key: 'source:twoTower' },
          { kind: 'numeric', name: 'inPop', from: 'candidate', key: 'inSource:pop', missingIndicator: false },
          { kind: 'numeric', name: 'age', from: 'candidate', key: 'meta.ageHours' },
          { kind: 'numeric', name: 'q', from: 'candidate', key: 'meta.attributes.quality' },
          { kind: 'numeric', name: 'hasUser', from: 'context', key: 'hasUser', missingIndicator: false },
          { kind: 'numeric', name: 'hour', from: 'context', key: 'hourOfDay', missingIndicator: false },
          {
            kind: 'dot',
            name: 'aff',
            a: { from: 'state', key: 'userEmbedding' },
            b: { from: 'candidate', key: 'meta.embedding' },
            cosine: true,
          },
        ],
      });
      const now = Date.UTC(2024, 0, 1, 13);
      const cands = [
        makeCandidate('a', {
          retrievalScore: 0.5,
          sources: ['twoTower', 'pop'],
          sourceScores: [0.9, 3],
          meta: { publishedAtMs: now - 2 * 3_600_000, embedding: Float32Array.of(2, 0), attributes: { quality: 0.7 } },
        }),
        makeCandidate('b', { retrievalScore: 0.25, sources: ['fresh'] }),
      ];
      const ctx = makeCtx({ state: new Map([['userEmbedding', Float32Array.of(1, 1)]]), request: { context: { nowMs: now } } });
      const lease = a.assemble({ candidates: cands, ctx });
      const r0 = row(a, lease.data, 0);
      expect([r0.rs, r0.tt, r0.inPop, r0.age, r0.q, r0.hasUser, r0.hour]).toEqual([
        0.5,
        expect.closeTo(0.9, 5),
        1,
        2,
        expect.closeTo(0.7, 5),
        1,
        13,
      ]);
      expect(r0.aff).toBeCloseTo(Math.SQRT1_2);
      const r1 = row(a, lease.data, 1);
      expect([r1.tt, r1.tt__missing, r1.inPop, r1.age__missing, r1.q__missing, r1.aff__missing]).toEqual([0, 1, 0, 1, 1, 1]);
      lease.release();
    });

    it('encodes match features as 1/0 equality of two categorical values, missing when either side is absent', () => {
      const a = new FeatureAssembler({
        maxBatch: 4,
        features: [
          { kind: 'match', name: 'lang', a: { from: 'context', key: 'language' }, b: { from: 'candidate', key: 'meta.language' } },
          { kind: 'match', name: 'bucket', a: { from: 'user', key: 'bucket' }, b: { from: 'item', key: 'bucket' }, default: -1 },
        ],
      });
      expect(a.columns).toEqual(['lang', 'lang__missing', 'bucket', 'bucket__missing']);
      const cands = [
        makeCandidate('a', { meta: { language: 'en' } }),
        makeCandidate('b', { meta: { language: 'de' } }),
        makeCandidate('c', {}),
      ];
      const ctx = makeCtx({ request: { context: { language: 'en' } } });
      const lease = a.assemble({
        candidates: cands,
        ctx,
        batch: batch({ bucket: 3 }, [{ bucket: '3' }, { bucket: 4 }, { bucket: true as never }]),
      });
      const rows = [0, 1, 2].map((r) => row(a, lease.data, r));
      expect(rows.map((r) => [r.lang, r.lang__missing])).toEqual([
        [1, 0],
        [0, 0],
        [0, 1],
      ]);
      // A number matches its string form; a malformed side counts as malformed and takes the default.
      expect(rows.map((r) => [r.bucket, r.bucket__missing])).toEqual([
        [1, 0],
        [0, 0],
        [-1, 1],
      ]);
      expect(lease.malformed).toBe(1);
      expect(lease.missing).toBe(1);
      lease.release();
    });

    it('rejects misaligned inputs and batches over maxBatch with coded errors', () => {
      const a = new FeatureAssembler(spec);
      expect(() => a.assemble({ batch: batch({}, [{}, {}]), rows: 3 })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_RANK_FEATURE_BATCH' }),
      );
      expect(() => a.assemble({ rows: 9 })).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_BATCH_TOO_LARGE' }));
      const c = new FeatureAssembler({
        maxBatch: 4,
        features: [{ kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore' }],
      });
      expect(() => c.assemble({ rows: 2 })).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_RANK_FEATURE_BATCH' }));
    });

    it('gives concurrent leases distinct buffers and reuses released ones', () => {
      const a = new FeatureAssembler(spec);
      const b = batch({ age: 40 }, [{ views: 1 }]);
      const l1 = a.assemble({ batch: b });
      const l2 = a.assemble({ batch: batch({ age: 20 }, [{ views: 1 }]) });
      expect(l1.data.buffer).not.toBe(l2.data.buffer);
      expect(row(a, l1.data, 0).age).toBeCloseTo(1);
      expect(row(a, l2.data, 0).age).toBeCloseTo(-1);
      const buf = l1.data.buffer;
      l1.release();
      const l3 = a.assemble({ batch: b });
      expect(l3.data.buffer).toBe(buf);
      l2.release();
      l3.release();
    });

    it('never writes NaN or infinity, whatever the values (property)', () => {
      const a = new FeatureAssembler(spec);
      const value: fc.Arbitrary<FeatureValue | undefined> = fc.oneof(
        fc.constant(undefined),
        fc.double(),
        fc.string(),
        fc.array(fc.string(), { maxLength: 4 }),
        fc.array(fc.double({ noDefaultInfinity: false }), { minLength: 1, maxLength: 3 }).map((xs) => Float32Array.from(xs)),
      );
      const rowArb = fc.record({ views: value, emb: value, cat: value, tags: value }).map((r) => {
        const out: Record<string, FeatureValue> = {};
        for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
        return out;
      });
      fc.assert(
        fc.property(value, value, fc.array(rowArb, { minLength: 1, maxLength: 8 }), (age, uemb, items) => {
          const user: Record<string, FeatureValue> = {};
          if (age !== undefined) user.age = age;
          if (uemb !== undefined) user.uemb = uemb;
          const lease = a.assemble({ batch: batch(user, items) });
          try {
            for (const v of lease.data) if (!Number.isFinite(v)) return false;
            return lease.data.length === items.length * a.width;
          } finally {
            lease.release();
          }
        }),
        { numRuns: 300 },
      );
    });
    describe('assemble (columnar batches)', () => {
      const spec: FeatureAssemblerSpec = {
        maxBatch: 8,
        features: [
          { kind: 'numeric', name: 'age', from: 'user', key: 'age', group: 'user_profile' },
          { kind: 'numeric', name: 'views', from: 'item', key: 'views', normalize: { kind: 'log1p' }, clip: [0, 5], group: 'stream' },
          { kind: 'numeric', name: 'nope', from: 'item', key: 'not_in_batch', default: 3 },
          { kind: 'vector', name: 'emb', from: 'item', key: 'emb', dim: 2, default: 0.5 },
          { kind: 'vector', name: 'emb_noind', from: 'item', key: 'emb', dim: 2, missingIndicator: false },
          { kind: 'category', name: 'cat', from: 'item', key: 'cat', vocabulary: ['music', 'news'], encoding: 'onehot' },
          { kind: 'category', name: 'cat_i', from: 'item', key: 'cat', vocabulary: ['music', 'news'], encoding: 'index' },
          { kind: 'idList', name: 'ntags', from: 'item', key: 'tags', encoding: 'count' },
          { kind: 'idList', name: 'bag', from: 'item', key: 'tags', encoding: 'hashedBag', buckets: 3, group: 'profile' },
          { kind: 'dot', name: 'aff', a: { from: 'user', key: 'uemb' }, b: { from: 'item', key: 'emb' } },
          { kind: 'dot', name: 'self', a: { from: 'item', key: 'emb' }, b: { from: 'item', key: 'emb2' }, cosine: true },
          { kind: 'match', name: 'lang', a: { from: 'context', key: 'language' }, b: { from: 'item', key: 'cat' } },
          { kind: 'numeric', name: 'rscore', from: 'candidate', key: 'retrievalScore' },
        ],
      };
      const KEYS = ['views', 'emb', 'emb2', 'cat', 'tags'] as const;

      /** A batch whose rows throw when read: proves the columnar path never builds them. */
      function columnsOnly(b: FeatureBatch): FeatureBatch {
        return {
          userId: b.userId,
          itemIds: b.itemIds,
          user: b.user,
          missingGroups: b.missingGroups,
          ...(b.columns === undefined ? {} : { columns: b.columns }),
          get items(): readonly FeatureRow[] {
            throw new Error('rows were read');
          },
        };
      }

      it('reads batch.columns without building rows and matches the row path', () => {
        const a = new FeatureAssembler(spec);
        const present = Uint8Array.of(1, 0, 1);
        const columns = new Map<string, FeatureColumn>([
          ['views', { type: 'number', values: Float64Array.of(Math.E - 1, 0, 1e6), present }],
          ['emb', { type: 'vector', dim: 2, values: Float32Array.of(3, 4, 0, 0, 1, 0), present: Uint8Array.of(1, 0, 1) }],
          ['cat', { type: 'category', values: ['news', undefined, 'jazz'], present }],
          ['tags', { type: 'idList', values: [['a', 'b'], undefined, []], present }],
        ]);
        const cb = columnarFeatureBatch({
          userId: 'u1',
          itemIds: ['i0', 'i1', 'i2'],
          user: { age: 40, uemb: Float32Array.of(1, 2) },
          columns,
          missingGroups: new Map(),
        });
        const ctx = makeCtx({ request: { context: { language: 'news' } } });
        const cands = ['i0', 'i1', 'i2'].map((id, i) => makeCandidate(id, { retrievalScore: i / 10 }));
        const lc = a.assemble({ batch: columnsOnly(cb), candidates: cands, ctx });
        const r0 = row(a, lc.data, 0);
        expect(r0.views).toBeCloseTo(1);
        expect([r0['emb[0]'], r0['emb[1]'], r0.emb__missing]).toEqual([3, 4, 0]);
        expect(r0.aff).toBeCloseTo(11);
        expect([r0.lang, r0.nope, r0.nope__missing]).toEqual([1, 3, 1]);
        const r2 = row(a, lc.data, 2);
        expect(r2.views).toBe(5); // clipped
        expect([r2['cat=__oov__'], r2.cat_i]).toEqual([1, 2]);
        const r1 = row(a, lc.data, 1);
        expect([r1['emb[0]'], r1.emb__missing, r1.views__missing]).toEqual([0.5, 1, 1]);
        // the same batch read through its rows gives the same matrix and counts
        const lr = a.assemble({ batch: { ...cb, items: cb.items, columns: undefined } as FeatureBatch, candidates: cands, ctx });
        expect(Array.from(lc.data)).toEqual(Array.from(lr.data));
        expect([lc.missing, lc.malformed]).toEqual([lr.missing, lr.malformed]);
        lc.release();
        lr.release();
      });

      it('gives the same matrix, missing and malformed counts as the row path (property)', () => {
        const a = new FeatureAssembler(spec);
        const f32 = fc.double({ noDefaultInfinity: false }).map((x) => Math.fround(x));
        const column = (n: number): fc.Arbitrary<FeatureColumn | undefined> =>
          fc.oneof(
            fc.constant(undefined),
            fc
              .record({
                values: fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(NaN, 1e40)), {
                  minLength: n,
                  maxLength: n,
                }),
                present: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
              })
              .map((c): FeatureColumn => ({
                type: 'number',
                values: Float64Array.from(c.values),
                present: Uint8Array.from(c.present, Number),
              })),
            fc.integer({ min: 1, max: 3 }).chain((dim) =>
              fc
                .record({
                  values: fc.array(f32, { minLength: n * dim, maxLength: n * dim }),
                  present: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
                })
                .map((c): FeatureColumn => ({
                  type: 'vector',
                  dim,
                  values: Float32Array.from(c.values),
                  present: Uint8Array.from(c.present, Number),
                })),
            ),
            fc
              .array(fc.option(fc.constantFrom('music', 'news', 'jazz', ''), { nil: undefined }), { minLength: n, maxLength: n })
              .map((vs): FeatureColumn => ({
                type: 'category',
                values: vs,
                present: Uint8Array.from(vs, (v) => (v === undefined ? 0 : 1)),
              })),
            fc
              .array(fc.option(fc.array(fc.string({ maxLength: 3 }), { maxLength: 4 }), { nil: undefined }), { minLength: n, maxLength: n })
              .map((vs): FeatureColumn => ({ type: 'idList', values: vs, present: Uint8Array.from(vs, (v) => (v === undefined ? 0 : 1)) })),
          );
        const arb = fc.integer({ min: 0, max: 8 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            cols: fc.tuple(...KEYS.map(() => column(n))),
            missing: fc.subarray(['user_profile', 'stream', 'profile']),
            age: fc.option(fc.oneof(fc.double(), fc.string()), { nil: undefined }),
            uemb: fc.option(
              fc.array(f32, { minLength: 1, maxLength: 3 }).map((xs) => Float32Array.from(xs)),
              { nil: undefined },
            ),
            language: fc.option(fc.constantFrom('music', 'news'), { nil: undefined }),
          }),
        );
        fc.assert(
          fc.property(arb, ({ n, cols, missing, age, uemb, language }) => {
            const columns = new Map<string, FeatureColumn>();
            KEYS.forEach((k, i) => {
              const c = cols[i];
              if (c !== undefined) columns.set(k, c);
            });
            const user: Record<string, FeatureValue> = {};
            if (age !== undefined) user.age = age;
            if (uemb !== undefined) user.uemb = uemb;
            const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
            const missingGroups = new Map(missing.map((g) => [g, 'timeout' as MissingReason]));
            const cb = columnarFeatureBatch({ userId: 'u1', itemIds, user, columns, missingGroups });
            const rb: FeatureBatch = { userId: 'u1', itemIds, user, items: featureRowsFromColumns(n, columns), missingGroups };
            const ctx = makeCtx({ request: { context: language === undefined ? {} : { language } } });
            const cands = itemIds.map((id, i) => makeCandidate(id, { retrievalScore: i }));
            const lc = a.assemble({ batch: columnsOnly(cb), candidates: cands, ctx });
            const lr = a.assemble({ batch: rb, candidates: cands, ctx });
            try {
              expect(Array.from(lc.data)).toEqual(Array.from(lr.data));
              expect([lc.missing, lc.malformed]).toEqual([lr.missing, lr.malformed]);
              for (const v of lc.data) expect(Number.isFinite(v)).toBe(true);
            } finally {
              lc.release();
              lr.release();
            }
          }),
          { numRuns: 400 },
        );
      });
    });
  });

  describe('assemble (candidate path: feature by feature)', () => {
    /** The float32 bit patterns: bit-identical means equal here (−0 ≠ 0, NaN payloads count). */
    const bits = (d: Float32Array): number[] => Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
    const NOW = Date.UTC(2024, 5, 1, 9);

    // ---- values: mostly well-formed, with every malformed shape the encoders must reject
    const junk = fc.constantFrom<unknown>(null, true, false, 'x', '', [], ['a', 'b'], [1, 2], {}, new Float64Array(2), Symbol.for('s'), 7n);
    const num = fc.oneof(
      { arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }), weight: 6 },
      { arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 1e40, -1e40, 0, -0, 1e308, 5e-324), weight: 2 },
      { arbitrary: fc.double(), weight: 1 },
    );
    const f32 = (n: number): fc.Arbitrary<Float32Array> =>
      fc
        .array(
          fc.oneof(
            { arbitrary: fc.float({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }), weight: 20 },
            { arbitrary: fc.constantFrom(NaN, Infinity, 3e38), weight: 1 },
          ),
          { minLength: n, maxLength: n },
        )
        .map((xs) => Float32Array.from(xs));
    /** An embedding-like value: Float32Arrays (own buffer or a view into a larger one) of `dim`, else anything. */
    const emb = (dim: number): fc.Arbitrary<unknown> =>
      fc.oneof(
        { arbitrary: f32(dim), weight: 12 },
        {
          arbitrary: f32(dim).map((a) => {
            const big = new Float32Array(dim + 3);
            big.set(a, 1);
            return big.subarray(1, 1 + dim);
          }),
          weight: 4,
        },
        // wrong lengths, one off either way (a longer one must not pass as its prefix)
        { arbitrary: fc.constantFrom(0, dim - 1, dim + 1, dim + 2).chain(f32), weight: 2 },
        { arbitrary: fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: dim, maxLength: dim }), weight: 1 },
        { arbitrary: junk, weight: 1 },
        { arbitrary: fc.constant(undefined), weight: 1 },
      );
    const attrVal = fc.oneof(
      { arbitrary: num, weight: 8 },
      { arbitrary: fc.boolean(), weight: 1 },
      { arbitrary: junk, weight: 1 },
      { arbitrary: fc.constant(undefined), weight: 2 },
    );
    const str = fc.oneof(
      { arbitrary: fc.constantFrom('en', 'pt', 'music', 'news', '3'), weight: 8 },
      { arbitrary: num, weight: 1 },
      { arbitrary: junk, weight: 1 },
      { arbitrary: fc.constant(undefined), weight: 1 },
    );
    const tags = fc.oneof(
      fc.array(fc.constantFrom('a', 'b', 'c', 'ü', '😀'), { maxLength: 4 }),
      fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), { maxLength: 3 }),
      junk,
      fc.constant(undefined),
    );
    const meta = (dim: number): fc.Arbitrary<unknown> =>
      fc.record(
        {
          language: str,
          category: str,
          creatorId: str,
          publishedAtMs: fc.oneof(
            { arbitrary: fc.double({ min: NOW - 1e10, max: NOW + 1e9, noNaN: true }), weight: 8 },
            { arbitrary: num, weight: 1 },
            { arbitrary: fc.constantFrom<unknown>(undefined, null, 'x'), weight: 1 },
          ),
          embedding: emb(dim),
          attributes: fc.oneof(
            {
              arbitrary: fc.record({ x: attrVal, y: attrVal, v: emb(dim), c: str, tags }, { requiredKeys: ['x', 'y'] }),
              weight: 9,
            },
            { arbitrary: fc.constantFrom<unknown>(undefined, null), weight: 1 },
          ),
        },
        { requiredKeys: ['language', 'embedding', 'attributes'] },
      );
    const candidate = (dim: number): fc.Arbitrary<Candidate> =>
      fc
        .record({
          retrievalScore: num,
          coarseScore: fc.option(num, { nil: undefined }),
          sources: fc.subarray(['pop', 'twoTower', 'fresh'], { minLength: 1 }),
          scores: fc.array(num, { minLength: 3, maxLength: 3 }),
          meta: fc.option(meta(dim), { nil: undefined, freq: 8 }),
        })
        .map(({ retrievalScore, coarseScore, sources, scores, meta: m }) => ({
          itemId: 'i',
          score: 0,
          retrievalScore,
          sources,
          sourceScores: scores.slice(0, sources.length),
          ...(coarseScore === undefined ? {} : { coarseScore }),
          ...(m === undefined ? {} : { meta: m as Candidate['meta'] }),
        }));
    const itemRow = (dim: number): fc.Arbitrary<FeatureRow> =>
      fc
        .record({ emb: emb(dim), x: attrVal, c: str, tags }, { requiredKeys: [] })
        .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as FeatureRow);

    // ---- specs: every kind, every source, with normalisation, clip, defaults, indicators, groups
    const CAND_KEYS = [
      'retrievalScore',
      'coarseScore',
      'sourceCount',
      'source:pop',
      'inSource:twoTower',
      'meta.embedding',
      'meta.category',
      'meta.creatorId',
      'meta.language',
      'meta.ageHours',
      'meta.attributes.x',
      'meta.attributes.y',
      'meta.attributes.v',
      'meta.attributes.c',
      'meta.attributes.tags',
      'meta.attributes.nope',
    ];
    const ref: fc.Arbitrary<FeatureRef> = fc.oneof(
      { arbitrary: fc.constantFrom(...CAND_KEYS).map((key): FeatureRef => ({ from: 'candidate', key })), weight: 8 },
      {
        arbitrary: fc
          .constantFrom('language', 'hasUser', 'hourOfDay', 'attributes.x', 'attributes.c')
          .map((key): FeatureRef => ({ from: 'context', key })),
        weight: 1,
      },
      { arbitrary: fc.constantFrom('userEmbedding', 'x', 'lang').map((key): FeatureRef => ({ from: 'state', key })), weight: 1 },
      { arbitrary: fc.constantFrom('uemb', 'x', 'c').map((key): FeatureRef => ({ from: 'user', key })), weight: 1 },
      { arbitrary: fc.constantFrom('emb', 'x', 'c', 'tags').map((key): FeatureRef => ({ from: 'item', key })), weight: 1 },
    );
    const vecRef: fc.Arbitrary<FeatureRef> = fc.oneof(
      { arbitrary: fc.constant<FeatureRef>({ from: 'candidate', key: 'meta.embedding' }), weight: 6 },
      { arbitrary: fc.constant<FeatureRef>({ from: 'state', key: 'userEmbedding' }), weight: 6 },
      { arbitrary: ref, weight: 2 },
    );
    const matchRef: fc.Arbitrary<FeatureRef> = fc.oneof(
      { arbitrary: fc.constant<FeatureRef>({ from: 'context', key: 'language' }), weight: 4 },
      {
        arbitrary: fc
          .constantFrom('meta.language', 'meta.category', 'meta.creatorId')
          .map((key): FeatureRef => ({ from: 'candidate', key })),
        weight: 4,
      },
      { arbitrary: ref, weight: 2 },
    );
    const finite = fc.double({ min: -5, max: 5, noNaN: true });
    /** `tiny`: a std that overflows float32 after normalising (numeric / dot must treat it as malformed). */
    const normalization = (tiny: boolean): fc.Arbitrary<Normalization | undefined> =>
      fc.oneof(
        fc.constant(undefined),
        fc.record({
          kind: fc.constant('zscore' as const),
          mean: fc.double({ min: -10, max: 10, noNaN: true }),
          std: tiny
            ? fc.oneof(fc.double({ min: 1e-3, max: 10, noNaN: true }), fc.constant(1e-38))
            : fc.double({ min: 1e-3, max: 10, noNaN: true }),
        }),
        fc
          .tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: 1e-3, max: 10, noNaN: true }))
          .map(([min, w]): Normalization => ({ kind: 'minmax', min, max: min + w })),
        fc.constant<Normalization>({ kind: 'log1p' }),
      );
    const normalize = normalization(true);
    // idList `count` gets the overflowing std too: its encode treats a count normalised past
    // float32 as malformed (it used to write ±Infinity).
    const countNormalize = normalization(true);
    const clip = fc.option(
      fc
        .tuple(fc.oneof(finite, fc.constant(-Infinity)), fc.oneof(finite, fc.constant(Infinity)))
        .map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a])),
      { nil: undefined },
    );
    const common = fc.record({
      missingIndicator: fc.option(fc.boolean(), { nil: undefined }),
      group: fc.option(fc.constantFrom('g1', 'g2'), { nil: undefined }),
    });
    const feature: fc.Arbitrary<Omit<FeatureSpec, 'name'>> = fc.oneof(
      {
        arbitrary: fc
          .tuple(common, ref, normalize, clip, fc.option(finite, { nil: undefined }))
          .map(([b, r, n, c, d]) => ({ kind: 'numeric' as const, ...b, ...r, normalize: n, clip: c, default: d })),
        weight: 6,
      },
      {
        arbitrary: fc
          .tuple(common, vecRef, vecRef, fc.boolean(), normalize, clip, fc.option(finite, { nil: undefined }))
          .map(([b, x, y, cosine, n, c, d]) => ({ kind: 'dot' as const, ...b, a: x, b: y, cosine, normalize: n, clip: c, default: d })),
        weight: 4,
      },
      {
        arbitrary: fc
          .tuple(common, matchRef, matchRef, fc.option(finite, { nil: undefined }))
          .map(([b, x, y, d]) => ({ kind: 'match' as const, ...b, a: x, b: y, default: d })),
        weight: 3,
      },
      {
        arbitrary: fc
          .tuple(common, vecRef, fc.integer({ min: 1, max: 4 }), fc.option(finite, { nil: undefined }))
          .map(([b, r, dim, d]) => ({ kind: 'vector' as const, ...b, ...r, dim, default: d })),
        weight: 1,
      },
      {
        arbitrary: fc
          .tuple(
            common,
            ref,
            fc.uniqueArray(fc.constantFrom('en', 'pt', 'music', 'news', '3', 'x'), { minLength: 1 }),
            fc.constantFrom('onehot' as const, 'index' as const),
            fc.option(finite, { nil: undefined }),
          )
          .map(([b, r, vocabulary, encoding, d]) => ({ kind: 'category' as const, ...b, ...r, vocabulary, encoding, default: d })),
        weight: 1,
      },
      {
        arbitrary: fc
          .tuple(common, ref, fc.constantFrom('count' as const, 'hashedBag' as const), fc.integer({ min: 1, max: 5 }), countNormalize)
          .map(([b, r, encoding, buckets, n]) => ({ kind: 'idList' as const, ...b, ...r, encoding, buckets, normalize: n })),
        weight: 1,
      },
    );

    /** A spec, a pool of candidates/item rows and per-row picks from it (cheap long inputs), context, state. */
    const world = (rows: { min: number; max: number }) =>
      fc.integer({ min: 1, max: 4 }).chain((dim) =>
        fc.record({
          features: fc.array(feature, { minLength: 1, maxLength: 8 }),
          pool: fc.array(candidate(dim), { minLength: 1, maxLength: 8 }),
          items: fc.array(itemRow(dim), { minLength: 1, maxLength: 4 }),
          picks: fc.array(fc.nat(), { minLength: rows.min, maxLength: rows.max }),
          userEmbedding: emb(dim),
          stateX: attrVal,
          stateLang: str,
          language: str,
          hasUser: fc.boolean(),
          ctxAttrs: fc.record({ x: attrVal, c: str }),
          user: fc.record({ uemb: emb(dim), x: attrVal, c: str }, { requiredKeys: [] }),
          batch: fc.constantFrom('none', 'rows'),
          missingGroups: fc.subarray(['g1', 'g2']),
        }),
      );

    const property = (rows: { min: number; max: number }, numRuns: number): void => {
      fc.assert(
        fc.property(world(rows), (w) => {
          const spec: FeatureAssemblerSpec = {
            maxBatch: 1024,
            features: w.features.map((f, i) => ({ ...f, name: `f${i}` }) as FeatureSpec),
          };
          const a = new FeatureAssembler(spec);
          const candidates = w.picks.map((p) => w.pool[p % w.pool.length] as Candidate);
          const state = new Map<string, unknown>();
          if (w.userEmbedding !== undefined) state.set('userEmbedding', w.userEmbedding);
          if (w.stateX !== undefined) state.set('x', w.stateX);
          if (w.stateLang !== undefined) state.set('lang', w.stateLang);
          const context = { nowMs: NOW, language: w.language, attributes: w.ctxAttrs } as unknown as RecRequest['context'];
          const ctx = makeCtx({ state, request: { context, ...(w.hasUser ? {} : { userId: undefined }) } });
          const batch: FeatureBatch | undefined =
            w.batch === 'none'
              ? undefined
              : {
                  userId: 'u1',
                  itemIds: candidates.map((_, i) => `i${i}`),
                  user: w.user as FeatureRow,
                  items: w.picks.map((p) => w.items[p % w.items.length] as FeatureRow),
                  missingGroups: new Map(w.missingGroups.map((g) => [g, 'timeout' as MissingReason])),
                };
          const input = { candidates, ctx, ...(batch === undefined ? {} : { batch }) };
          const got = a.assemble(input);
          const want = a.assembleRowMajor(input);
          try {
            expect(bits(got.data)).toEqual(bits(want.data));
            expect([got.missing, got.malformed]).toEqual([want.missing, want.malformed]);
            for (const v of got.data) expect(Number.isFinite(v)).toBe(true);
          } finally {
            got.release();
            want.release();
          }
        }),
        { numRuns },
      );
    };

    it('writes the same bits, missing and malformed counts as the row-major loop (property)', () => {
      property({ min: 0, max: 24 }, 600);
    });

    it('does so across row blocks and 8-row dot groups (property, long inputs)', () => {
      property({ min: 250, max: 700 }, 40);
    });

    it('matches the row-major loop on the video-platform coarse spec, 8-row dot groups included', () => {
      const spec: FeatureAssemblerSpec = {
        maxBatch: 4096,
        features: [
          {
            kind: 'dot',
            name: 'cross.two_tower',
            a: { from: 'state', key: 'userEmbedding' },
            b: { from: 'candidate', key: 'meta.embedding' },
            group: 'retrieval',
          },
          {
            kind: 'numeric',
            name: 'candidate.age',
            from: 'candidate',
            key: 'meta.ageHours',
            normalize: { kind: 'log1p' },
            missingIndicator: false,
          },
          {
            kind: 'numeric',
            name: 'catalog.log1p_impressions',
            from: 'candidate',
            key: 'meta.attributes.imp',
            normalize: { kind: 'zscore', mean: 4.99, std: 1.36 },
          },
          {
            kind: 'numeric',
            name: 'catalog.smoothed_ctr',
            from: 'candidate',
            key: 'meta.attributes.ctr',
            normalize: { kind: 'zscore', mean: 0.0512, std: 0.0341 },
            missingIndicator: false,
          },
          {
            kind: 'match',
            name: 'cross.context_language_match',
            a: { from: 'context', key: 'language' },
            b: { from: 'candidate', key: 'meta.language' },
            missingIndicator: false,
          },
        ],
      };
      const a = new FeatureAssembler(spec);
      const matrix = Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 12.9898) * 0.5);
      const cands = Array.from({ length: 1003 }, (_, r) => {
        const i = (r * 37) % 64;
        // every 97th row breaks its 8-row group (missing / short / long / plain-array embedding, NaN attribute)
        const embedding =
          r % 97 === 5
            ? undefined
            : r % 97 === 6
              ? matrix.subarray(0, 31)
              : r % 97 === 9
                ? matrix.subarray(i * 32, i * 32 + 33)
                : matrix.subarray(i * 32, (i + 1) * 32);
        const attributes = { imp: r % 97 === 7 ? NaN : r / 100, ctr: r % 89 === 3 ? 'x' : (r % 13) / 100 };
        return makeCandidate(`i${r}`, {
          meta: {
            language: r % 3 ? 'en' : 'pt',
            publishedAtMs: NOW - r * 3_600_000,
            ...(embedding === undefined ? {} : { embedding }),
            ...(r % 97 === 8 ? ({ embedding: [1, 2, 3] } as never) : {}),
            attributes,
          },
        });
      });
      const ctx = makeCtx({
        state: new Map([['userEmbedding', Float32Array.from({ length: 32 }, (_, k) => Math.cos(k))]]),
        request: { context: { nowMs: NOW, language: 'en' } },
      });
      const got = a.assemble({ candidates: cands, ctx });
      const want = a.assembleRowMajor({ candidates: cands, ctx });
      expect(bits(got.data)).toEqual(bits(want.data));
      expect([got.missing, got.malformed]).toEqual([want.missing, want.malformed]);
      expect(got.malformed).toBeGreaterThan(0);
      expect(row(a, got.data, 10)['cross.two_tower']).toBeCloseTo(
        Array.from({ length: 32 }, (_, k) => Math.fround(Math.cos(k)) * (matrix[((10 * 37) % 64) * 32 + k] as number)).reduce(
          (x, y) => x + y,
        ),
        4,
      );
      got.release();
      want.release();
      // a missing group: every row missing, nothing resolved
      const lease = a.assemble({
        candidates: cands,
        ctx,
        batch: { userId: 'u1', itemIds: [], user: {}, items: [], missingGroups: new Map([['retrieval', 'timeout' as MissingReason]]) },
      });
      expect(row(a, lease.data, 3)['cross.two_tower__missing']).toBe(1);
      lease.release();
    });
  });
});
