import { describe, expect, it } from 'vitest';
import { InProcessEventBus } from './InProcessEventBus.js';
import type { DeliveredEvent, RecEvent } from './RecEvent.js';

const click = (i: number, userId = 'u1'): RecEvent => ({ id: `e${i}`, type: 'click', userId, itemId: 'v', atMs: 1_700_000_000_000 + i });

describe('InProcessEventBus', () => {
  describe('publish', () => {
    it('rejects an invalid event with a coded error and publishes nothing', async () => {
      const bus = new InProcessEventBus();
      await expect(bus.publish([click(1), { ...click(2), atMs: -1 }])).rejects.toMatchObject({
        code: 'RECSPINE_ERR_EVENT_INVALID',
        field: 'events[1].atMs',
      });
      expect(bus.stats().published).toBe(0);
    });
  });

  describe('subscribe', () => {
    it('delivers each user’s events in order, redelivers a rejected batch, and commits only after success', async () => {
      const bus = new InProcessEventBus({ partitions: 2, retryBackoffMs: 1 });
      const seen: DeliveredEvent[] = [];
      let failures = 2;
      await bus.subscribe((batch) => {
        if (failures-- > 0) return Promise.reject(new Error('store down'));
        seen.push(...batch);
        return Promise.resolve();
      });
      await bus.publish([click(1), click(2, 'u2'), click(3), click(4, 'u2'), click(5)]);
      await bus.whenIdle();
      const u1 = seen.filter((d) => d.event.userId === 'u1').map((d) => d.event.id);
      expect(u1).toEqual(['e1', 'e3', 'e5']);
      expect(seen).toHaveLength(5);
      expect(bus.stats().handlerFailures).toBe(2);
      await expect(bus.subscribe(() => Promise.resolve())).rejects.toMatchObject({ code: 'RECSPINE_ERR_EVENTBUS_STATE' });
    });

    it('dead-letters malformed messages without blocking the partition', async () => {
      const bus = new InProcessEventBus({ partitions: 1 });
      const seen: string[] = [];
      await bus.subscribe((batch) => {
        seen.push(...batch.map((d) => d.event.id));
        return Promise.resolve();
      });
      bus.publishRaw('garbage');
      bus.publishRaw({ type: 'click' });
      await bus.publish([click(9)]);
      await bus.whenIdle();
      expect(seen).toEqual(['e9']);
      expect(bus.stats().deadLettered).toBe(2);
      expect(bus.deadLetters()[1]).toMatchObject({ code: 'RECSPINE_ERR_EVENT_INVALID', field: 'id', seq: 1 });
    });
  });
});
