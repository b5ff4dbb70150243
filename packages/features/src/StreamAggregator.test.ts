import { describe, expect, it } from 'vitest';
import { CATEGORIES, testSchema } from '../test/fixtures.js';
import { InMemoryFeatureStore } from './InMemoryFeatureStore.js';
import { InProcessEventBus } from './InProcessEventBus.js';
import { ItemCounters } from './ItemCounters.js';
import type { PopularitySink, PopularityUpdate } from './PopularitySink.js';
import type { DeliveredEvent, RecEvent } from './RecEvent.js';
import { StreamAggregator } from './StreamAggregator.js';

const T0 = 1_700_000_000_000;

class RecordingSink implements PopularitySink {
  readonly updates: PopularityUpdate[] = [];
  readonly removed: string[] = [];
  incrementBatch(u: readonly PopularityUpdate[]): Promise<void> {
    this.updates.push(...u);
    return Promise.resolve();
  }
  removeItem(id: string): Promise<void> {
    this.removed.push(id);
    return Promise.resolve();
  }
}

function setup() {
  const store = new InMemoryFeatureStore(testSchema());
  const sink = new RecordingSink();
  const counters = new ItemCounters();
  const agg = new StreamAggregator({ store, popularity: sink, counters, categories: CATEGORIES });
  return { store, sink, counters, agg };
}

let n = 0;
const ev = (e: Partial<RecEvent> & { type: RecEvent['type'] }): RecEvent => ({ id: `e${n++}`, userId: 'u1', atMs: T0, ...e }) as RecEvent;
const deliver = (events: RecEvent[], stream = 's:0', from = 0): DeliveredEvent[] =>
  events.map((event, i) => ({ event, stream, seq: from + i }));

async function userRow(store: InMemoryFeatureStore, userId = 'u1') {
  return await store.read({ userId, itemIds: ['v1'], nowMs: T0, creatorIds: ['c1'] });
}

