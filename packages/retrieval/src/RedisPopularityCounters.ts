import { createHash } from 'node:crypto';
import type { RetrievedItem } from '@recspine/core';
import type { Cluster, Redis } from 'ioredis';
import pLimit from 'p-limit';
import { RetrievalErrors } from './errors.js';
import { RENORMALISE_AT, checkTop, checkUpdates, tauOf } from './internal/popularity.js';
import type { PopularityCounters, PopularityUpdate } from './PopularityCounters.js';

const STAGE = 'retrieval/popularity/redis';

/** Options of {@link RedisPopularityCounters}. */
export interface RedisPopularityOptions {
  /** An ioredis client (standalone or Cluster). The caller owns its lifecycle. */
  readonly client: Redis | Cluster;
  /**
   * Key prefix. All keys get the hash tag `{pop}` after it so they share one Cluster slot (the
   * update script touches several keys atomically). Default `recspine:`.
   */
  readonly keyPrefix?: string;
  /** Half-life of the decay. Default 6 h. */
  readonly halfLifeMs?: number;
  /** Items kept per segment (lowest trimmed on write). Default 50 000. */
  readonly maxItemsPerSegment?: number;
  /**
   * Updates per script call. A big batch is split so that no single script holds Redis (which is
   * single-threaded) for long; each chunk is atomic. Default 500.
   */
  readonly chunkSize?: number;
  /** Script calls in flight at once for one big batch. Default 4. */
  readonly concurrency?: number;
}

// Forward-decay increment, atomic per batch. KEYS: legacy global landmark, removed set, segment
// registry, per-segment landmarks (hash). ARGV: tau, key base, renormalise threshold, maxItems, then
// (item, segment, weight, atMs)*. Builds segment and per-item keys from the base (all share the
// `{pop}` hash tag, so one slot).
//
// Each segment has its own landmark, so a renormalisation rescales only the segment whose exponent
// outgrew the threshold (≤ maxItems members), never every segment in one script: one script holds
// single-threaded Redis for its whole run, and rescaling every segment of a big catalogue at once
// stalled every other client (379 ms measured at 1M items in the video-platform example, on the
// first live event after seeding from older timestamps). A segment without its own landmark uses
// the global one, which older versions of this script wrote (their data stays readable).
const INCR = `
local tau = tonumber(ARGV[1]); local base = ARGV[2]; local limit = tonumber(ARGV[3]); local maxItems = tonumber(ARGV[4])
local G = tonumber(redis.call('GET', KEYS[1]))
local Ls = {}
local touched = {}
for i = 5, #ARGV, 4 do
  local item = ARGV[i]; local seg = ARGV[i+1]; local t = tonumber(ARGV[i+3])
  if redis.call('SISMEMBER', KEYS[2], item) == 0 then
    local key = base .. 'seg:' .. seg
    local L = Ls[seg]
    if L == nil then
      L = tonumber(redis.call('HGET', KEYS[4], seg))
      if L == nil then
        L = G or t
        redis.call('HSET', KEYS[4], seg, string.format('%.17g', L))
      end
    end
    if (t - L) / tau > limit then
      local f = math.exp((L - t) / tau)
      local rows = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
      for j = 1, #rows, 2 do redis.call('ZADD', key, tonumber(rows[j+1]) * f, rows[j]) end
      redis.call('ZREMRANGEBYSCORE', key, '-inf', 1e-300)
      L = t
      redis.call('HSET', KEYS[4], seg, string.format('%.17g', L))
    end
    Ls[seg] = L
    redis.call('ZINCRBY', key, tonumber(ARGV[i+2]) * math.exp((t - L) / tau), item)
    redis.call('SADD', base .. 'item:' .. item, seg)
    redis.call('SADD', KEYS[3], seg)
    touched[key] = true
  end
end
for key, _ in pairs(touched) do redis.call('ZREMRANGEBYRANK', key, 0, -(maxItems + 1)) end
return 1
`;

// Removal. KEYS: removed set. ARGV: key base, item.
const REMOVE = `
local base = ARGV[1]; local item = ARGV[2]
redis.call('SADD', KEYS[1], item)
local ikey = base .. 'item:' .. item
for _, seg in ipairs(redis.call('SMEMBERS', ikey)) do redis.call('ZREM', base .. 'seg:' .. seg, item) end
redis.call('DEL', ikey)
return 1
`;

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

/**
 * {@link PopularityCounters} in Redis: one sorted set per segment holding forward-decayed scores,
 * so a read is one `ZREVRANGE … WITHSCORES` (pipelined with the segment's landmark, to decay the
 * scores to now). Writes run one Lua script per batch (atomic). Each segment has its own landmark:
 * when one must move (with a 6 h half-life, about every 18 days of event time) only that segment is
 * rescaled, in the script of the update that needs it — bounded by `maxItemsPerSegment` members,
 * never the whole catalogue in one blocking call.
 *
 * Taken-down items go to a `removed` set; later updates for them are ignored.
 *
 * @example
 * ```ts
 * const counters = new RedisPopularityCounters({ client: new Redis(), keyPrefix: 'myapp:' });
 * await counters.incrementBatch(updates);          // from the stream aggregator
 * const hot = await counters.top('region:US', 200); // from PopularitySource
 * ```
 */
