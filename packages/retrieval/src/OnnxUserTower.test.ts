import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCode } from '../test/helpers.js';
import { matMulModel } from '../test/onnxModel.js';
import { OnnxUserTower, type UserTowerFeature } from './OnnxUserTower.js';

const tmp = mkdtempSync(join(tmpdir(), 'recspine-tower-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// item table: 3 items in 2-d
const table = { ids: ['a', 'b', 'c'], vectors: new Float32Array([1, 0, 0, 1, 1, 1]), dims: 2 };
const features: UserTowerFeature[] = [
  { name: 'recent_watches', kind: 'ids', table, decay: 0.5 },
  { name: 'age', kind: 'number', shift: 30, scale: 10 },
  { name: 'topics', kind: 'hashed', buckets: 4 },
  { name: 'country', kind: 'category', vocabulary: ['US', 'FR'] },
  { name: 'pref', kind: 'vector', dims: 2 },
];
const WIDTH = 2 + 1 + 4 + 3 + 2;
// identity-ish weights: output = first 4 input slots
const W = new Float32Array(WIDTH * 4);
for (let i = 0; i < 4; i++) W[i * 4 + i] = 1;

describe('OnnxUserTower', () => {
  describe('create', () => {
    it('loads a model from bytes or a file and checks the declared input width', async () => {
      const bytes = matMulModel(WIDTH, 4, W);
      const a = await OnnxUserTower.create({ model: bytes, features });
      expect(a.inputWidth).toBe(WIDTH);
      const file = join(tmp, 'tower.onnx');
      writeFileSync(file, bytes);
      const b = await OnnxUserTower.create({ model: file, features });
      expect(await b.encode({ age: 40 })).toEqual(await a.encode({ age: 40 }));
      await expectCode(
        () => OnnxUserTower.create({ model: matMulModel(WIDTH + 1, 4, new Float32Array((WIDTH + 1) * 4)), features }),
        'RECSPINE_ERR_RETRIEVAL_CONFIG',
      );
    });

    it('rejects a corrupt model with RECSPINE_ERR_USER_TOWER and bad feature specs with RECSPINE_ERR_RETRIEVAL_CONFIG', async () => {
      await expectCode(() => OnnxUserTower.create({ model: new Uint8Array([1, 2, 3, 4]), features }), 'RECSPINE_ERR_USER_TOWER');
      await expectCode(
        () => OnnxUserTower.create({ model: matMulModel(2, 2, new Float32Array(4)), features: [] }),
        'RECSPINE_ERR_RETRIEVAL_CONFIG',
      );
      await expectCode(
        () =>
          OnnxUserTower.create({ model: matMulModel(2, 2, new Float32Array(4)), features: [{ name: 'x', kind: 'hashed', buckets: 0 }] }),
        'RECSPINE_ERR_RETRIEVAL_CONFIG',
      );
      await expectCode(
        () =>
          OnnxUserTower.create({
            model: matMulModel(2, 2, new Float32Array(4)),
            features: [{ name: 'x', kind: 'vector', dims: 2 }],
            input: 'nope',
          }),
        'RECSPINE_ERR_RETRIEVAL_CONFIG',
      );
    });
  });

  describe('featurize', () => {
    it('maps numbers, id lists (recency-weighted lookup), hashed bags, categories and vectors into the input', async () => {
      const t = await OnnxUserTower.create({ model: matMulModel(WIDTH, 4, W), features });
      const x = t.featurize({
        recent_watches: ['b', 'a', 'unknown'],
        age: 50,
        topics: ['music'],
        country: 'DE',
        pref: new Float32Array([0.5, -0.5]),
      });
      expect(x).toBeDefined();
      const v = Array.from(x as Float32Array);
      // b weighs 1, a weighs 0.5: (0.5·[1,0] + 1·[0,1]) / 1.5
      expect(v[0]).toBeCloseTo(1 / 3, 5);
      expect(v[1]).toBeCloseTo(2 / 3, 5);
      expect(v[2]).toBeCloseTo(2, 5); // (50-30)/10
      expect(v.slice(3, 7).reduce((s, z) => s + z, 0)).toBeCloseTo(1, 5); // one hashed bucket
      expect(v.slice(7, 10)).toEqual([0, 0, 1]); // DE is out of vocabulary
      expect(v.slice(10, 12)).toEqual([0.5, -0.5]);
    });

    it('returns undefined for a row with none of the features (a cold user)', async () => {
      const t = await OnnxUserTower.create({ model: matMulModel(WIDTH, 4, W), features });
      expect(t.featurize({ unrelated: 3 })).toBeUndefined();
      expect(await t.encode({})).toBeUndefined();
    });
  });

  describe('encode', () => {
    it('runs the model; a watch seconds ago changes the next embedding', async () => {
      const t = await OnnxUserTower.create({ model: matMulModel(WIDTH, 4, W), features, normalize: true });
      const before = await t.encode({ recent_watches: ['a'] });
      const after = await t.encode({ recent_watches: ['b', 'a'] });
      expect(before).toBeInstanceOf(Float32Array);
      expect(before).toHaveLength(4);
      expect(Math.hypot(...(before as Float32Array))).toBeCloseTo(1, 5);
      expect(Array.from(after as Float32Array)).not.toEqual(Array.from(before as Float32Array));
      await t.close();
    });

    it('rejects a model whose output is not finite with RECSPINE_ERR_USER_TOWER', async () => {
      const w = new Float32Array(2 * 2).fill(Number.POSITIVE_INFINITY);
      const t = await OnnxUserTower.create({ model: matMulModel(2, 2, w), features: [{ name: 'v', kind: 'vector', dims: 2 }] });
      await expectCode(() => t.encode({ v: new Float32Array([1, 1]) }), 'RECSPINE_ERR_USER_TOWER');
    });
  });
});