describe('StreamAggregator', () => {
  describe('handle', () => {
    it('keeps the last 50 watched items, 24 h category counts and in-session signal', async () => {
      const { store, agg } = setup();
      const watches = Array.from({ length: 60 }, (_, i) =>
        ev({
          type: 'watch',
          itemId: `v${i}`,
          category: CATEGORIES[i % 3],
          watchMs: 1000,
          completed: i % 2 === 0,
          atMs: T0 + i * 1000,
          sessionId: 's1',
        }),
      );
      await agg.handle(deliver([...watches, ev({ type: 'click', itemId: 'v1', atMs: T0 + 70_000, sessionId: 's1' })]));
      const { user } = await userRow(store);
      expect(user.recent_items).toHaveLength(50);
      expect((user.recent_items as string[])[0]).toBe('v59');
      expect(Array.from(user.category_counts_24h as Float32Array)).toEqual([20, 20, 20, 0]);
      expect(user.watches_24h).toBe(60);
      expect(user.completions_24h).toBe(30);
      expect(user.session_id).toBe('s1');
      expect(user.session_events).toBe(61);
      expect(user.session_clicks).toBe(1);
      expect(user.watch_seconds_24h).toBe(60);
    });

    it('starts a new session after the inactivity gap and forgets buckets older than 24 h', async () => {
      const { store, agg } = setup();
      await agg.handle(deliver([ev({ type: 'watch', itemId: 'a', category: 'music', watchMs: 1, completed: false, atMs: T0 })]));
      await agg.handle(
        deliver([ev({ type: 'watch', itemId: 'b', category: 'news', watchMs: 1, completed: false, atMs: T0 + 25 * 3_600_000 })], 's:0', 1),
      );
      const { user } = await userRow(store);
      expect(user.watches_24h).toBe(1);
      expect(user.top_categories_24h).toEqual(['news']);
      expect(user.session_events).toBe(1);
      expect(user.recent_items).toEqual(['b', 'a']);
    });

    it('writes item and creator counters, popularity by segment, and in-process bucket counters', async () => {
      const { store, sink, counters, agg } = setup();
      await agg.handle(
        deliver([
          ev({ type: 'impression', itemId: 'v1', creatorId: 'c1', region: 'US', category: 'music' }),
          ev({ type: 'click', itemId: 'v1', creatorId: 'c1', region: 'US', category: 'music' }),
          ev({ type: 'watch', itemId: 'v1', creatorId: 'c1', watchMs: 5000, completed: true }),
          ev({ type: 'report', itemId: 'v1', creatorId: 'c1' }),
        ]),
      );
      const b = await userRow(store);
      expect(b.items[0]).toMatchObject({
        impressions_total: 1,
        clicks_total: 1,
        views_total: 1,
        completions_total: 1,
        reports_total: 1,
        clicks_recent: 1,
        watch_seconds_recent: 5,
      });
      expect(b.items[0]).toMatchObject({ creator_views_total: 1, creator_reports_total: 1, creator_completions_recent: 1 });
      expect(sink.updates).toEqual([
        { itemId: 'v1', segment: 'global', weight: 1, atMs: T0 },
        { itemId: 'v1', segment: 'region:US', weight: 1, atMs: T0 },
        { itemId: 'v1', segment: 'category:music', weight: 1, atMs: T0 },
        { itemId: 'v1', segment: 'global', weight: 2, atMs: T0 },
        { itemId: 'v1', segment: 'global', weight: -5, atMs: T0 },
      ]);
      expect(counters.counts('v1', T0)).toEqual({ impressions: 1, clicks: 1, views: 1, completions: 1, reports: 1, likes: 0 });
    });

    it('does not double-count a redelivered batch, whole or with moved boundaries', async () => {
      const { store, sink, counters, agg } = setup();
      const events = Array.from({ length: 10 }, (_, i) => ev({ type: 'click', itemId: 'v1', creatorId: 'c1', atMs: T0 + i }));
      const batch = deliver(events);
      await agg.handle(batch.slice(0, 6));
      await agg.handle(batch.slice(0, 6)); // same batch again
      await agg.handle(batch.slice(3)); // overlapping redelivery: 3..5 seen, 6..9 new
      const b = await userRow(store);
      expect(b.user.session_clicks).toBe(10);
      expect((b.items[0] as Record<string, number>).clicks_total).toBe(10);
      expect(sink.updates.filter((u) => u.segment === 'global')).toHaveLength(10);
      expect(counters.counts('v1', T0)?.clicks).toBe(10);
      expect(agg.stats().duplicates).toBe(9);
    });

    it('skips a re-published copy of an event (same id, new offset), in a later batch or the same one', async () => {
      const { store, sink, counters, agg } = setup();
      const events = Array.from({ length: 4 }, (_, i) => ev({ type: 'click', itemId: 'v1', creatorId: 'c1', atMs: T0 + i }));
      await agg.handle(deliver(events.slice(0, 2), 's:0', 0));
      // e0 and e1 land again at new offsets (a publish that timed out, was spilled, then drained), then e2, e3
      await agg.handle(deliver([events[0] as RecEvent, events[1] as RecEvent, events[2] as RecEvent], 's:0', 2));
      await agg.handle(deliver([events[3] as RecEvent, events[3] as RecEvent], 's:0', 5));
      const b = await userRow(store);
      expect(b.user.session_clicks).toBe(4);
      expect((b.items[0] as Record<string, number>).clicks_total).toBe(4);
      expect(sink.updates.filter((u) => u.segment === 'global')).toHaveLength(4);
      expect(counters.counts('v1', T0)?.clicks).toBe(4);
      expect(agg.stats()).toMatchObject({ applied: 4, duplicates: 3, duplicateIds: 3 });
    });

    it('calls onApplied once per applied event, never for redelivered offsets or re-published ids; a throwing hook is counted', async () => {
      const seen: string[] = [];
      const agg = new StreamAggregator({
        store: new InMemoryFeatureStore(testSchema()),
        categories: CATEGORIES,
        onApplied: (events) => {
          seen.push(...events.map((e) => e.id));
          if (events.some((e) => 'itemId' in e && e.itemId === 'boom')) throw new Error('hook failed');
        },
      });
      const events = Array.from({ length: 3 }, (_, i) => ev({ type: 'click', itemId: 'v1', atMs: T0 + i }));
      await agg.handle(deliver(events, 's:0', 0));
      await agg.handle(deliver(events, 's:0', 0)); // same offsets again
      await agg.handle(deliver(events, 's:0', 3)); // same ids, new offsets
      expect(seen).toEqual(events.map((e) => e.id));
      await agg.handle(deliver([ev({ type: 'click', itemId: 'boom', atMs: T0 + 9 })], 's:0', 6));
      expect(agg.stats()).toMatchObject({ applied: 4, onAppliedErrors: 1 });
      expect(seen).toHaveLength(4);
    });

    it('skips a whole re-published drain chunk of one heavy user (200 events, landing right behind its first copy)', async () => {
      const { store, agg } = setup();
      const events = Array.from({ length: 200 }, (_, i) =>
        ev({ type: 'click', itemId: 'v1', atMs: T0 + i, id: `550e8400-e29b-41d4-a716-${String(i).padStart(12, '0')}` }),
      );
      await agg.handle(deliver(events, 's:0', 0));
      await agg.handle(deliver(events, 's:0', 200));
      const b = await userRow(store);
      expect((b.items[0] as Record<string, number>).clicks_total).toBe(200);
      expect(agg.stats()).toMatchObject({ applied: 200, duplicateIds: 200 });
      const aux = await store.readAux('user', 'u1', 'user_stream');
      expect((JSON.parse(aux as string) as { ids: string[] }).ids.every((k) => k.length <= 11)).toBe(true);
    });

    it('remembers only the newest recentEventIds ids per user; 0 turns the id check off', async () => {
      const bounded = new StreamAggregator({ store: new InMemoryFeatureStore(testSchema()), categories: CATEGORIES, recentEventIds: 2 });
      const off = new StreamAggregator({ store: new InMemoryFeatureStore(testSchema()), categories: CATEGORIES, recentEventIds: 0 });
      const events = Array.from({ length: 3 }, (_, i) => ev({ type: 'click', itemId: 'v1', atMs: T0 + i }));
      for (const agg of [bounded, off]) {
        await agg.handle(deliver(events, 's:0', 0));
        await agg.handle(deliver([events[2] as RecEvent, events[0] as RecEvent], 's:0', 3)); // e0 fell out of a window of 2
      }
      expect(bounded.stats()).toMatchObject({ applied: 4, duplicateIds: 1 });
      expect(off.stats()).toMatchObject({ applied: 5, duplicateIds: 0 });
      expect(
        () => new StreamAggregator({ store: new InMemoryFeatureStore(testSchema()), categories: CATEGORIES, recentEventIds: -1 }),
      ).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_FEATURES_SCHEMA', field: 'recentEventIds' }));
    });

    it('writes only the user features that changed, also after a restart, and all of them when the categories changed', async () => {
      const store = new InMemoryFeatureStore(testSchema());
      const sets: string[][] = [];
      const realWrite = store.write.bind(store);
      store.write = (m) => {
        for (const x of m) if (x.group === 'user_stream') sets.push(Object.keys(x.set ?? {}).sort());
        return realWrite(m);
      };
      const watch = ev({ type: 'watch', itemId: 'v1', category: 'music', watchMs: 5000, completed: true, atMs: T0, sessionId: 's1' });
      const a = new StreamAggregator({ store, categories: CATEGORIES });
      await a.handle(deliver([watch], 's:0', 0));
      await a.handle(deliver([ev({ type: 'impression', itemId: 'v2', atMs: T0 + 1, sessionId: 's1' })], 's:0', 1));
      // a new process (empty cache) loads the state and still sends only what changes
      const b = new StreamAggregator({ store, categories: CATEGORIES });
      await b.handle(deliver([ev({ type: 'click', itemId: 'v2', atMs: T0 + 2, sessionId: 's1' })], 's:0', 2));
      // the same categories in another order derive other vectors: everything is rewritten
      const c = new StreamAggregator({ store, categories: [...CATEGORIES].reverse() });
      await c.handle(deliver([ev({ type: 'click', itemId: 'v3', atMs: T0 + 3, sessionId: 's1' })], 's:0', 3));
      expect(sets[0]).toContain('recent_items');
      expect(sets[1]).toEqual(['impressions_24h', 'last_event_ms', 'session_events']);
      expect(sets[2]).toEqual(['clicks_24h', 'last_event_ms', 'session_clicks', 'session_events']);
      expect(sets[3]).toEqual(expect.arrayContaining(sets[0] as string[])); // a full write again
      const { user } = await userRow(store);
      expect(user.session_events).toBe(4);
      expect(user.clicks_24h).toBe(2);
      expect(Array.from(user.category_counts_24h as Float32Array)).toEqual([0, 0, 1, 0]); // reversed order: music last
    });

    it('after forgetCachedStates (a rebalance) re-reads a state another member advanced meanwhile', async () => {
      const store = new InMemoryFeatureStore(testSchema());
      const a = new StreamAggregator({ store, categories: CATEGORIES });
      const b = new StreamAggregator({ store, categories: CATEGORIES });
      const clicks = Array.from({ length: 3 }, (_, i) => ev({ type: 'click', itemId: 'v1', atMs: T0 + i, sessionId: 's1' }));
      await a.handle(deliver([clicks[0] as RecEvent], 's:0', 0)); // a owns the partition
      await b.handle(deliver([clicks[1] as RecEvent], 's:0', 1)); // the partition moved to b
      a.forgetCachedStates(); // … and back to a: the bus calls this on the rebalance
      await a.handle(deliver([clicks[2] as RecEvent], 's:0', 2));
      const { user } = await userRow(store);
      expect(user.session_clicks).toBe(3);
      expect(user.clicks_24h).toBe(3);
    });

    it('recovers from a crash between the item write and the user write without double counting (guard conflict path)', async () => {
      const { store, agg } = setup();
      const events = Array.from({ length: 6 }, (_, i) => ev({ type: 'click', itemId: 'v1', atMs: T0 + i }));
      const batch = deliver(events);
      // A first consumer applied events 0..2 to the item, then died before writing the user state.
      await store.write([
        { entity: 'item', id: 'v1', group: 'item_stream', incr: { clicks_total: 3 }, guard: { stream: 's:0', seq: 2, fromSeq: 0 } },
      ]);
      // The new owner (fresh state) gets 0..5 redelivered in one batch: straddles the item's mark.
      await agg.handle(batch);
      const b = await userRow(store);
      expect((b.items[0] as Record<string, number>).clicks_total).toBe(6);
      expect(agg.stats().guardConflicts).toBe(1);
    });

    it('re-reads the stored state after a failed write so a retry applies the batch once', async () => {
      const { store, agg } = setup();
      const realWrite = store.write.bind(store);
      let fail = true;
      store.write = (m) => {
        if (fail && m.some((x) => x.group === 'user_stream')) {
          fail = false;
          return Promise.reject(new Error('redis down'));
        }
        return realWrite(m);
      };
      const batch = deliver([ev({ type: 'click', itemId: 'v1' }), ev({ type: 'click', itemId: 'v2' })]);
      await expect(agg.handle(batch)).rejects.toThrow('redis down');
      await agg.handle(batch);
      const b = await store.read({ userId: 'u1', itemIds: ['v1', 'v2'], nowMs: T0 });
      expect(b.user.session_clicks).toBe(2);
      expect(b.items.map((r) => r.clicks_total)).toEqual([1, 1]);
      expect(agg.stats().failedBatches).toBe(1);
    });
  });

  describe('deleteUser / opt-out', () => {
    it('purges every key of the user; later in-flight events of an opted-out user are dropped', async () => {
      const { store, agg } = setup();
      await store.write([{ entity: 'user', id: 'u1', group: 'user_profile', set: { tenure_days: 9 } }]);
      await agg.handle(deliver([ev({ type: 'watch', itemId: 'v1', watchMs: 1, completed: false }), ev({ type: 'search', query: 'cats' })]));
      expect(store.keys().filter((k) => k.includes('{u1}'))).toHaveLength(2);
      await agg.handle(deliver([ev({ type: 'opt_out' })], 's:0', 2));
      expect(store.keys().filter((k) => k.includes('{u1}'))).toEqual([]);
      await agg.handle(deliver([ev({ type: 'click', itemId: 'v2' })], 's:0', 3));
      expect(store.keys().filter((k) => k.includes('{u1}'))).toEqual([]);
      const b = await userRow(store);
      expect(b.user).toEqual({});
      expect(agg.stats()).toMatchObject({ optOuts: 1, droppedOptedOut: 1 });
    });

    it('deleteUser removes the user features and state but keeps anonymous item counters', async () => {
      const { store, agg } = setup();
      await agg.handle(deliver([ev({ type: 'click', itemId: 'v1', userId: 'u2' })]));
      await agg.deleteUser('u2');
      expect(store.keys().filter((k) => k.includes('{u2}'))).toEqual([]);
      expect(store.keys().filter((k) => k.includes('{v1}'))).toHaveLength(1);
    });
  });

  describe('attach', () => {
    it('consumes an InProcessEventBus end to end, dead-letters malformed messages, and replays idempotently', async () => {
      const { store, agg } = setup();
      const bus = new InProcessEventBus({ partitions: 3 });
      await agg.attach(bus);
      const users = ['a', 'b', 'c', 'd'];
      await bus.publish(users.flatMap((u) => Array.from({ length: 5 }, () => ev({ type: 'click', itemId: 'v1', userId: u }))));
      bus.publishRaw({ type: 'click', id: 'bad' }, 'a');
      bus.publishRaw('{not json', 'b');
      await bus.whenIdle();
      bus.replay();
      await bus.whenIdle();
      const b = await store.read({ itemIds: ['v1'], nowMs: T0 });
      expect((b.items[0] as Record<string, number>).clicks_total).toBe(20);
      expect(bus.stats().deadLettered).toBe(2);
      expect(bus.deadLetters().map((d) => d.code)).toEqual(['RECSPINE_ERR_EVENT_INVALID', 'RECSPINE_ERR_EVENT_INVALID']);
      await bus.close();
    });
  });
});
