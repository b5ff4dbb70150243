import type { FeatureBatch } from '@recspine/core';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { hasBinary, requireServer, tcpOpen } from '../test/servers.js';
import { defineFeatureSchema, type FeatureMutation } from './index.js';
import { RedisFeatureStore } from './RedisFeatureStore.js';

const available = requireServer('Redis', (await tcpOpen(6379)) && (await hasBinary('redis-server')), 'a Redis server on 127.0.0.1:6379');
const run = `snap${process.pid}x${Date.now().toString(36)}`;
let seq = 0;
const prefix = (): string => `rs:test:${run}:${seq++}:`;

const HOUR = 3_600_000;
/** Hot item and creator groups with every feature type and two decayed counters. */
const schema = defineFeatureSchema({
  defaultTimeoutMs: 5000,
  groups: [
    {
      name: 'hot',
      entity: 'item',
      ttlMs: 3_600_000,
      features: [
        { name: 'n0', type: 'number', default: 0, freshness: 'hot' },
        { name: 'd1', type: 'number', default: 0, freshness: 'hot', halfLifeMs: HOUR },
        { name: 'd2', type: 'number', default: 0, freshness: 'hot', halfLifeMs: 600_000 },
        { name: 'vec', type: 'vector', dim: 3, default: new Float32Array(3), freshness: 'hot' },
        { name: 'cat', type: 'category', default: '', freshness: 'hot' },
        { name: 'tags', type: 'idList', default: [], freshness: 'hot' },
      ],
    },
    {
      name: 'creator_hot',
      entity: 'creator',
      features: [
        { name: 'views', type: 'number', default: 0, freshness: 'hot' },
        { name: 'views_recent', type: 'number', default: 0, freshness: 'hot', halfLifeMs: HOUR },
      ],
    },
  ],
});
const IDS = ['a', 'b', 'c', 'd'];
const CREATORS = ['k1', 'k2'];

type Cell = null | number | string | readonly string[] | readonly number[];
/** Every column of the batch as plain per-row cells (missing = null; −0 kept apart from 0). */
function cells(b: FeatureBatch): Record<string, Cell[]> {
  const out: Record<string, Cell[]> = {};
  for (const [name, c] of b.columns ?? []) {
    const rows: Cell[] = [];
    for (let i = 0; i < b.itemIds.length; i++) {
      if (c.present[i] !== 1) rows.push(null);
      else if (c.type === 'number') rows.push(Object.is(c.values[i], -0) ? '-0' : (c.values[i] as number));
      else if (c.type === 'vector') rows.push(Array.from(c.values.subarray(i * c.dim, (i + 1) * c.dim)));
      else rows.push(c.values[i] as string | readonly string[]);
    }
    out[name] = rows;
  }
  return out;
}

type Op =
  | { kind: 'write'; mut: FeatureMutation }
  | { kind: 'raw'; id: string; field: string; value: string | Uint8Array; refresh: FeatureMutation };

