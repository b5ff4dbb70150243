import type { FeatureValue } from '@recspine/core';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import type { EventBus } from './EventBus.js';
import type { FeatureMutation, FeatureStore } from './FeatureStore.js';
import type { ItemCounters } from './ItemCounters.js';
import type { PopularitySink, PopularityUpdate } from './PopularitySink.js';
import type { DeliveredEvent, RecEvent } from './RecEvent.js';
import { FeaturesErrors } from './errors.js';
import { STREAM_GROUPS, type StreamGroupsOptions } from './streamFeatureGroups.js';
import { partitionOf } from './internal/partition.js';
import { applyEvent, eventIdKey, parseState, trim, userFeatures, type UserState } from './internal/userState.js';

/** Popularity weight per event type (0 = not written). */
export interface PopularityWeights {
  readonly impression: number;
  readonly click: number;
  readonly watch: number;
  /** Added on top of `watch` when the watch completed. */
  readonly completion: number;
  readonly like: number;
  readonly report: number;
}

/** Options of {@link StreamAggregator}. */
export interface StreamAggregatorOptions extends StreamGroupsOptions {
  readonly store: FeatureStore;
  /** Popularity counters owned by retrieval. */
  readonly popularity?: PopularitySink;
  readonly popularityWeights?: Partial<PopularityWeights>;
  /** In-process per-bucket item counters (e.g. for Thompson sampling). */
  readonly counters?: ItemCounters;
  /** Inactivity that ends a session when events carry no `sessionId`. Default 30 min. */
  readonly sessionGapMs?: number;
  /** User states kept in memory (the rest are reloaded from the store). Default 100 000. */
  readonly stateCacheSize?: number;
  /** Concurrent state loads from the store per batch (they pipeline into few round trips). Default 512. */
  readonly loadConcurrency?: number;
  /** How long an opt-out keeps later in-flight events of that user from being aggregated. Default 24 h. */
  readonly optOutMemoryMs?: number;
  /**
   * Event ids remembered per user (in the persisted state) to skip re-published copies of an
   * event — same id, new offset, e.g. a publish that timed out but landed and was also spilled and
   * drained by `SpillingEventBus`. A copy is caught while fewer than this many newer events of the
   * same user were applied in between — keep it ≥ `SpillingEventBus`'s `drainBatchEvents`, since a
   * drained chunk that is re-published lands right behind its first copy. Kept as 53-bit hashes
   * (≤ 11 chars each) in the state. Default 256; 0 turns the id check off (offsets still dedupe
   * redeliveries).
   */
  readonly recentEventIds?: number;
  /**
   * Called once per batch with the events that were applied — after the writes are durable, never
   * with duplicates (redelivered offsets or re-published ids). For in-process side effects that
   * must not double count, e.g. a server's exploration statistics. A throw is counted and ignored.
   */
  readonly onApplied?: (events: readonly RecEvent[]) => void;
}

/** Counters of an aggregator. */
export interface StreamAggregatorStats {
  readonly batches: number;
  readonly applied: number;
  /** Redelivered events recognised as already applied (by offset, or by event id). */
  readonly duplicates: number;
  /** Of `duplicates`: copies recognised by event id (re-published with a new offset). */
  readonly duplicateIds: number;
  readonly optOuts: number;
  readonly droppedOptedOut: number;
  readonly failedBatches: number;
  readonly guardConflicts: number;
  /** Throws from the `onApplied` hook (ignored, counted). */
  readonly onAppliedErrors: number;
}

const DEFAULT_WEIGHTS: PopularityWeights = { impression: 0, click: 1, watch: 1, completion: 1, like: 3, report: -5 };

interface Combined {
  entity: 'item' | 'creator';
  id: string;
  stream: string;
  minSeq: number;
  maxSeq: number;
  incr: Record<string, number>;
  /** Decayed adds as (feature, amount, atMs) triples. */
  add: (string | number)[];
  /** Latest event time: the reference time of the folded decayed adds. */
  atMs: number;
  set: Record<string, number>;
  events: { seq: number; e: RecEvent }[];
}

