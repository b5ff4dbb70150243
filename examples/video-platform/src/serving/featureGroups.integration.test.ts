import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageContext } from '@recspine/core';
import type { RedisFeatureStore } from '@recspine/features';
import type { FeatureAssemblerSpec } from '@recspine/rank';
import { resolveArtifacts } from './internal/artifacts.js';
import { buildVideoRecommender, type VideoRecommender } from './buildVideoRecommender.js';
import { storeGroupsReadBy } from './modelFeatureGroups.js';

const DATA = join(import.meta.dirname, '..', '..', '.data');
const GENEROUS = { retrieval: 5_000, coarse: 5_000, features: 5_000, fine: 5_000, rerank: 5_000 };
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `vptest-fg-${process.pid}`;

/** A stage context for calling the feature fetcher directly (what core hands the features stage). */
function stageCtx(userId: string, nowMs: number): StageContext {
  return {
    request: { slot: 'homepage', userId, limit: 10, context: { nowMs } },
    requestId: 'fg-test',
    slot: 'homepage',
    stage: 'homepage/features',
    signal: new AbortController().signal,
    deadlineAt: performance.now() + 5_000,
    remainingMs: () => 5_000,
    state: new Map(),
    params: {},
  } as unknown as StageContext;
}

// Game day (production preset): ~71 of 73 normal responses were tagged `feature_groups_missing`.
// The ranking fetch read every schema group, including the aggregator's item_stream and
// creator_stream that no model reads; rows without events have no packed snapshot, so those groups
// cost a second round trip (one HMGET per candidate) and missed their sub-deadline.
describe('ranking feature fetch reads only the groups the models read (production mode, real Redis, tiny world)', () => {
  let vr: VideoRecommender;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    vr = await buildVideoRecommender({
      preset: 'tiny',
      mode: 'production',
      dataDir: DATA,
      redis: { url: REDIS_URL, keyPrefix: `${PREFIX}:` },
      slaMs: 30_000,
      budgets: GENEROUS,
      seed: 5,
    });
  });
  afterAll(async () => {
    await vr?.close();
    // this run's keys only (its own prefix)
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  });

  it('derives the fine + degraded models’ store groups from their exported specs', () => {
    const art = resolveArtifacts({ dataDir: DATA, preset: 'tiny' });
    const spec = (e: { featureSpec: string }): FeatureAssemblerSpec =>
      JSON.parse(readFileSync(join(art.modelsDir, e.featureSpec), 'utf8')) as FeatureAssemblerSpec;
    const derived = { history_pool: 'user_stream', history_categories: 'user_stream', history_len: 'user_stream' };
    const groups = storeGroupsReadBy(vr.featureStore.schema, [spec(art.models.models.fine), spec(art.models.models.degraded)], derived);
    expect(groups).toEqual(['user_profile', 'user_stream', 'item_stats', 'item_content', 'creator']);
    // the degraded model reads nothing from the store (catalog, context and the user embedding only)
    expect(storeGroupsReadBy(vr.featureStore.schema, [spec(art.models.models.degraded)], derived)).toEqual([]);
  });

  it('gives every group the calling stage’s budget as its sub-deadline (not the package’s fixed 20 ms)', () => {
    // reads cap it at the stage's remaining time; a fixed 20 ms timed groups out with seconds of budget left
    for (const g of vr.featureStore.schema.groups) expect(g.timeoutMs).toBeGreaterThanOrEqual(GENEROUS.features);
  });

  it('a warm user’s fetch of 200 candidates has no missing group, no stream-group columns and no HMGET fallback reads', async () => {
    const store = vr.featureStore as RedisFeatureStore;
    const user = vr.sampleUsers.find((u) => u.userId === 'u1') ?? vr.sampleUsers[0];
    const itemIds = Array.from({ length: 200 }, (_, i) => `v${i}`);
    const before = store.stats();
    const b = await vr.featureFetcher.fetch(stageCtx(user?.userId ?? 'u1', Date.now()), user?.userId, itemIds);
    const after = store.stats();
    expect([...b.missingGroups]).toEqual([]);
    const cols = [...(b.columns?.keys() ?? [])];
    expect(cols).toEqual(expect.arrayContaining(['smoothed_ctr', 'content', 'category_onehot', 'creator_log1p_followers']));
    // item_stream / creator_stream columns (never read by a model) are not fetched
    expect(cols.filter((c) => c.endsWith('_recent') || c.endsWith('_total') || c === 'published_at_ms')).toEqual([]);
    // item_stream rows without events have no packed snapshot: reading the group cost one HMGET per item
    expect((after.snapshotFallbacks ?? 0) - (before.snapshotFallbacks ?? 0)).toBe(0);
    expect(after.groupTimeouts - before.groupTimeouts).toBe(0);
  });

  it('normal homepage and end-of-video responses are ranked by the fine model without feature_groups_missing', async () => {
    const tiers: string[] = [];
    for (const [n, u] of vr.sampleUsers.slice(0, 10).entries()) {
      const home = await vr.recommender.recommend({
        slot: 'homepage',
        userId: u.userId,
        limit: 10,
        requestId: `fg-h${n}`,
        context: u.context,
      });
      const eov = await vr.recommender.recommend({
        slot: 'end-of-video',
        userId: u.userId,
        limit: 5,
        requestId: `fg-e${n}`,
        context: { ...u.context, itemId: vr.sampleItems[n] as string },
      });
      for (const r of [home, eov]) {
        expect(r.orderedBy).toBe('fine');
        for (const d of r.degraded) tiers.push(`${d.mode}:${d.detail ?? ''}`);
      }
    }
    expect(tiers.filter((t) => t.startsWith('feature_groups_missing'))).toEqual([]);
  });

  it('a user the store has never seen is not tagged missing either: absent rows are missing values, not missing groups', async () => {
    const res = await vr.recommender.recommend({
      slot: 'homepage',
      userId: `new-${process.pid}`,
      limit: 10,
      context: vr.sampleUsers[0]?.context,
    });
    expect(res.orderedBy).toBe('fine');
    expect(res.degraded.filter((d) => d.mode === 'feature_groups_missing')).toEqual([]);
  });
});