const num = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.constantFrom(0, -0, 0.1, 1e21, 5e-324, -1.5e-7),
);
const delta = fc.oneof(fc.double({ min: -1e9, max: 1e9, noNaN: true }), fc.integer({ min: -100, max: 100 }));
const id = fc.constantFrom(...IDS);
const t0 = Date.UTC(2026, 0, 1);
const itemSet = fc.record(
  {
    n0: num,
    d1: num,
    vec: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }),
    cat: fc.string({ unit: 'binary', maxLength: 12 }),
    tags: fc.array(
      fc.string({ maxLength: 6 }).filter((s) => !s.includes('\u001f')),
      { maxLength: 4 },
    ),
  },
  { requiredKeys: [] },
);
const writeOp: fc.Arbitrary<Op> = fc.oneof(
  fc
    .record({ id, set: itemSet })
    .map(({ id: i, set }): Op => ({ kind: 'write', mut: { entity: 'item', id: i, group: 'hot', set: set as FeatureMutation['set'] } })),
  fc
    .record({ id, n0: delta, at: fc.integer({ min: -48, max: 48 }), d1: delta, d2: fc.double({ min: 0, max: 1e4, noNaN: true }) })
    .map(({ id: i, n0, at, d1, d2 }): Op => ({
      kind: 'write',
      mut: { entity: 'item', id: i, group: 'hot', incr: { n0 }, decay: { atMs: t0 + at * 600_000, add: { d1, d2 } } },
    })),
  fc.record({ c: fc.constantFrom(...CREATORS), v: delta, at: fc.integer({ min: -48, max: 48 }) }).map(({ c, v, at }): Op => ({
    kind: 'write',
    mut: {
      entity: 'creator',
      id: c,
      group: 'creator_hot',
      incr: { views: v },
      decay: { atMs: t0 + at * 600_000, add: { views_recent: v } },
    },
  })),
);
/** Number spellings where JS `Number` and Lua `tonumber` could disagree, or that are malformed. */
const ODD_NUMBERS = [
  'abc',
  '1e400',
  '-1e400',
  '0x10',
  '-0x10',
  '0x1p4',
  '0b11',
  '0o7',
  ' 12',
  '12 ',
  '\u00a012',
  '  ',
  '',
  '-0',
  '1.',
  '.5',
  '-.5',
  'inf',
  'Infinity',
  'NaN',
  '1e5',
  '1E-5',
  '+3',
  '007',
  '1e',
  '-',
  '.',
  '1_0',
  '1e+',
  '+-1',
  '1-2',
  'e5',
  '..5',
  '+.5',
  '1e5e',
  '9'.repeat(41),
];

/** A hand-written field (another writer, an older release): odd numbers, broken vectors and lists. */
const rawOp: fc.Arbitrary<Op> = fc
  .record({
    id,
    fv: fc.oneof(
      fc.record({
        field: fc.constantFrom('n0', 'd1', 'd1~t', 'd2~t'),
        value: fc.oneof(
          fc.constantFrom(...ODD_NUMBERS),
          fc.stringMatching(/^[-+]?\d{0,20}\.?\d{0,20}([eE][-+]?\d{0,3})?$/),
          fc.string({ unit: fc.constantFrom(...'0123456789.eE+-'), maxLength: 12 }),
          fc.string({ maxLength: 8 }),
        ),
      }),
      fc.record({ field: fc.constant('vec'), value: fc.uint8Array({ maxLength: 16 }) }),
      fc.record({ field: fc.constant('tags'), value: fc.constantFrom('', '\u001f', 'x\u001fy', '\u001fa\u001f', '\u001f\u001f') }),
      fc.record({ field: fc.constant('cat'), value: fc.string({ unit: 'grapheme', maxLength: 6 }) }),
    ),
    refresh: fc.integer({ min: -5, max: 5 }),
  })
  .map(({ id: i, fv, refresh }): Op => ({
    kind: 'raw',
    id: i,
    field: fv.field,
    value: fv.value,
    // A later store write on another field refreshes the snapshot from the hash as it is.
    refresh: { entity: 'item', id: i, group: 'hot', set: { cat: `r${refresh}` } },
  }));

