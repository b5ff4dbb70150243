import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fineSpec } from '../train/featureSets.js';
import { generateWorld } from '../world/generateWorld.js';
import { Rng } from '../world/internal/random.js';
import { resolveWorldConfig } from '../world/WorldConfig.js';
import { WorldData } from '../world/WorldData.js';
import { driftGate, driftOnLogs, psi } from './DriftGate.js';

const dir = mkdtempSync(join(tmpdir(), 'vp-drift-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('psi', () => {
  it('is near 0 for samples of one distribution and large for a shifted one', () => {
    const rng = new Rng(1);
    const a = Float64Array.from({ length: 5000 }, () => rng.gaussian());
    const b = Float64Array.from({ length: 5000 }, () => rng.gaussian());
    const c = Float64Array.from({ length: 5000 }, () => rng.gaussian() + 1);
    expect(psi(a, b)).toBeLessThan(0.02);
    expect(psi(a, c)).toBeGreaterThan(0.25);
  });
});

describe('driftGate', () => {
  it('promotes when no column drifted and names the columns that did', () => {
    const columns = ['a', 'b', 'c', 'd', 'e'];
    const W = columns.length;
    const rng = new Rng(2);
    const n = 2000;
    const a = Float32Array.from({ length: n * W }, () => rng.gaussian());
    const b = Float32Array.from({ length: n * W }, () => rng.gaussian());
    expect(driftGate(columns, a, n, b, n).promoted).toBe(true);
    for (let r = 0; r < n; r++) b[r * W + 3] = (b[r * W + 3] as number) + 2;
    const rep = driftGate(columns, a, n, b, n);
    expect(rep.promoted).toBe(false);
    expect(rep.drifted).toEqual(['d']);
    // An exempt column is reported but does not gate.
    expect(driftGate(columns, a, n, b, n, 0.25, ['d']).promoted).toBe(true);
  });

  it('blocks promotion on a deliberately shifted world and passes the unshifted one', () => {
    const results = [0, 1].map((shift) => {
      const w = generateWorld(resolveWorldConfig({ seed: 11, shift }, 'tiny'), { dataDir: dir, progress: false });
      const data = WorldData.load(w.dir);
      return driftOnLogs(data, fineSpec(data.manifest.config));
    });
    expect(results[0]?.promoted).toBe(true);
    expect(results[1]?.promoted).toBe(false);
    expect(results[1]?.drifted).toContain('user.history_len');
  });
});
