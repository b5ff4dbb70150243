import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateWorld } from './generateWorld.js';
import { World } from './World.js';
import { resolveWorldConfig } from './WorldConfig.js';
import { WorldData } from './WorldData.js';

const dir = mkdtempSync(join(tmpdir(), 'vp-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('generateWorld', () => {
  const cfg = resolveWorldConfig({ seed: 5, users: 600, items: 400 }, 'tiny');
  const data = WorldData.load(generateWorld(cfg, { dataDir: dir, progress: false }).dir);
  const world = World.build(cfg);

  it('gives warm users a prior history that reflects their taste, and cold users none', () => {
    let warmWith = 0;
    let warm = 0;
    let histAff = 0;
    let histN = 0;
    let randAff = 0;
    let randN = 0;
    const D = cfg.dim;
    const aff = (u: number, i: number) => {
      let a = 0;
      for (let d = 0; d < D; d++) a += (world.userTaste[u * D + d] as number) * (world.itemTopic[i * D + d] as number);
      return a;
    };
    for (let u = 0; u < cfg.users; u++) {
      const h = data.historyAtSplit(u);
      if (world.userCold[u] === 1) {
        expect(h).toEqual([]);
        continue;
      }
      warm++;
      if (h.length > 0) warmWith++;
      for (const i of h) {
        histAff += aff(u, i);
        histN++;
      }
      randAff += aff(u, (u * 7919) % cfg.items);
      randN++;
    }
    expect(warmWith / warm).toBeGreaterThan(0.95);
    expect(histN / warm).toBeGreaterThan(cfg.priorHistory * 0.8);
    // Chosen items are much closer to the user's taste than random catalog items.
    expect(histAff / histN).toBeGreaterThan(randAff / randN + 0.2);
  });

  it('starts items published before the window with lifetime counters, and fresh items at zero', () => {
    let oldWith = 0;
    let old = 0;
    for (let i = 0; i < cfg.items; i++) {
      if ((data.itemPublishedS[i] as number) > 0) continue;
      old++;
      if ((data.splitImps[i] as number) > 0) oldWith++;
      expect(data.splitClicks[i] as number).toBeLessThanOrEqual(data.splitImps[i] as number);
    }
    expect(oldWith / old).toBeGreaterThan(0.9);
  });

  it('logs the served history category shares with each session (they sum to 1 when there is a history)', () => {
    const C = cfg.categories;
    for (let s = 0; s < Math.min(500, data.sessions.n); s++) {
      let sum = 0;
      for (let k = 0; k < C; k++) sum += data.sessions.categoryShare[s * C + k] as number;
      expect(sum).toBeCloseTo(data.sessions.historyLen[s] === 0 ? 0 : 1, 5);
    }
  });
});
