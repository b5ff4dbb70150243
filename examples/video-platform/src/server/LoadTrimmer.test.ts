import { afterEach, describe, expect, it } from 'vitest';
import { LoadTrimmer } from './LoadTrimmer.js';

describe('LoadTrimmer', () => {
  const made: LoadTrimmer[] = [];
  const make = (p99: { v: number }, plannedCap?: number): { t: LoadTrimmer; keep: Record<string, number> } => {
    const keep: Record<string, number> = {};
    const t = new LoadTrimmer({ setCoarseKeep: (s, k) => (keep[s] = k) }, () => p99.v, {
      baseKeep: { homepage: 200 },
      targetP99Ms: 40,
      periodMs: 60_000,
      ...(plannedCap === undefined ? {} : { plannedCap }),
    });
    made.push(t);
    return { t, keep };
  };
  afterEach(() => {
    for (const t of made.splice(0)) t.close();
  });

  it('trims the coarse keep while p99 is over target, down to the floor, and climbs back when it is low', () => {
    const p99 = { v: 80 };
    const { t, keep } = make(p99);
    t.tick();
    expect(t.qualityFactor).toBeCloseTo(0.8);
    expect(keep.homepage).toBe(160);
    for (let i = 0; i < 20; i++) t.tick();
    expect(t.qualityFactor).toBe(0.25);
    expect(keep.homepage).toBe(50);
    p99.v = 30; // under target but not comfortably: hold
    t.tick();
    expect(t.qualityFactor).toBe(0.25);
    p99.v = 10;
    t.tick();
    expect(t.qualityFactor).toBeCloseTo(0.3);
  });

  it('climbs back with no traffic to measure (p99 0) instead of staying trimmed after an overload', () => {
    const p99 = { v: 80 };
    const { t } = make(p99);
    for (let i = 0; i < 20; i++) t.tick();
    expect(t.qualityFactor).toBe(0.25);
    p99.v = 0;
    for (let i = 0; i < 20; i++) t.tick();
    expect(t.qualityFactor).toBe(1);
  });

  it('the planned-spike cap trims ahead of the load and bounds the climb', () => {
    const p99 = { v: 0 };
    const { t, keep } = make(p99, 0.75);
    expect(t.qualityFactor).toBe(0.75);
    expect(keep.homepage).toBe(150);
    for (let i = 0; i < 10; i++) t.tick();
    expect(t.qualityFactor).toBe(0.75);
    t.setPlannedCap(1);
    for (let i = 0; i < 10; i++) t.tick();
    expect(t.qualityFactor).toBe(1);
    expect(keep.homepage).toBe(200);
  });
});