/**
 * Turns the event stream into features: per user the last 50 watched items, 24 h counts and
 * category counts, and in-session signal (`user_stream`); per item and creator decayed and total
 * counters (`item_stream`, `creator_stream`); plus popularity increments for retrieval and
 * in-process per-bucket item counters.
 *
 * Exactly-once effect under at-least-once delivery:
 * - user features: the user's rolling state (persisted with its features, in one atomic write)
 *   carries the highest offset applied per stream; redelivered events at or below it are skipped.
 *   A user's events all travel on one partition, so one consumer owns each user at a time.
 * - item/creator counters: one guarded mutation per (record, stream) and batch; the record keeps
 *   its own high-water mark per stream, so a replay never double-counts, whichever consumer
 *   replays it. A replay that straddles the mark falls back to one guarded mutation per event.
 * - popularity: written before the user state; at-least-once (see {@link PopularitySink}).
 * A failed write rejects the batch; the bus redelivers it and the partition does not advance.
 *
 * Privacy: `deleteUser` and `opt_out` events purge the user's records (features and state) from
 * the store and the in-memory state; after an opt-out, later events of that user are dropped
 * (for `optOutMemoryMs`) so in-flight events cannot recreate them.
 *
 * @example
 * ```ts
 * const agg = new StreamAggregator({ store, popularity: retrievalPopularity, counters, categories });
 * await agg.attach(bus);
 * ```
 */
export class StreamAggregator {
  private readonly store: FeatureStore;
  private readonly popularity: PopularitySink | undefined;
  private readonly weights: PopularityWeights;
  private readonly counters: ItemCounters | undefined;
  private readonly onApplied: ((events: readonly RecEvent[]) => void) | undefined;
  private readonly categories: readonly string[];
  private readonly catIndex: ReadonlyMap<string, number>;
  private readonly sessionGapMs: number;
  private readonly states: LRUCache<string, UserState>;
  private readonly optedOut: LRUCache<string, true>;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly recentIds: number;
  /** The user features last written for a cached state (dies with the state when it leaves the cache). */
  private readonly written = new WeakMap<UserState, { feats: Record<string, FeatureValue>; at: number }>();
  /** Past this age a remembered write is not trusted (the record may have expired): write everything. */
  private readonly rewriteAfterMs: number;
  /** Fingerprint of what shapes the derived features (the category list), kept in the state. */
  private readonly fp: string;
  private readonly st = {
    batches: 0,
    applied: 0,
    duplicates: 0,
    duplicateIds: 0,
    optOuts: 0,
    droppedOptedOut: 0,
    failedBatches: 0,
    guardConflicts: 0,
    onAppliedErrors: 0,
  };

