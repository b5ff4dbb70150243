import { join } from 'node:path';
import type { StageContext } from '@recspine/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineCtx } from '../train/assembleLogged.js';
import { buildVideoRecommender, type VideoRecommender } from './buildVideoRecommender.js';

const DATA = join(import.meta.dirname, '..', '..', '.data');
const GENEROUS = { retrieval: 5_000, coarse: 5_000, features: 5_000, fine: 5_000, rerank: 5_000 };

describe('end-of-video related-list cache (tiny world, real models and index)', () => {
  let vr: VideoRecommender;
  let off: VideoRecommender;
  beforeAll(async () => {
    const base = { preset: 'tiny' as const, mode: 'embedded' as const, dataDir: DATA, slaMs: 30_000, budgets: GENEROUS, seed: 3 };
    vr = await buildVideoRecommender(base);
    off = await buildVideoRecommender({ ...base, relatedCacheMs: 0 });
  });
  afterAll(async () => {
    await vr.close();
    await off.close();
  });

  // the stage context an offline caller hands a source (no deadline), as the training pipeline does
  const ctx = (itemId: string): StageContext => offlineCtx({ slot: 'end-of-video', limit: 10, context: { itemId } }, new Map());
  const eov = (r: VideoRecommender, userId: string, itemId: string, extra: Record<string, unknown> = {}) =>
    r.recommender.recommend({ slot: 'end-of-video', userId, limit: 10, context: { itemId, ...extra } });

  it('serves a watched item’s related list from memory for every viewer, with the same slate as without the cache', async () => {
    const [a, b] = vr.sampleUsers;
    const item = vr.sampleItems[3] as string;
    const s0 = vr.relatedCacheStats();
    const first = await eov(vr, a?.userId as string, item);
    const second = await eov(vr, b?.userId as string, item);
    const s1 = vr.relatedCacheStats();
    expect(s1.misses - s0.misses).toBe(1);
    expect(s1.hits - s0.hits).toBe(1);
    for (const r of [first, second]) expect(r.items.filter((i) => i.sources.includes('related')).length).toBeGreaterThan(0);
    // the cache changes where the list comes from, not the list
    const cached = await vr.sources.related.retrieve(ctx(item), 300);
    const searched = await off.sources.related.retrieve(ctx(item), 300);
    expect(cached.length).toBeGreaterThan(10);
    expect(cached.map((h) => h.itemId)).toEqual(searched.map((h) => h.itemId));
    expect(vr.relatedCacheStats().hits - s1.hits).toBe(1);
    expect(off.relatedCacheStats()).toEqual({ hits: 0, misses: 0, bypassed: 0, size: 0 });
  });

  it('always searches for a request that carries a clock of its own (replay, offline evaluation); the wall clock is live', async () => {
    const u = vr.sampleUsers[0]?.userId as string;
    const item = vr.sampleItems[5] as string;
    const s0 = vr.relatedCacheStats();
    const dayAgo = Date.now() - 86_400_000;
    await eov(vr, u, item, { nowMs: dayAgo });
    await eov(vr, u, item, { nowMs: dayAgo });
    const s1 = vr.relatedCacheStats();
    expect(s1.bypassed - s0.bypassed).toBe(2);
    expect(s1.hits).toBe(s0.hits);
    await eov(vr, u, item, { nowMs: Date.now() });
    await eov(vr, u, item, { nowMs: Date.now() });
    const s2 = vr.relatedCacheStats();
    expect(s2.bypassed).toBe(s1.bypassed);
    expect(s2.misses - s1.misses + (s2.hits - s1.hits)).toBe(2);
    expect(s2.hits - s1.hits).toBeGreaterThanOrEqual(1);
  });
});