describe.skipIf(!available)('RedisFeatureStore hash snapshots (127.0.0.1:6379)', () => {
  const admin = available ? new Redis(6379, '127.0.0.1') : undefined;
  afterAll(async () => {
    if (admin === undefined) return;
    const keys = await admin.keys(`rs:test:${run}:*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  it('reading the packed snapshots gives exactly what reading the hashes gives (property, real Redis)', async () => {
    const p = prefix();
    const writer = new RedisFeatureStore(schema, { keyPrefix: p, hashSnapshots: 'read', cache: false });
    const viaHash = new RedisFeatureStore(schema, { keyPrefix: p, hashSnapshots: 'write', cache: false, client: writer.client });
    await writer.ready();
    let sawSnapshot = false;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof({ arbitrary: writeOp, weight: 3 }, { arbitrary: rawOp, weight: 1 }), { maxLength: 14 }),
          fc.integer({ min: -50, max: 50 }),
          async (ops, readAt) => {
            await admin?.del(...IDS.flatMap((i) => [writer.key('item', i, 'hot'), writer.snapshotKey('item', i, 'hot')]));
            await admin?.del(
              ...CREATORS.flatMap((c) => [writer.key('creator', c, 'creator_hot'), writer.snapshotKey('creator', c, 'creator_hot')]),
            );
            for (const op of ops) {
              if (op.kind === 'write') await writer.write([op.mut]);
              else {
                await admin?.hset(writer.key('item', op.id, 'hot'), op.field, Buffer.from(op.value));
                await writer.write([op.refresh]);
              }
            }
            const req = { itemIds: IDS, creatorIds: [...CREATORS, ...CREATORS], nowMs: t0 + readAt * 600_000 };
            const s0 = writer.stats();
            const a = await writer.read(req);
            const s1 = writer.stats();
            const b = await viaHash.read(req);
            expect(a.missingGroups.size).toBe(0);
            expect(cells(a)).toEqual(cells(b));
            // every record went through exactly one path
            const reads = (s1.snapshotReads ?? 0) - (s0.snapshotReads ?? 0);
            const fallbacks = (s1.snapshotFallbacks ?? 0) - (s0.snapshotFallbacks ?? 0);
            expect(reads + fallbacks).toBe(IDS.length + CREATORS.length);
            if (reads > 0) sawSnapshot = true;
            // a record written only through the store always has its snapshot
            const rawIds = new Set(ops.flatMap((o) => (o.kind === 'raw' ? [o.id] : [])));
            for (const o of ops)
              if (o.kind === 'write' && o.mut.entity === 'item' && !rawIds.has(o.mut.id))
                expect(await admin?.exists(writer.snapshotKey('item', o.mut.id, 'hot'))).toBe(1);
          },
        ),
        { numRuns: 120 },
      );
      expect(sawSnapshot).toBe(true);
    } finally {
      await writer.close();
    }
  }, 120_000);

  it('agrees with the hash on every odd number spelling a hand-written field can hold (value and timestamp)', async () => {
    const p = prefix();
    const writer = new RedisFeatureStore(schema, { keyPrefix: p, cache: false });
    const viaHash = new RedisFeatureStore(schema, { keyPrefix: p, hashSnapshots: 'write', cache: false, client: writer.client });
    await writer.ready();
    const ids = ODD_NUMBERS.map((_, i) => `odd${i}`);
    const base = (i: string): FeatureMutation => ({
      entity: 'item',
      id: i,
      group: 'hot',
      incr: { n0: 2 },
      decay: { atMs: t0, add: { d1: 16 } },
    });
    await writer.write(ids.map(base));
    for (const field of ['n0', 'd1~t']) {
      for (let k = 0; k < ids.length; k++) await admin?.hset(writer.key('item', ids[k] as string, 'hot'), field, ODD_NUMBERS[k] as string);
      await writer.write(ids.map((i) => ({ entity: 'item' as const, id: i, group: 'hot', set: { cat: field } })));
      const req = { itemIds: ids, groups: ['hot'], nowMs: t0 + HOUR };
      const s0 = writer.stats();
      const a = await writer.read(req);
      const s1 = writer.stats();
      expect(cells(a)).toEqual(cells(await viaHash.read(req)));
      // plain decimals are served from the snapshot; spellings where the languages may differ fall back
      const fellBack = ids.filter((_, k) => /[^0-9.eE+-]/.test(ODD_NUMBERS[k] as string) && (ODD_NUMBERS[k] as string).length <= 40);
      expect((s1.snapshotFallbacks ?? 0) - (s0.snapshotFallbacks ?? 0)).toBe(fellBack.length);
      expect(fellBack.length).toBeGreaterThan(10);
      await writer.write(ids.map(base)); // restore the field for the next round (HINCRBYFLOAT on junk resets it)
    }
    await writer.close();
  });

  it('parses [0-9.eE+-] spellings like JS (strtod and StrDecimalLiteral agree there): property', async () => {
    const p = prefix();
    const writer = new RedisFeatureStore(schema, { keyPrefix: p, cache: false });
    const viaHash = new RedisFeatureStore(schema, { keyPrefix: p, hashSnapshots: 'write', cache: false, client: writer.client });
    await writer.ready();
    const ids = Array.from({ length: 24 }, (_, i) => `s${i}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.constantFrom(...'0123456789.eE+-'), maxLength: 14 }), {
          minLength: ids.length,
          maxLength: ids.length,
        }),
        async (spellings) => {
          for (let k = 0; k < ids.length; k++) await admin?.hset(writer.key('item', ids[k] as string, 'hot'), 'n0', spellings[k] as string);
          await writer.write(ids.map((i) => ({ entity: 'item' as const, id: i, group: 'hot', set: { cat: 'x' } })));
          const s0 = writer.stats();
          const req = { itemIds: ids, groups: ['hot'], nowMs: t0 };
          expect(cells(await writer.read(req))).toEqual(cells(await viaHash.read(req)));
          expect((writer.stats().snapshotFallbacks ?? 0) - (s0.snapshotFallbacks ?? 0)).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
    await writer.close();
  }, 60_000);

  it('falls back to HMGET for records without a snapshot (older writers) and uses snapshots once rewritten', async () => {
    const p = prefix();
    const old = new RedisFeatureStore(schema, { keyPrefix: p, hashSnapshots: 'off', cache: false });
    const store = new RedisFeatureStore(schema, { keyPrefix: p, cache: false });
    await Promise.all([old.ready(), store.ready()]);
    const at = Date.now();
    await old.write(
      IDS.map((i, k) => ({
        entity: 'item' as const,
        id: i,
        group: 'hot',
        incr: { n0: k + 1 },
        decay: { atMs: at - HOUR, add: { d1: 8 } },
      })),
    );
    expect(await admin?.exists(store.snapshotKey('item', 'a', 'hot'))).toBe(0);
    const b1 = await store.read({ itemIds: IDS, groups: ['hot'], nowMs: at });
    expect(b1.items.map((r) => r.n0)).toEqual([1, 2, 3, 4]);
    expect(b1.items[0]?.d1).toBeCloseTo(4, 9); // one half-life later
    expect(store.stats()).toMatchObject({ snapshotReads: 0, snapshotFallbacks: 4 });
    // a write through the new store refreshes a (whole) snapshot from the hash
    await store.write([{ entity: 'item', id: 'b', group: 'hot', incr: { n0: 10 } }]);
    const b2 = await store.read({ itemIds: IDS, groups: ['hot'], nowMs: at });
    expect(b2.items.map((r) => r.n0)).toEqual([1, 12, 3, 4]);
    expect(b2.items[1]?.d1).toBeCloseTo(4, 9);
    expect(store.stats()).toMatchObject({ snapshotReads: 1, snapshotFallbacks: 7 });
    // same TTL as the record
    const ttl = (await admin?.pttl(store.snapshotKey('item', 'b', 'hot'))) ?? -1;
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    // a snapshot of another schema (fingerprint mismatch) is not trusted
    await admin?.set(store.snapshotKey('item', 'c', 'hot'), (await admin.getBuffer(store.snapshotKey('item', 'b', 'hot'))) as Buffer);
    await admin?.setrange(store.snapshotKey('item', 'c', 'hot'), 1, 'XXXX');
    const b3 = await store.read({ itemIds: ['c'], groups: ['hot'], nowMs: at });
    expect(b3.items[0]?.n0).toBe(3);
    // deleteEntity removes the snapshot with the record
    await store.deleteEntity('item', 'b');
    expect(await admin?.keys(`${p}*{b}*`)).toEqual([]);
    await old.close();
    await store.close();
  });

  it('rejects an unknown hashSnapshots mode with a coded error', () => {
    expect(() => new RedisFeatureStore(schema, { hashSnapshots: 'sometimes' as 'read', client: admin })).toThrow(
      expect.objectContaining({ code: 'RECSPINE_ERR_FEATURES_BAD_VALUE' }),
    );
  });
});
