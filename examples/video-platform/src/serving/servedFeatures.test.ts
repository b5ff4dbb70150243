import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxModel } from '@recspine/rank';
import { ImpressionLogger } from '../server/ImpressionLogger.js';
import { readServedLog } from '../train/servedLog.js';
import { WorldData } from '../world/WorldData.js';
import { resolveArtifacts } from './internal/artifacts.js';
import { buildVideoRecommender, type VideoRecommender } from './buildVideoRecommender.js';
import { padCatalog } from './padCatalog.js';
import { ServedFeatureTap } from './ServedFeatureTap.js';

const DATA = join(import.meta.dirname, '..', '..', '.data');
const GENEROUS = { retrieval: 5_000, coarse: 5_000, features: 5_000, fine: 5_000, rerank: 5_000 };

describe('served features in the impression log (tiny world, real ONNX models)', () => {
  let vr: VideoRecommender;
  const tap = new ServedFeatureTap(true);
  const dir = mkdtempSync(join(tmpdir(), 'vp-served-'));
  beforeAll(async () => {
    vr = await buildVideoRecommender({
      preset: 'tiny',
      mode: 'embedded',
      dataDir: DATA,
      servedFeatures: tap,
      slaMs: 30_000,
      budgets: GENEROUS,
      seed: 3,
    });
  });
  afterAll(async () => {
    await vr.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs, per served item, the exact rows the fine model read: re-running the model on them gives the served head scores', async () => {
    const path = join(dir, 'impressions.jsonl');
    const log = new ImpressionLogger(path);
    const served: { requestId: string; items: { itemId: string; heads?: Readonly<Record<string, number>> }[] }[] = [];
    for (const [n, u] of vr.sampleUsers.slice(0, 6).entries()) {
      const res = await vr.recommender.recommend({ slot: 'homepage', userId: u.userId, limit: 8, requestId: `t-${n}`, context: u.context });
      expect(res.orderedBy).toBe('fine');
      const features = tap.take(
        res.requestId,
        res.items.map((i) => i.itemId),
      );
      expect(features).toBeDefined();
      log.log({
        ts: Date.now(),
        requestId: res.requestId,
        userId: u.userId,
        slot: res.slot,
        arm: undefined,
        orderedBy: res.orderedBy,
        degraded: [],
        items: res.items.map((i) => ({
          itemId: i.itemId,
          position: i.position,
          score: i.score,
          propensity: i.explore?.propensity ?? 1,
          explored: i.explore !== undefined,
        })),
        ...(features === undefined ? {} : { features }),
      });
      served.push({
        requestId: res.requestId,
        items: res.items.map((i) => ({ itemId: i.itemId, ...(i.heads ? { heads: i.heads } : {}) })),
      });
    }
    await log.close();
    expect(tap.size).toBe(0);

    const { byModel, withoutFeatures } = readServedLog(path);
    expect(withoutFeatures).toBe(0);
    const m = [...byModel.values()].find((x) => x.model === 'fine');
    expect(m).toBeDefined();
    const matrix = m as NonNullable<typeof m>;
    expect(matrix.rows.length).toBe(served.reduce((s, r) => s + r.items.length, 0));
    expect(matrix.columns.length).toBe(matrix.width);

    // An independent session of the fine model over the logged rows reproduces the served heads.
    const art = resolveArtifacts({ dataDir: DATA, preset: 'tiny' });
    const entry = art.models.models.fine;
    const model = await OnnxModel.load(join(art.modelsDir, entry.onnx), {
      inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', matrix.width] }],
      outputs: entry.outputs.map((name) => ({ name, dtype: 'float32' as const, shape: 'perRow' as const })),
      maxBatch: 4096,
    });
    try {
      const out = await model.run({ features: matrix.X }, matrix.rows.length);
      let compared = 0;
      for (const r of matrix.rows) {
        const heads = served.find((s) => s.requestId === r.requestId)?.items.find((i) => i.itemId === r.itemId)?.heads;
        expect(heads).toBeDefined();
        for (const [h, v] of Object.entries(heads ?? {})) {
          const o = out[h];
          if (o === undefined) continue;
          expect(o.data[r.row] as number).toBeCloseTo(v, 5);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(matrix.rows.length); // several heads per row
    } finally {
      await model.release();
    }
  });

  it('captures nothing while disabled, and bounds the requests pending a take', async () => {
    const off = new ServedFeatureTap(false, 2);
    const u = vr.sampleUsers[0] as VideoRecommender['sampleUsers'][number];
    tap.enabled = false;
    await vr.recommender.recommend({ slot: 'homepage', userId: u.userId, limit: 5, requestId: 'off-1', context: u.context });
    expect(tap.take('off-1', ['v1'])).toBeUndefined();
    tap.enabled = true;
    for (let i = 0; i < 4; i++)
      await vr.recommender.recommend({ slot: 'homepage', userId: u.userId, limit: 5, requestId: `p-${i}`, context: u.context });
    expect(tap.size).toBe(4);
    expect(tap.take('p-0', ['nope'])?.rows.every((x) => Number.isNaN(x))).toBe(true);
    expect(tap.size).toBe(3);
    expect(off.size).toBe(0);
  });

  it('rejects a log whose features come before their column names', () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(
      path,
      JSON.stringify({
        ts: 1,
        requestId: 'r',
        userId: 'u',
        slot: 'homepage',
        arm: 'control',
        orderedBy: 'fine',
        degraded: [],
        items: [{ itemId: 'v1', position: 0, score: 1, propensity: 1, explored: false }],
        features: { model: 'fine', version: 'x', width: 1, f32: Buffer.from(new Float32Array([1]).buffer).toString('base64') },
      }) + '\n',
    );
    expect(() => readServedLog(path)).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_VP_ARTIFACT' }));
    expect(readFileSync(path, 'utf8')).toContain('"fine"');
  });
});

describe('padCatalog', () => {
  const art = resolveArtifacts({ dataDir: DATA, preset: 'tiny' });
  const data = WorldData.load(art.worldDir);
  const n = data.nItems;
  const E = 4;
  const emb = new Float32Array(n * E);
  for (let i = 0; i < n; i++) {
    const v = [Math.cos(i), Math.sin(i), 0.5, -0.5];
    const norm = Math.hypot(...v);
    v.forEach((x, d) => (emb[i * E + d] = x / norm));
  }

  it('keeps the real items and draws synthetic ones around real ones, deterministically', () => {
    const p = padCatalog(data, emb, n * 3);
    expect(p.data.nItems).toBe(n * 3);
    expect(p.data.manifest.key).toBe(`${data.manifest.key}+pad${n * 3}`);
    expect(Array.from(p.itemEmb.subarray(0, n * E))).toEqual(Array.from(emb));
    expect(Array.from(p.data.itemContent.subarray(0, n * data.dim))).toEqual(Array.from(data.itemContent));
    for (let i = n; i < n * 3; i += 37) {
      const j = p.sourceOf[i - n] as number;
      expect(p.data.itemCategory[i]).toBe(data.itemCategory[j]);
      expect(p.data.itemCreator[i]).toBe(data.itemCreator[j]);
      expect(p.data.splitClicks[i]).toBe(data.splitClicks[j]);
      const norm = Math.hypot(...p.itemEmb.subarray(i * E, (i + 1) * E));
      expect(norm).toBeCloseTo(1, 5);
      expect(Array.from(p.itemEmb.subarray(i * E, (i + 1) * E))).not.toEqual(Array.from(emb.subarray(j * E, (j + 1) * E)));
      // WorldData's methods read the padded columns
      expect(p.data.catalogMetaAtSplit(i).category).toBe(data.catalogMetaAtSplit(j).category);
    }
    expect(Array.from(padCatalog(data, emb, n * 3).itemEmb)).toEqual(Array.from(p.itemEmb));
    expect(data.nItems).toBe(n); // the real world is untouched
  });

  it('refuses a target below the real catalog', () => {
    expect(() => padCatalog(data, emb, n - 1)).toThrow(expect.objectContaining({ code: 'RECSPINE_ERR_VP_WORLD_CONFIG', field: 'items' }));
  });

  it('serves a padded catalog end to end (index, catalog, sources)', async () => {
    const vr = await buildVideoRecommender({
      preset: 'tiny',
      mode: 'embedded',
      dataDir: DATA,
      items: n * 4,
      slaMs: 30_000,
      budgets: GENEROUS,
    });
    try {
      expect(vr.world.nItems).toBe(n * 4);
      expect(vr.catalog.get(`v${n * 4 - 1}`)).toBeDefined();
      expect(vr.indexManager.current().size).toBe(n * 4);
      const u = vr.sampleUsers[0] as VideoRecommender['sampleUsers'][number];
      const ids = new Set<string>();
      for (let k = 0; k < 5; k++) {
        const res = await vr.recommender.recommend({
          slot: 'homepage',
          userId: vr.sampleUsers[k]?.userId ?? u.userId,
          limit: 20,
          context: u.context,
        });
        for (const i of res.items) ids.add(i.itemId);
      }
      expect([...ids].some((id) => Number(id.slice(1)) >= n)).toBe(true);
    } finally {
      await vr.close();
    }
  });
});
