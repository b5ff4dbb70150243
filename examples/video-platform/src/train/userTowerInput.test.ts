import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureRow } from '@recspine/core';
import { OnnxUserTower } from '@recspine/retrieval';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../world/internal/random.js';
import { userTowerFeatures } from './featureSets.js';
import { Mlp } from './internal/Mlp.js';
import { exportMlpToOnnx } from './OnnxExport.js';
import { initTf } from './tfBackend.js';
import { userTowerInput, userTowerWidth } from './userTowerInput.js';

const dims = { dim: 4, categories: 3, regions: 3, languages: 2, devices: 2, ageBands: 3, historyLength: 5 };
const rng = new Rng(9);
const ids = Array.from({ length: 12 }, (_, i) => `v${i}`);
const table = { ids, vectors: Float32Array.from({ length: 12 * 4 }, () => rng.gaussian()), dims: 4 };
const features = userTowerFeatures(dims, table, { 'user.history_len': { mean: 1.2, std: 0.7 } });
const dir = mkdtempSync(join(tmpdir(), 'vp-tower-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let tower: OnnxUserTower;

describe('userTowerInput', () => {
  beforeAll(async () => {
    await initTf();
    const m = new Mlp(userTowerWidth(features), [6], { embedding: 3 }, 'l2normalize', 1);
    const path = join(dir, 'tower.onnx');
    writeFileSync(path, exportMlpToOnnx(m.weights(), { name: 'user_tower' }));
    m.dispose();
    tower = await OnnxUserTower.create({ model: path, features });
  });

  it('has the width OnnxUserTower computes for the same features', () => {
    expect(userTowerWidth(features)).toBe(tower.inputWidth);
  });

  it('equals OnnxUserTower.featurize for any profile and history (property), and the pooled shortcut equals the ids path', () => {
    const row = fc.record(
      {
        region: fc.constantFrom('r0', 'r1', 'r2', 'r9'),
        device: fc.constantFrom('d0', 'd1'),
        language: fc.constantFrom('l0', 'l1', 'l7'),
        age_band: fc.constantFrom('a0', 'a2'),
        recent_items: fc.array(fc.constantFrom(...ids, 'unknown'), { maxLength: 8 }),
        history_len: fc.integer({ min: 0, max: 30 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(row, (r) => {
        const want = tower.featurize(r as FeatureRow);
        fc.pre(want !== undefined);
        const got = new Float32Array(tower.inputWidth);
        userTowerInput(features, r as FeatureRow, got, 0);
        expect(Array.from(got)).toEqual(Array.from(want as Float32Array).map((x) => Math.fround(x)));
        // Training rows carry the pooled value instead of the ids: same input.
        const recent = (r.recent_items ?? []).slice(0, dims.historyLength).filter((id) => id !== 'unknown');
        const pooled = new Float32Array(4);
        for (const id of recent)
          for (let d = 0; d < 4; d++) pooled[d] = (pooled[d] as number) + (table.vectors[Number(id.slice(1)) * 4 + d] as number);
        if (recent.length > 0) for (let d = 0; d < 4; d++) pooled[d] = (pooled[d] as number) / recent.length;
        const viaPool = new Float32Array(tower.inputWidth);
        userTowerInput(features, { ...(r as FeatureRow), recent_items__pooled: pooled }, viaPool, 0);
        for (let k = 0; k < viaPool.length; k++) expect(viaPool[k]).toBeCloseTo(got[k] as number, 5);
      }),
      { numRuns: 200 },
    );
  });
});