describe('seeding at start-up (production mode, real Redis, tiny world)', () => {
  const prefix = `${PREFIX}-seed`;
  afterAll(async () => {
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  });

  it('two processes starting together (cluster workers) seed the store once: the second waits and skips', async () => {
    const logs: string[][] = [[], []];
    const build = (k: 0 | 1) =>
      buildVideoRecommender({
        preset: 'tiny',
        mode: 'production',
        dataDir: DATA,
        redis: { url: REDIS_URL, keyPrefix: `${prefix}:` },
        log: (l) => logs[k]?.push(l),
      });
    const both = await Promise.all([build(0), build(1)]);
    try {
      const seeded = logs.map((l) => l.some((x) => x.startsWith('feature store seeded')));
      const skipped = logs.map((l) => l.some((x) => x.includes('seeded by another process')));
      expect(seeded.filter(Boolean)).toHaveLength(1);
      expect(skipped.filter(Boolean)).toHaveLength(1);
      expect(seeded.map((s, i) => s !== skipped[i])).toEqual([true, true]);
      // the lock is released once seeding is done
      const redis = new Redis(REDIS_URL);
      expect(await redis.exists(`${prefix}:seed-lock:${both[0].versions.world}`)).toBe(0);
      redis.disconnect();
      // and the skipping one serves the seeded rows
      const u = both[0].sampleUsers[1] as (typeof both)[0]['sampleUsers'][number];
      for (const vr of both) {
        const res = await vr.recommender.recommend({ slot: 'homepage', userId: u.userId, limit: 5, context: u.context });
        expect(res.items.length).toBeGreaterThan(0);
      }
    } finally {
      for (const vr of both) await vr.close();
    }
  });
});
