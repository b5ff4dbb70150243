import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CATEGORIES, testSchema } from '../test/fixtures.js';
import type { EventBatchHandler, EventBus, EventBusStats } from './EventBus.js';
import { InMemoryFeatureStore } from './InMemoryFeatureStore.js';
import { InProcessEventBus } from './InProcessEventBus.js';
import type { DeliveredEvent, RecEvent } from './RecEvent.js';
import { SpillingEventBus } from './SpillingEventBus.js';
import { StreamAggregator } from './StreamAggregator.js';

const T0 = 1_700_000_000_000;
const click = (i: number, userId = `u${i % 4}`): RecEvent => ({
  id: `e${i}`,
  type: 'click',
  userId,
  itemId: 'v1',
  creatorId: 'c1',
  atMs: T0 + i,
});

/**
 * The real in-process bus behind a switch that plays a broker outage: `down` rejects every
 * publish; `hang` holds each publish and lets it land only on `release()` (a send that timed out
 * on our side but was written by the broker later).
 */
class OutageBus implements EventBus {
  readonly name = 'outage';
  mode: 'up' | 'down' | 'hang' = 'up';
  attempts = 0;
  private held: (() => void)[] = [];
  constructor(readonly bus = new InProcessEventBus({ partitions: 2 })) {}
  start(): Promise<void> {
    return this.mode === 'down' ? Promise.reject(new Error('broker down')) : this.bus.start();
  }
  publish(events: readonly RecEvent[]): Promise<void> {
    this.attempts++;
    if (this.mode === 'down') return Promise.reject(new Error('broker down'));
    if (this.mode === 'hang') return new Promise((resolve, reject) => this.held.push(() => this.bus.publish(events).then(resolve, reject)));
    return this.bus.publish(events);
  }
  release(): void {
    for (const f of this.held.splice(0)) f();
  }
  subscribe(h: EventBatchHandler): Promise<void> {
    return this.bus.subscribe(h);
  }
  stats(): EventBusStats {
    return this.bus.stats();
  }
  close(): Promise<void> {
    return this.bus.close();
  }
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'recspine-spill-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function aggregated() {
  const store = new InMemoryFeatureStore(testSchema());
  const agg = new StreamAggregator({ store, categories: CATEGORIES });
  const clicks = async (): Promise<unknown> =>
    (await store.read({ itemIds: ['v1'], groups: ['item_stream'], nowMs: T0 })).items[0]?.clicks_total;
  return { store, agg, clicks };
}

