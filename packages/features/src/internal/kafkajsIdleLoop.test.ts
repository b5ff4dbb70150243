import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { patchKafkajsIdleLoop } from './kafkajsIdleLoop.js';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null | undefined;
  canSendSocketRequestImmediately(): boolean;
  scheduleCheckPendingRequests(): void;
  checkPendingRequests(): void;
}
const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: object) => Queue;
const noLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const queue = (): Queue =>
  new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 't',
    broker: 'b',
    logger: noLog,
  });

describe('patchKafkajsIdleLoop (kafkajs 2.2.x RequestQueue, the real class)', () => {
  const made: Queue[] = [];
  afterEach(() => {
    for (const q of made.splice(0)) if (q.throttleCheckTimeoutId) clearTimeout(q.throttleCheckTimeoutId);
  });

  it('applies to the installed kafkajs, once', () => {
    expect(patchKafkajsIdleLoop()).toBe(true);
    expect(patchKafkajsIdleLoop()).toBe(true);
  });

  it('arms no timer for an idle queue (nothing pending, not throttled) — the loop that re-armed itself every 1 ms', async () => {
    patchKafkajsIdleLoop();
    const q = queue();
    made.push(q);
    let checks = 0;
    const check = q.checkPendingRequests.bind(q);
    q.checkPendingRequests = () => {
      checks++;
      check();
    };
    q.checkPendingRequests(); // what every response does
    expect(q.throttleCheckTimeoutId ?? null).toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect(checks).toBe(1); // unpatched: ~35–50 in 50 ms
  });

  it('still checks a queue with pending requests, and one that is throttled', () => {
    patchKafkajsIdleLoop();
    const pending = queue();
    made.push(pending);
    pending.canSendSocketRequestImmediately = () => false; // in-flight limit reached
    pending.pending.push({ correlationId: 1 });
    pending.scheduleCheckPendingRequests();
    expect(pending.throttleCheckTimeoutId).toBeTruthy();
    const throttled = queue();
    made.push(throttled);
    throttled.throttledUntil = Date.now() + 1_000;
    throttled.scheduleCheckPendingRequests();
    expect(throttled.throttleCheckTimeoutId).toBeTruthy();
  });
});