  constructor(opts: StreamAggregatorOptions) {
    this.store = opts.store;
    for (const g of Object.values(STREAM_GROUPS)) {
      if (this.store.schema.group(g) === undefined)
        throw FeaturesErrors.create(
          'RECSPINE_ERR_FEATURES_SCHEMA',
          `the store's schema lacks group ${g}: add streamFeatureGroups() to it`,
          { field: 'groups' },
        );
    }
    this.popularity = opts.popularity;
    this.weights = { ...DEFAULT_WEIGHTS, ...opts.popularityWeights };
    this.counters = opts.counters;
    this.onApplied = opts.onApplied;
    this.categories = opts.categories ?? [];
    this.catIndex = new Map(this.categories.map((c, i) => [c, i]));
    this.fp = `c${this.categories.length}:${partitionOf(this.categories.join('\u0001'), 0x7fffffff).toString(36)}`;
    const dim = this.store.schema.group(STREAM_GROUPS.user)?.features.find((f) => f.name === 'category_counts_24h')?.dim;
    if (dim !== this.categories.length + 1)
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_SCHEMA', 'pass the same categories to streamFeatureGroups and StreamAggregator', {
        field: 'categories',
      });
    this.sessionGapMs = opts.sessionGapMs ?? 30 * 60_000;
    this.states = new LRUCache({ max: opts.stateCacheSize ?? 100_000 });
    // ttlResolution 0: no 1 ms timer per refresh of lru-cache's cached clock (see StoreEngine's caches)
    this.optedOut = new LRUCache({ max: 100_000, ttl: opts.optOutMemoryMs ?? 24 * 3_600_000, ttlResolution: 0 });
    this.limit = pLimit(opts.loadConcurrency ?? 512);
    const ids = opts.recentEventIds ?? 256;
    if (!Number.isInteger(ids) || ids < 0 || ids > 100_000)
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_SCHEMA', 'recentEventIds must be an integer 0..100000', {
        field: 'recentEventIds',
      });
    this.recentIds = ids;
    const ttl = this.store.schema.group(STREAM_GROUPS.user)?.ttlMs ?? 0;
    this.rewriteAfterMs = ttl > 0 ? Math.min(3_600_000, ttl / 2) : 3_600_000;
  }

  private lastWritten(s: UserState): Record<string, FeatureValue> | undefined {
    const w = this.written.get(s);
    return w !== undefined && Date.now() - w.at <= this.rewriteAfterMs ? w.feats : undefined;
  }

  /**
   * Subscribes to a bus: every delivered batch goes through {@link StreamAggregator.handle}. On a
   * rebalance the cached user states are dropped (another member may have advanced them while it
   * owned their partition); they are re-read from the store on next use.
   */
  attach(bus: EventBus): Promise<void> {
    return bus.subscribe((batch) => this.handle(batch), { onReassign: () => this.forgetCachedStates() });
  }

  /** Drops every cached user state (they are re-read from the store when next needed). */
  forgetCachedStates(): void {
    this.states.clear();
  }

  stats(): StreamAggregatorStats {
    return { ...this.st };
  }

  /**
   * Applies one batch (events of one or more streams, in stream order). Resolves once every
   * write is durable; rejects (and forgets the cached state of the batch's users) when a write
   * failed, so the redelivered batch is applied from the stored state.
   */
  async handle(batch: readonly DeliveredEvent[]): Promise<void> {
    this.st.batches++;
    const users = new Map<string, DeliveredEvent[]>();
    for (const d of batch) {
      const u = d.event.userId;
      const list = users.get(u);
      if (list === undefined) users.set(u, [d]);
      else list.push(d);
    }
    try {
      // 1. opt-outs first: purge, and drop that user's events
      for (const [u, list] of users) {
        if (list.some((d) => d.event.type === 'opt_out')) {
          await this.optOut(u);
          this.st.droppedOptedOut += list.length - 1;
          users.delete(u);
        } else if (this.optedOut.has(u)) {
          this.st.droppedOptedOut += list.length;
          users.delete(u);
        }
      }
      // 2. load states, keep only new events
      const loaded = await Promise.all([...users.keys()].map((u) => this.limit(() => this.state(u))));
      const fresh: DeliveredEvent[] = [];
      const dirty: [string, UserState][] = [];
      let i = 0;
      for (const [u, list] of users) {
        const s = loaded[i++] as UserState;
        let changed = false;
        const ids = (s.ids ??= []);
        for (const d of list) {
          const mark = s.hwm[d.stream] ?? -1;
          if (d.seq <= mark) {
            this.st.duplicates++;
            continue;
          }
          const key = this.recentIds > 0 ? eventIdKey(d.event.id) : '';
          if (this.recentIds > 0 && ids.includes(key)) {
            // a re-published copy (new offset, same id): skip it, but move the mark past it
            this.st.duplicates++;
            this.st.duplicateIds++;
            s.hwm[d.stream] = d.seq;
            changed = true;
            continue;
          }
          s.hwm[d.stream] = d.seq;
          if (this.recentIds > 0) {
            ids.push(key);
            if (ids.length > this.recentIds) ids.splice(0, ids.length - this.recentIds);
          }
          applyEvent(s, d.event, this.sessionGapMs);
          fresh.push(d);
          changed = true;
        }
        if (changed) {
          trim(s);
          dirty.push([u, s]);
        }
      }
      if (fresh.length === 0) return;
      // 3. item and creator counters (guarded, idempotent by themselves)
      await this.writeCounters(fresh);
      // 4. popularity (at-least-once)
      if (this.popularity !== undefined) {
        const ups = this.popularityUpdates(fresh);
        if (ups.length > 0) await this.popularity.incrementBatch(ups);
      }
      // 5. user features + state (this commits the user-side dedupe marks). Only the features that
      //    changed since this process last wrote the user are sent (most events touch 3–5 of ~17):
      //    this halves the batch's CPU. The state cache assumes one owner per user (partition), so
      //    what it last wrote (or loaded, see `state`) is what the store holds.
      const feats = dirty.map(([, s]) => {
        s.fp = this.fp;
        return userFeatures(s, this.categories, this.catIndex);
      });
      const muts: FeatureMutation[] = dirty.map(([u, s], k) => ({
        entity: 'user',
        id: u,
        group: STREAM_GROUPS.user,
        set: changedFeatures(this.lastWritten(s), feats[k] as Record<string, FeatureValue>),
        aux: JSON.stringify(s),
      }));
      await this.store.write(muts);
      const at = Date.now();
      dirty.forEach(([, s], k) => this.written.set(s, { feats: feats[k] as Record<string, FeatureValue>, at }));
      // 6. in-process counters
      if (this.counters !== undefined) for (const d of fresh) this.count(d.event);
      this.st.applied += fresh.length;
      if (this.onApplied !== undefined) {
        try {
          this.onApplied(fresh.map((d) => d.event));
        } catch {
          this.st.onAppliedErrors++;
        }
      }
    } catch (e) {
      this.st.failedBatches++;
      for (const u of users.keys()) this.states.delete(u);
      throw e;
    }
  }

  /**
   * CCPA deletion: removes every feature and aggregate of the user from the store (all user
   * groups, including the aggregator's state) and from memory. Item/creator counters and
   * popularity are anonymous aggregates and stay.
   */
  async deleteUser(userId: string): Promise<void> {
    this.states.delete(userId);
    await this.store.deleteEntity('user', userId);
  }

  /** Opt-out: {@link StreamAggregator.deleteUser}, and later events of the user are dropped. */
  async optOut(userId: string): Promise<void> {
    this.optedOut.set(userId, true);
    this.st.optOuts++;
    await this.deleteUser(userId);
  }

  /** An item was taken down: its stream features, in-process counters and popularity go. */
  async removeItem(itemId: string): Promise<void> {
    this.counters?.remove(itemId);
    await this.store.deleteEntity('item', itemId);
    await this.popularity?.removeItem(itemId);
  }

  private async state(userId: string): Promise<UserState> {
    const cached = this.states.get(userId);
    if (cached !== undefined) return cached;
    const aux = await this.store.readAux('user', userId, STREAM_GROUPS.user);
    const s = parseState(aux);
    // The stored features were written atomically with this state, so they are what it derives —
    // if it was derived with the same categories: then later writes need only send what changes.
    if (aux !== undefined && s.fp === this.fp)
      this.written.set(s, { feats: userFeatures(s, this.categories, this.catIndex), at: Date.now() });
    this.states.set(userId, s);
    return s;
  }

  private combine(fresh: readonly DeliveredEvent[]): Combined[] {
    const byKey = new Map<string, Combined>();
    const touch = (entity: 'item' | 'creator', id: string, d: DeliveredEvent): Combined => {
      const k = `${entity}\u0000${id}\u0000${d.stream}`;
      let c = byKey.get(k);
      if (c === undefined) {
        c = { entity, id, stream: d.stream, minSeq: d.seq, maxSeq: d.seq, incr: {}, add: [], atMs: d.event.atMs, set: {}, events: [] };
        byKey.set(k, c);
      }
      c.minSeq = Math.min(c.minSeq, d.seq);
      c.maxSeq = Math.max(c.maxSeq, d.seq);
      c.events.push({ seq: d.seq, e: d.event });
      return c;
    };
    for (const d of fresh) {
      const e = d.event;
      if (!('itemId' in e)) continue;
      const it = touch('item', e.itemId, d);
      counterDeltas(e, 'item', it);
      const creator = 'creatorId' in e ? e.creatorId : undefined;
      if (creator !== undefined) counterDeltas(e, 'creator', touch('creator', creator, d));
    }
    return [...byKey.values()];
  }

  private async writeCounters(fresh: readonly DeliveredEvent[]): Promise<void> {
    const combined = this.combine(fresh);
    if (combined.length === 0) return;
    const res = await this.store.write(combined.map((c) => this.toMutation(c)));
    const conflicts = combined.filter((_, i) => res[i] === 'conflict');
    if (conflicts.length === 0) return;
    // A replay straddles a record's mark (batch boundaries moved): one guarded mutation per event.
    this.st.guardConflicts += conflicts.length;
    const single: FeatureMutation[] = [];
    for (const c of conflicts) {
      for (const { seq, e } of c.events.sort((a, b) => a.seq - b.seq)) {
        const one: Combined = { ...c, minSeq: seq, maxSeq: seq, incr: {}, add: [], set: {}, atMs: e.atMs, events: [] };
        counterDeltas(e, c.entity, one);
        single.push(this.toMutation(one));
      }
    }
    // Sequential per record (guards need increasing seqs); records are independent.
    await this.store.write(single);
  }

  /**
   * One guarded mutation for a combined record update. Decayed adds at different times are
   * folded into one add as of the latest time (`Σ nᵢ·2^(-(t-tᵢ)/h)`): the store's decay op is
   * order-independent, so this equals applying them one by one.
   */
  private toMutation(c: Combined): FeatureMutation {
    const group = c.entity === 'item' ? STREAM_GROUPS.item : STREAM_GROUPS.creator;
    const g = this.store.schema.group(group);
    const add: Record<string, number> = {};
    for (let i = 0; i < c.add.length; i += 3) {
      const f = c.add[i] as string;
      const hl = g?.features[g.index.get(f) ?? -1]?.halfLifeMs ?? Infinity;
      bump(add, f, (c.add[i + 1] as number) * Math.pow(2, -(c.atMs - (c.add[i + 2] as number)) / hl));
    }
    return {
      entity: c.entity,
      id: c.id,
      group,
      ...(Object.keys(c.incr).length > 0 ? { incr: c.incr } : {}),
      ...(Object.keys(c.set).length > 0 ? { set: c.set } : {}),
      ...(c.add.length > 0 ? { decay: { atMs: c.atMs, add } } : {}),
      guard: { stream: c.stream, seq: c.maxSeq, fromSeq: c.minSeq },
    };
  }

  private popularityUpdates(fresh: readonly DeliveredEvent[]): PopularityUpdate[] {
    const out: PopularityUpdate[] = [];
    const w = this.weights;
    for (const { event: e } of fresh) {
      let weight = 0;
      switch (e.type) {
        case 'impression':
          weight = w.impression;
          break;
        case 'click':
          weight = w.click;
          break;
        case 'watch':
          weight = w.watch + (e.completed ? w.completion : 0);
          break;
        case 'like':
          weight = w.like;
          break;
        case 'report':
          weight = w.report;
          break;
        default:
          continue;
      }
      if (weight === 0) continue;
      out.push({ itemId: e.itemId, segment: 'global', weight, atMs: e.atMs });
      if (e.region !== undefined) out.push({ itemId: e.itemId, segment: `region:${e.region}`, weight, atMs: e.atMs });
      if (e.category !== undefined) out.push({ itemId: e.itemId, segment: `category:${e.category}`, weight, atMs: e.atMs });
    }
    return out;
  }

  private count(e: RecEvent): void {
    const c = this.counters as ItemCounters;
    switch (e.type) {
      case 'impression':
        c.add(e.itemId, 'impressions', 1, e.atMs);
        break;
      case 'click':
        c.add(e.itemId, 'clicks', 1, e.atMs);
        break;
      case 'watch':
        c.add(e.itemId, 'views', 1, e.atMs);
        if (e.completed) c.add(e.itemId, 'completions', 1, e.atMs);
        break;
      case 'like':
        c.add(e.itemId, 'likes', 1, e.atMs);
        break;
      case 'report':
        c.add(e.itemId, 'reports', 1, e.atMs);
        break;
      default:
        break;
    }
  }
}

