import type { RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import { describe, expect, it, vi } from 'vitest';
import { ctxFor, expectCode, randomItems, row } from '../test/helpers.js';
import { CachedSource } from './CachedSource.js';
import { ExactIndex } from './ExactIndex.js';

const DIMS = 8;

/** An item-to-item source over a real exact index: the neighbours of `context.itemId`, searches counted. */
function relatedSource(): { source: RetrievalSource; searches: () => number; index: ExactIndex; fail: (on: boolean) => void } {
  const { ids, vectors } = randomItems(50, DIMS, 7);
  const index = new ExactIndex({ dims: DIMS, metric: 'ip' });
  index.upsertBatch(ids, vectors);
  let n = 0;
  let failing = false;
  const source: RetrievalSource = {
    name: 'related',
    async retrieve(ctx: StageContext, k: number): Promise<readonly RetrievedItem[]> {
      n++;
      if (failing) throw new Error('index down');
      const seed = ctx.request.context?.itemId;
      const v = seed === undefined ? undefined : index.vectorOf(seed);
      if (v === undefined) return [];
      return index
        .search(v, k + 1)
        .filter((h) => h.itemId !== seed)
        .slice(0, k)
        .map((h) => ({ itemId: h.itemId, score: h.score }));
    },
  };
  return { source, searches: () => n, index, fail: (on) => (failing = on) };
}

const seedKey = (ctx: StageContext): string | undefined =>
  ctx.request.context?.nowMs === undefined ? (ctx.request.context?.itemId as string | undefined) : undefined;
const watched = (itemId: string, extra: Record<string, unknown> = {}): StageContext => ctxFor({ context: { itemId, ...extra } });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('CachedSource', () => {
  it('answers a repeated key from memory with the source’s own answer, per key and k', async () => {
    const r = relatedSource();
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 60_000 });
    expect(s.name).toBe('related');
    const first = await s.retrieve(watched('i3'), 5);
    expect(first).toHaveLength(5);
    expect(first.map((h) => h.itemId)).not.toContain('i3');
    const again = await s.retrieve(watched('i3'), 5);
    expect(again.map((h) => h.itemId)).toEqual(first.map((h) => h.itemId));
    expect(r.searches()).toBe(1);
    // another seed and another k are other answers
    const other = await s.retrieve(watched('i4'), 5);
    expect(other.map((h) => h.itemId)).not.toEqual(first.map((h) => h.itemId));
    expect(await s.retrieve(watched('i3'), 3)).toHaveLength(3);
    expect(r.searches()).toBe(3);
    expect(s.stats()).toEqual({ hits: 1, misses: 3, bypassed: 0, size: 3 });
  });

  it('always reaches the source when the key is undefined (a replayed clock here)', async () => {
    const r = relatedSource();
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 60_000 });
    await s.retrieve(watched('i3', { nowMs: 1 }), 5);
    await s.retrieve(watched('i3', { nowMs: 1 }), 5);
    expect(r.searches()).toBe(2);
    expect(s.stats()).toMatchObject({ hits: 0, misses: 0, bypassed: 2, size: 0 });
  });

  it('does not serve an answer cached under another generation (index swap)', async () => {
    const r = relatedSource();
    let version = 'v1';
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 60_000, generation: () => version });
    const before = await s.retrieve(watched('i3'), 5);
    // the new version moves i3's nearest neighbour next to it: the cached answer would hide it
    const nearest = before[0]?.itemId as string;
    const v = row(randomItems(50, DIMS, 7).vectors, 3, DIMS);
    r.index.upsert('new-item', v);
    version = 'v2';
    const after = await s.retrieve(watched('i3'), 5);
    expect(r.searches()).toBe(2);
    expect(after[0]?.itemId).toBe('new-item');
    expect(after.map((h) => h.itemId)).toContain(nearest);
  });

  it('arms no timer on a lookup (lru-cache ttlResolution 0: no 1 ms clock-reset timer per refresh)', async () => {
    const r = relatedSource();
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 60_000 });
    await s.retrieve(watched('i3'), 5);
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      for (let i = 0; i < 10; i++) await s.retrieve(watched('i3'), 5);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(s.stats()).toMatchObject({ hits: 10, misses: 1 });
  });

  it('keeps answers packed: a hit equals the answer (scores and metas included) in fresh objects', async () => {
    let calls = 0;
    const meta = { category: 'music', creatorId: 'c1' };
    const source: RetrievalSource = {
      name: 'seg',
      retrieve: () => {
        calls++;
        return Promise.resolve([
          { itemId: 'a', score: 0.5, meta },
          { itemId: 'b', score: -1.25 },
          { itemId: 'c', score: 3 },
        ]);
      },
    };
    const s = new CachedSource(source, { key: () => 'x', ttlMs: 60_000 });
    const first = await s.retrieve(watched('i1'), 3);
    const hit = await s.retrieve(watched('i1'), 3);
    expect(calls).toBe(1);
    expect(hit).toEqual(first);
    expect(hit).not.toBe(first);
    expect(hit[0]?.meta).toBe(meta);
    expect('meta' in (hit[1] as object)).toBe(false);
    // a caller mutating its answer does not change the next one
    (hit as RetrievedItem[]).length = 0;
    expect(await s.retrieve(watched('i1'), 3)).toEqual(first);
  });

  it('passes a malformed answer through without caching it', async () => {
    let calls = 0;
    const source: RetrievalSource = {
      name: 'bad',
      retrieve: () => {
        calls++;
        return Promise.resolve([{ itemId: 'a', score: 1 }, null as unknown as RetrievedItem]);
      },
    };
    const s = new CachedSource(source, { key: () => 'x', ttlMs: 60_000 });
    expect(await s.retrieve(watched('i1'), 2)).toHaveLength(2);
    await s.retrieve(watched('i1'), 2);
    expect(calls).toBe(2);
    expect(s.stats()).toMatchObject({ hits: 0, misses: 2, size: 0 });
  });

  it('expires answers after ttlMs', async () => {
    const r = relatedSource();
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 30 });
    await s.retrieve(watched('i3'), 5);
    await s.retrieve(watched('i3'), 5);
    expect(r.searches()).toBe(1);
    await sleep(60);
    await s.retrieve(watched('i3'), 5);
    expect(r.searches()).toBe(2);
  });

  it('keeps at most maxEntries answers, least recently used out first', async () => {
    const r = relatedSource();
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 60_000, maxEntries: 2 });
    await s.retrieve(watched('i1'), 4);
    await s.retrieve(watched('i2'), 4);
    await s.retrieve(watched('i1'), 4); // i1 is now the most recent
    await s.retrieve(watched('i3'), 4); // evicts i2
    expect(s.stats().size).toBe(2);
    const n = r.searches();
    await s.retrieve(watched('i1'), 4);
    expect(r.searches()).toBe(n);
    await s.retrieve(watched('i2'), 4);
    expect(r.searches()).toBe(n + 1);
  });

  it('does not remember a failure or an empty answer', async () => {
    const r = relatedSource();
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 60_000 });
    r.fail(true);
    await expect(s.retrieve(watched('i3'), 5)).rejects.toThrow('index down');
    r.fail(false);
    expect(await s.retrieve(watched('i3'), 5)).toHaveLength(5);
    expect(await s.retrieve(watched('unknown'), 5)).toEqual([]);
    expect(await s.retrieve(watched('unknown'), 5)).toEqual([]);
    expect(r.searches()).toBe(4);
    expect(s.stats().size).toBe(1);
    s.clear();
    expect(s.stats().size).toBe(0);
  });

  it('rejects bad options with a stable code', async () => {
    const { source } = relatedSource();
    await expectCode(() => new CachedSource(source, { key: seedKey, ttlMs: 0 }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    await expectCode(() => new CachedSource(source, { key: seedKey, ttlMs: Number.NaN }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    await expectCode(() => new CachedSource(source, { key: seedKey, ttlMs: 10, maxEntries: 0 }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    await expectCode(() => new CachedSource(source, { key: 'itemId' as never, ttlMs: 10 }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    await expectCode(() => new CachedSource({} as never, { key: seedKey, ttlMs: 10 }), 'RECSPINE_ERR_RETRIEVAL_CONFIG');
    await expectCode(
      () => new CachedSource(source, { key: seedKey, ttlMs: 10, ordinals: { ordinal: () => 1 } as never }),
      'RECSPINE_ERR_RETRIEVAL_CONFIG',
    );
  });

  it('keeps ids as ordinals under a dictionary: same answers; unknown ids as strings; a stale ordinal refetches', async () => {
    const r = relatedSource();
    // ordinals of i0..i49 are their numbers; 'i7' is unknown to the dictionary
    let known = (o: number): boolean => o >= 0 && o < 50;
    const ordinals = {
      ordinal: (id: string): number | undefined => (id === 'i7' ? undefined : Number(id.slice(1))),
      itemId: (o: number): string | undefined => (known(o) ? `i${o}` : undefined),
    };
    const plain = new CachedSource(relatedSource().source, { key: seedKey, ttlMs: 60_000 });
    const s = new CachedSource(r.source, { key: seedKey, ttlMs: 60_000, ordinals });
    for (const seed of ['i3', 'i9', 'i21']) {
      const first = await s.retrieve(watched(seed), 10);
      expect(first).toEqual(await plain.retrieve(watched(seed), 10));
      expect(await s.retrieve(watched(seed), 10)).toEqual(first);
    }
    // every answer of 49 neighbours contains 'i7' (or is i7's own): kept as strings, served the same
    const all = await s.retrieve(watched('i3'), 49);
    expect(all.map((h) => h.itemId)).toContain('i7');
    expect(await s.retrieve(watched('i3'), 49)).toEqual(all);
    expect(r.searches()).toBe(4);
    // the dictionary forgets ordinals ≥ 25: an answer holding one is a miss, refetched and recached
    known = (o) => o >= 0 && o < 25;
    const before = r.searches();
    const again = await s.retrieve(watched('i9'), 10);
    expect(again).toEqual(await plain.retrieve(watched('i9'), 10));
    expect(again.some((h) => Number(h.itemId.slice(1)) >= 25)).toBe(true);
    expect(r.searches()).toBe(before + 1);
  });
});