export class RedisPopularityCounters implements PopularityCounters {
  private readonly client: Redis | Cluster;
  private readonly base: string;
  private readonly tau: number;
  private readonly maxItems: number;
  private readonly keys: { landmark: string; removed: string; segments: string; landmarks: string };
  private readonly chunkSize: number;
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(options: RedisPopularityOptions) {
    if (options?.client === undefined) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'client is required', { stage: STAGE, field: 'client' });
    }
    this.client = options.client;
    this.base = `${options.keyPrefix ?? 'recspine:'}{pop}:`;
    this.tau = tauOf(options.halfLifeMs ?? 6 * 3_600_000, STAGE);
    this.maxItems = options.maxItemsPerSegment ?? 50_000;
    if (!Number.isInteger(this.maxItems) || this.maxItems < 1) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'maxItemsPerSegment must be a positive integer', {
        stage: STAGE,
        field: 'maxItemsPerSegment',
      });
    }
    this.chunkSize = options.chunkSize ?? 500;
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'chunkSize and concurrency must be positive integers', {
        stage: STAGE,
      });
    }
    this.limit = pLimit(concurrency);
    this.keys = {
      landmark: `${this.base}landmark`,
      removed: `${this.base}removed`,
      segments: `${this.base}segments`,
      landmarks: `${this.base}landmarks`,
    };
  }

  /** The key of a segment's sorted set (for operators and tests). */
  segmentKey(segment: string): string {
    return `${this.base}seg:${segment}`;
  }

  async incrementBatch(updates: readonly PopularityUpdate[]): Promise<void> {
    checkUpdates(updates, STAGE);
    if (updates.length === 0) return;
    const calls: Promise<unknown>[] = [];
    for (let off = 0; off < updates.length; off += this.chunkSize) {
      const args: (string | number)[] = [this.tau, this.base, RENORMALISE_AT, this.maxItems];
      for (const u of updates.slice(off, off + this.chunkSize)) args.push(u.itemId, u.segment, u.weight, u.atMs);
      calls.push(
        this.limit(() => this.script(INCR, [this.keys.landmark, this.keys.removed, this.keys.segments, this.keys.landmarks], args)),
      );
    }
    await Promise.all(calls);
  }

  async removeItem(itemId: string): Promise<void> {
    if (typeof itemId !== 'string' || itemId.length === 0) {
      throw RetrievalErrors.create('RECSPINE_ERR_POPULARITY_INPUT', 'itemId must be a non-empty string', { stage: STAGE, field: 'itemId' });
    }
    await this.script(REMOVE, [this.keys.removed], [this.base, itemId]);
  }

  async top(segment: string, k: number, nowMs?: number): Promise<RetrievedItem[]> {
    checkTop(segment, k, STAGE);
    let res: [Error | null, unknown][] | null;
    try {
      res = await this.client
        .pipeline()
        .hget(this.keys.landmarks, segment)
        .get(this.keys.landmark)
        .zrevrange(this.segmentKey(segment), 0, k - 1, 'WITHSCORES')
        .exec();
    } catch (e) {
      throw this.storeError('top', e);
    }
    const [segLandmarkRes, landmarkRes, rangeRes] = res ?? [];
    const err = segLandmarkRes?.[0] ?? landmarkRes?.[0] ?? rangeRes?.[0];
    if (err) throw this.storeError('top', err);
    // The segment's own landmark; a segment written before per-segment landmarks uses the global one.
    const raw = segLandmarkRes?.[1] ?? landmarkRes?.[1];
    const landmark = raw == null ? undefined : Number(raw);
    const rows = (rangeRes?.[1] ?? []) as string[];
    if (landmark === undefined || rows.length === 0) return [];
    const factor = Math.exp((landmark - (nowMs ?? Date.now())) / this.tau);
    const out: RetrievedItem[] = [];
    for (let i = 0; i + 1 < rows.length; i += 2) out.push({ itemId: rows[i] as string, score: Number(rows[i + 1]) * factor });
    return out;
  }

  private async script(src: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const hash = sha1(src);
    try {
      return await this.client.evalsha(hash, keys.length, ...keys, ...args);
    } catch (e) {
      if (!String((e as Error)?.message).includes('NOSCRIPT')) throw this.storeError('script', e);
    }
    try {
      return await this.client.eval(src, keys.length, ...keys, ...args);
    } catch (e) {
      throw this.storeError('script', e);
    }
  }

  private storeError(op: string, e: unknown): Error {
    return RetrievalErrors.create('RECSPINE_ERR_POPULARITY_STORE', `redis ${op} failed: ${(e as Error)?.message ?? String(e)}`, {
      stage: STAGE,
      cause: e,
    });
  }
}