/** The features of `next` that differ from `prev` (all of them when `prev` is unknown). */
function changedFeatures(prev: Record<string, FeatureValue> | undefined, next: Record<string, FeatureValue>): Record<string, FeatureValue> {
  if (prev === undefined) return next;
  const out: Record<string, FeatureValue> = {};
  for (const k in next) {
    const v = next[k] as FeatureValue;
    if (!sameValue(prev[k], v)) out[k] = v;
  }
  return out;
}

function sameValue(a: FeatureValue | undefined, b: FeatureValue): boolean {
  if (a === b) return true;
  if (a === undefined || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bump(r: Record<string, number>, k: string, n: number): void {
  r[k] = (r[k] ?? 0) + n;
}

/** Adds one event's counter deltas to a combined record update. */
function counterDeltas(e: RecEvent, entity: 'item' | 'creator', c: Combined): void {
  const add = (f: string, n: number): void => {
    c.add.push(f, n, e.atMs);
    c.atMs = Math.max(c.atMs, e.atMs);
  };
  switch (e.type) {
    case 'impression':
      if (entity === 'item') {
        add('impressions_recent', 1);
        bump(c.incr, 'impressions_total', 1);
      }
      break;
    case 'click':
      if (entity === 'item') {
        add('clicks_recent', 1);
        bump(c.incr, 'clicks_total', 1);
      }
      break;
    case 'watch':
      add('views_recent', 1);
      bump(c.incr, 'views_total', 1);
      if (e.completed) {
        add('completions_recent', 1);
        if (entity === 'item') bump(c.incr, 'completions_total', 1);
      }
      if (entity === 'item') add('watch_seconds_recent', e.watchMs / 1000);
      break;
    case 'like':
      add('likes_recent', 1);
      if (entity === 'item') bump(c.incr, 'likes_total', 1);
      break;
    case 'report':
      add('reports_recent', 1);
      bump(c.incr, 'reports_total', 1);
      break;
    case 'publish':
      if (entity === 'item') c.set.published_at_ms = e.atMs;
      else bump(c.incr, 'uploads_total', 1);
      break;
    default:
      break;
  }
}
