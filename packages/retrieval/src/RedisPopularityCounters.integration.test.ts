import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { popularityContract } from '../test/popularityContract.js';
import { expectCode } from '../test/helpers.js';
import { RedisPopularityCounters } from './RedisPopularityCounters.js';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachable(): Promise<boolean> {
  const probe = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

const up = await reachable();
if (!up) {
  if (process.env.CI === 'true') throw new Error(`Redis is required in CI but ${URL} is not reachable`);
  console.warn(`\n⚠⚠⚠ Redis at ${URL} is not reachable: SKIPPING RedisPopularityCounters integration tests ⚠⚠⚠\n`);
}

describe.skipIf(!up)('RedisPopularityCounters', () => {
  const run = `recspine-test:${randomBytes(6).toString('hex')}:`;
  let client: Redis;
  let n = 0;
  beforeAll(() => {
    client = new Redis(URL);
  });
  afterAll(async () => {
    const keys = await client.keys(`${run}*`);
    if (keys.length > 0) await client.del(...keys);
    expect(await client.keys(`${run}*`)).toEqual([]);
    client.disconnect();
  });

  popularityContract((halfLifeMs) => new RedisPopularityCounters({ client, keyPrefix: `${run}${++n}:`, halfLifeMs }));

  describe('incrementBatch', () => {
    it('trims segments to maxItemsPerSegment and reads are one sorted-set range', async () => {
      const c = new RedisPopularityCounters({ client, keyPrefix: `${run}trim:`, maxItemsPerSegment: 3 });
      await c.incrementBatch([1, 2, 3, 4, 5].map((w) => ({ itemId: `i${w}`, segment: 'g', weight: w, atMs: 1e12 })));
      expect(await client.zcard(c.segmentKey('g'))).toBe(3);
      expect((await c.top('g', 10, 1e12)).map((t) => t.itemId)).toEqual(['i5', 'i4', 'i3']);
    });

    it('splits a big batch into bounded script calls and loses no update', async () => {
      const c = new RedisPopularityCounters({ client, keyPrefix: `${run}chunks:`, chunkSize: 7, concurrency: 3 });
      const updates = Array.from({ length: 100 }, (_, i) => ({ itemId: `i${i % 10}`, segment: 'g', weight: 1, atMs: 1e12 }));
      await c.incrementBatch(updates);
      const top = await c.top('g', 20, 1e12);
      expect(top).toHaveLength(10);
      for (const t of top) expect(t.score).toBeCloseTo(10, 6);
    });

    it('renormalises only the segment whose exponent outgrew the threshold, and every score stays right', async () => {
      const halfLifeMs = 3_600_000;
      const tau = halfLifeMs / Math.LN2;
      const c = new RedisPopularityCounters({ client, keyPrefix: `${run}renorm:`, halfLifeMs });
      const t0 = 1e12;
      await c.incrementBatch([
        { itemId: 'a', segment: 'A', weight: 2, atMs: t0 },
        { itemId: 'b', segment: 'B', weight: 3, atMs: t0 },
      ]);
      const t1 = Math.round(t0 + 60 * tau); // exponent ≈ 60 > the threshold (50): segment A is rescaled, B is not
      await c.incrementBatch([{ itemId: 'a2', segment: 'A', weight: 1, atMs: t1 }]);
      const landmarks = await client.hgetall(`${run}renorm:{pop}:landmarks`);
      expect(Number(landmarks['A'])).toBe(t1);
      expect(Number(landmarks['B'])).toBe(t0);
      const topA = await c.top('A', 5, t1);
      expect(topA.map((h) => h.itemId)).toEqual(['a2', 'a']);
      expect(topA[0]?.score).toBeCloseTo(1, 9);
      expect((topA[1]?.score as number) / (2 * Math.exp((t0 - t1) / tau))).toBeCloseTo(1, 6);
      const topB = await c.top('B', 5, t0 + tau);
      expect(topB[0]?.score).toBeCloseTo(3 * Math.exp(-1), 9);
    });

    it('reads and updates segments written with the older global landmark', async () => {
      const c = new RedisPopularityCounters({ client, keyPrefix: `${run}legacy:`, halfLifeMs: 3_600_000 });
      await client.set(`${run}legacy:{pop}:landmark`, String(1e12));
      await client.zadd(c.segmentKey('g'), 5, 'x');
      expect(await c.top('g', 1, 1e12)).toEqual([{ itemId: 'x', score: 5 }]);
      await c.incrementBatch([{ itemId: 'y', segment: 'g', weight: 7, atMs: 1e12 }]);
      const top = await c.top('g', 2, 1e12);
      expect(top.map((h) => h.itemId)).toEqual(['y', 'x']);
      expect(top[0]?.score).toBeCloseTo(7, 9);
    });

    it('rejects with RECSPINE_ERR_POPULARITY_STORE when Redis is unreachable', async () => {
      const dead = new Redis('redis://127.0.0.1:1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableOfflineQueue: false,
      });
      const c = new RedisPopularityCounters({ client: dead, keyPrefix: `${run}dead:` });
      await expectCode(() => c.top('g', 5), 'RECSPINE_ERR_POPULARITY_STORE');
      await expectCode(() => c.incrementBatch([{ itemId: 'a', segment: 'g', weight: 1, atMs: 1 }]), 'RECSPINE_ERR_POPULARITY_STORE');
      dead.disconnect();
    });
  });
});
