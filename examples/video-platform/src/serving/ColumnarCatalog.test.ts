import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InMemoryItemStats } from '@recspine/rerank';
import { readColumn } from '../world/internal/binio.js';
import { WorldData } from '../world/WorldData.js';
import { ColumnarCatalog, ColumnarItemStats, itemRow } from './ColumnarCatalog.js';
import { resolveArtifacts } from './internal/artifacts.js';
import { padCatalog } from './padCatalog.js';

const DATA = join(import.meta.dirname, '..', '..', '.data');

describe('itemRow', () => {
  it('parses canonical v<row> ids below n and refuses everything else', () => {
    expect(itemRow('v0', 10)).toBe(0);
    expect(itemRow('v9', 10)).toBe(9);
    expect(itemRow('v999999', 1_000_000)).toBe(999_999);
    for (const bad of ['v10', 'v', '', 'x1', 'v01', 'v-1', 'v1a', 'V1', 'v 1', 'v1.0', 'v99999999999']) expect(itemRow(bad, 10)).toBe(-1);
  });
});

describe('ColumnarCatalog (tiny world, padded ×3)', () => {
  const art = resolveArtifacts({ dataDir: DATA, preset: 'tiny' });
  const real = WorldData.load(art.worldDir);
  const E = art.models.itemEmbeddings.shape[1] as number;
  const emb = readColumn(art.modelsDir, { ...art.models.itemEmbeddings, dtype: 'f32' });
  const { data, itemEmb } = padCatalog(real, emb, real.nItems * 3);
  const cat = new ColumnarCatalog(data, itemEmb, E);

  it('builds the same ItemMeta as WorldData.catalogMetaAtSplit for every real and synthetic item', () => {
    for (let i = 0; i < data.nItems; i++) {
      expect(cat.get(`v${i}`)).toEqual(data.catalogMetaAtSplit(i, itemEmb.subarray(i * E, (i + 1) * E)));
    }
    expect(cat.get(`v${data.nItems}`)).toBeUndefined();
    expect(cat.get('gd-v1')).toBeUndefined();
    for (let i = 0; i < data.nItems; i += 7) expect(cat.creatorOf(`v${i}`)).toBe(cat.get(`v${i}`)?.creatorId);
    expect(cat.creatorOf(`v${data.nItems}`)).toBeUndefined();
  });
});

describe('ColumnarItemStats', () => {
  it('answers like InMemoryItemStats seeded with the same counts, live records included', () => {
    const imps = Float32Array.of(10, 0, 5);
    const clicks = Float32Array.of(2, 0, 1);
    const col = new ColumnarItemStats(imps, clicks, 3);
    const ref = new InMemoryItemStats(
      [0, 1, 2].map((i) => [`v${i}`, { impressions: imps[i] as number, clicks: clicks[i] as number }] as const),
    );
    for (const [id, i, c] of [
      ['v0', 3, 1],
      ['v2', 1, 0],
      ['live-1', 4, 2],
      ['live-1', 1, 0],
    ] as const) {
      col.record(id, i, c);
      ref.record(id, i, c);
    }
    for (const id of ['v0', 'v1', 'v2', 'live-1', 'v3', 'nope']) expect(col.get(id)).toEqual(ref.get(id));
  });
});
