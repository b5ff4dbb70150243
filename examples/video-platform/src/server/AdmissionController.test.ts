import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionController } from './AdmissionController.js';

describe('AdmissionController', () => {
  const made: AdmissionController[] = [];
  const make = (o: ConstructorParameters<typeof AdmissionController>[0]): AdmissionController => {
    const a = new AdmissionController({ windowMs: 60_000, ...o });
    made.push(a);
    return a;
  };
  afterEach(() => {
    for (const a of made.splice(0)) a.close();
  });

  describe('tryAdmit', () => {
    it('sheds above the hard in-flight cap and admits again after a release', () => {
      const a = make({ maxInFlight: 2, maxLoopDelayMs: 1e9 });
      expect(a.tryAdmit()).toBeUndefined();
      expect(a.tryAdmit()).toBeUndefined();
      expect(a.tryAdmit()).toBe('in_flight');
      a.release(1);
      expect(a.tryAdmit()).toBeUndefined();
      expect(a.shed.in_flight).toBe(1);
      expect(a.admitted).toBe(3);
    });

    it('sheds while the loop runs late, at the default 20 ms sampling, and admits again once it is on time', async () => {
      const a = make({ maxInFlight: 100, maxLoopDelayMs: 60 });
      await new Promise((r) => setTimeout(r, 50)); // the histogram's first samples
      const until = performance.now() + 150; // the loop blocked for 150 ms
      while (performance.now() < until);
      await new Promise((r) => setTimeout(r, 30));
      a.roll();
      expect(a.current.loopDelayP99Ms).toBeGreaterThan(60);
      expect(a.tryAdmit()).toBe('loop_delay');
      expect(a.shed.loop_delay).toBe(1);
      await new Promise((r) => setTimeout(r, 100)); // on time again
      a.roll();
      expect(a.current.loopDelayP99Ms).toBeLessThan(60);
      expect(a.tryAdmit()).toBeUndefined();
    });
  });

  describe('roll (adaptive limit)', () => {
    it('shrinks the limit from what was in flight while admitted requests run late, then sheds at it', () => {
      const a = make({ maxInFlight: 100, maxLoopDelayMs: 1e9, targetLatencyMs: 50, minInFlight: 2 });
      for (let i = 0; i < 20; i++) expect(a.tryAdmit()).toBeUndefined();
      for (let i = 0; i < 20; i++) a.release(80); // every one late
      a.roll();
      expect(a.limit).toBe(15); // 20 in flight at peak × 0.75
      for (let i = 0; i < 15; i++) expect(a.tryAdmit()).toBeUndefined();
      expect(a.tryAdmit()).toBe('adaptive_limit');
      expect(a.shed.adaptive_limit).toBe(1);
      expect(a.current.limit).toBe(15);
    });

    it('probes upwards while on time and pressing against the limit, never above the hard cap', () => {
      const a = make({ maxInFlight: 12, maxLoopDelayMs: 1e9, targetLatencyMs: 50, minInFlight: 2 });
      for (let i = 0; i < 12; i++) a.tryAdmit();
      for (let i = 0; i < 12; i++) a.release(90);
      a.roll();
      expect(a.limit).toBe(9);
      for (let round = 0; round < 10; round++) {
        while (a.tryAdmit() === undefined);
        for (let i = 0; i < a.limit; i++) a.release(5);
        a.roll();
      }
      expect(a.limit).toBe(12);
    });

    it('backs off while the event loop is late even when admitted requests are on time, and stops probing up', async () => {
      const a = make({
        maxInFlight: 40,
        maxLoopDelayMs: 1e9,
        targetLatencyMs: 1e6,
        targetLoopDelayMs: 5,
        minInFlight: 2,
        loopResolutionMs: 5,
      });
      a.roll(); // fresh window
      for (let i = 0; i < 20; i++) a.tryAdmit();
      // block the loop for ~40 ms, twice: the delay histogram sees a late loop
      for (let k = 0; k < 2; k++) {
        await new Promise((r) => setTimeout(r, 10));
        const until = performance.now() + 40;
        while (performance.now() < until);
      }
      await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 20; i++) a.release(1); // on time
      a.roll();
      expect(a.current.loopDelayP99Ms).toBeGreaterThan(5);
      expect(a.limit).toBe(15); // 20 at peak × 0.75
    });

    it('ignores the loop delay for the limit when targetLoopDelayMs is off', async () => {
      const a = make({ maxInFlight: 40, maxLoopDelayMs: 1e9, targetLatencyMs: 1e6, minInFlight: 2, loopResolutionMs: 5 });
      a.roll();
      for (let i = 0; i < 20; i++) a.tryAdmit();
      await new Promise((r) => setTimeout(r, 10));
      const until = performance.now() + 40;
      while (performance.now() < until);
      await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 20; i++) a.release(1);
      a.roll();
      expect(a.current.loopDelayP99Ms).toBeGreaterThan(5);
      expect(a.limit).toBe(40);
    });

    it('keeps only the hard cap when adaptation is off', () => {
      const a = make({ maxInFlight: 3, maxLoopDelayMs: 1e9 });
      a.tryAdmit();
      a.release(10_000);
      a.roll();
      expect(a.limit).toBe(3);
    });
  });
});