describe('SpillingEventBus', () => {
  describe('publish', () => {
    it('publishes straight to a healthy inner bus and spills nothing', async () => {
      const inner = new OutageBus();
      const bus = new SpillingEventBus(inner, { dir: tmp(), maxBytes: 1 << 20 });
      await bus.start();
      await bus.publish([click(1), click(2)]);
      expect(bus.spillStats()).toMatchObject({ directEvents: 2, spooledEvents: 0, pendingEvents: 0 });
      expect(inner.stats().published).toBe(2);
      await bus.close();
    });

    it('rejects an invalid event with RECSPINE_ERR_EVENT_INVALID and accepts nothing of the call', async () => {
      const inner = new OutageBus();
      inner.mode = 'down';
      const bus = new SpillingEventBus(inner, { dir: tmp(), maxBytes: 1 << 20 });
      await bus.start();
      await expect(bus.publish([click(1), { ...click(2), itemId: '' } as RecEvent])).rejects.toMatchObject({
        code: 'RECSPINE_ERR_EVENT_INVALID',
        field: 'events[1].itemId',
      });
      expect(bus.spillStats()).toMatchObject({ spooledEvents: 0, pendingEvents: 0, directEvents: 0 });
      await bus.close();
    });

    it('spills while the inner bus is down, keeps spilling while the spool is not empty, then drains in order', async () => {
      const inner = new OutageBus();
      const seen: DeliveredEvent[] = [];
      await inner.subscribe((b) => Promise.resolve(void seen.push(...b)));
      const bus = new SpillingEventBus(inner, { dir: tmp(), maxBytes: 1 << 20, drainIntervalMs: 20, fsync: false });
      await bus.start();
      await bus.publish([click(0)]);
      inner.mode = 'down';
      for (let i = 1; i <= 20; i++) await bus.publish([click(i)]);
      expect(bus.spillStats()).toMatchObject({ directEvents: 1, spooledEvents: 20, pendingEvents: 20 });
      expect(bus.spillStats().lastError).toContain('broker down');
      inner.mode = 'up';
      // published while the spool still holds events: goes behind them, not around them
      await bus.publish([click(21)]);
      expect(await bus.whenDrained(5_000)).toBe(true);
      await inner.bus.whenIdle();
      for (const u of ['u0', 'u1', 'u2', 'u3']) {
        const mine = seen.filter((d) => d.event.userId === u).map((d) => Number(d.event.id.slice(1)));
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
      expect(seen.map((d) => d.event.id).sort()).toEqual(Array.from({ length: 22 }, (_, i) => `e${i}`).sort());
      expect(bus.spillStats()).toMatchObject({ spooledEvents: 21, drainedEvents: 21, pendingEvents: 0, pendingBytes: 0 });
      await bus.close();
    });

    it('spills a publish that outlives publishTimeoutMs; when the late send lands too, the aggregator counts each event once', async () => {
      const inner = new OutageBus();
      const { agg, clicks } = aggregated();
      await agg.attach(inner);
      const bus = new SpillingEventBus(inner, {
        dir: tmp(),
        maxBytes: 1 << 20,
        publishTimeoutMs: 30,
        drainIntervalMs: 20,
        drainTimeoutMs: 50,
        fsync: false,
      });
      await bus.start();
      inner.mode = 'hang';
      const t = Date.now();
      await bus.publish([click(1), click(2)]);
      expect(Date.now() - t).toBeGreaterThanOrEqual(25);
      await bus.publish([click(3)]);
      expect(bus.spillStats().spooledEvents).toBe(3);
      inner.mode = 'up';
      inner.release(); // the "timed out" sends land after all
      expect(await bus.whenDrained(5_000)).toBe(true);
      await inner.bus.whenIdle();
      expect(inner.stats().published).toBeGreaterThan(3); // duplicates reached the bus …
      expect(await clicks()).toBe(3); // … and were absorbed by the event-id dedupe
      expect(agg.stats().duplicateIds).toBe(inner.stats().published - 3);
      await bus.close();
    });

    it('rejects with RECSPINE_ERR_EVENTS_SPILL_FULL when the spool is full, accepting nothing of that call', async () => {
      const inner = new OutageBus();
      inner.mode = 'down';
      const bus = new SpillingEventBus(inner, { dir: tmp(), maxBytes: 2048, drainIntervalMs: 1_000, closeDrainMs: 10, fsync: false });
      await bus.start();
      let accepted = 0;
      let err: unknown;
      for (let i = 0; i < 100 && err === undefined; i++) {
        try {
          await bus.publish([click(2 * i), click(2 * i + 1)]);
          accepted += 2;
        } catch (e) {
          err = e;
        }
      }
      expect(err).toMatchObject({ code: 'RECSPINE_ERR_EVENTS_SPILL_FULL', category: 'dependency' });
      expect(bus.spillStats()).toMatchObject({ spooledEvents: accepted, pendingEvents: accepted, rejectedEvents: 2 });
      expect(bus.spillStats().pendingBytes).toBeLessThanOrEqual(2048);
      await bus.close();
    });
  });

  describe('start (restart)', () => {
    it('a new process drains the spool a previous one left behind', async () => {
      const dir = tmp();
      const down = new OutageBus();
      down.mode = 'down';
      const a = new SpillingEventBus(down, { dir, maxBytes: 1 << 20, closeDrainMs: 50 });
      await a.start();
      for (let i = 0; i < 10; i++) await a.publish([click(i)]);
      await a.close(); // bounded: the events stay on disk
      expect(readdirSync(dir).some((f) => f.startsWith('seg-'))).toBe(true);

      const inner = new OutageBus();
      const { agg, clicks } = aggregated();
      await agg.attach(inner);
      const b = new SpillingEventBus(inner, { dir, maxBytes: 1 << 20 });
      expect(b.spillStats().pendingEvents).toBe(0); // not opened before start
      await b.start();
      expect(await b.whenDrained(5_000)).toBe(true);
      await inner.bus.whenIdle();
      expect(await clicks()).toBe(10);
      expect(b.spillStats()).toMatchObject({ drainedEvents: 10, pendingEvents: 0 });
      expect(readdirSync(dir).some((f) => f.startsWith('seg-'))).toBe(false);
      await b.close();
    });

    it('starts (and accepts events) even when the inner bus cannot start', async () => {
      const inner = new OutageBus();
      inner.mode = 'down';
      const bus = new SpillingEventBus(inner, { dir: tmp(), maxBytes: 1 << 20, closeDrainMs: 10 });
      await bus.start();
      expect(bus.spillStats().lastError).toMatch(/^start: broker down/);
      await bus.publish([click(1)]);
      expect(bus.spillStats().pendingEvents).toBe(1);
      await bus.close();
      await expect(bus.publish([click(2)])).rejects.toMatchObject({ code: 'RECSPINE_ERR_EVENTBUS_STATE' });
    });

    it('close lets accepted publishes finish before it closes the spool and the inner bus', async () => {
      const inner = new OutageBus();
      inner.mode = 'hang';
      const bus = new SpillingEventBus(inner, { dir: tmp(), maxBytes: 1 << 20, publishTimeoutMs: 50, closeDrainMs: 300, fsync: false });
      await bus.start();
      const pending = bus.publish([click(1)]); // hangs in the inner bus, then spills
      await bus.close();
      await expect(pending).resolves.toBeUndefined();
      expect(bus.spillStats()).toMatchObject({ spooledEvents: 1, pendingEvents: 1 });
    });

    it('does not retry a down inner bus faster than drainIntervalMs', async () => {
      const inner = new OutageBus();
      inner.mode = 'down';
      const bus = new SpillingEventBus(inner, { dir: tmp(), maxBytes: 1 << 20, drainIntervalMs: 200, closeDrainMs: 10, fsync: false });
      await bus.start();
      await bus.publish([click(0)]);
      const before = inner.attempts;
      for (let i = 1; i < 50; i++) await bus.publish([click(i)]);
      await new Promise((r) => setTimeout(r, 300));
      expect(inner.attempts - before).toBeLessThanOrEqual(3);
      await bus.close();
    });

    it('validates its options', () => {
      expect(() => new SpillingEventBus(new OutageBus(), { dir: tmp(), maxBytes: 1 << 20, publishTimeoutMs: 0 })).toThrow(
        expect.objectContaining({ code: 'RECSPINE_ERR_EVENTBUS_STATE', field: 'publishTimeoutMs' }),
      );
    });
  });
});
