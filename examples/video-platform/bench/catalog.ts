/**
 * Catalog hydration at 1M items: what core's merge pays per candidate (`ItemCatalog.get`) plus the
 * coarse ranker's dot of the user vector with each candidate's embedding, on cold rows (a 64 MB
 * buffer is walked between rounds, as the rest of a request evicts the catalog's rows).
 *
 *   npx tsx bench/catalog.ts [--items 1000000] [--candidates 1400] [--rounds 200]
 *
 * Baseline, same run: the previous `ColumnarCatalog` lookup, kept here — the same meta object built
 * from the world's per-field columns (one typed array per field, the attributes in a 4-double
 * column) and a view of the 128 MB embedding matrix. Candidate: `ColumnarCatalog` (one record per
 * item, embedding included). Writes bench-results/catalog.json.
 */
import { join } from 'node:path';
import type { ItemMeta } from '@recspine/core';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { ColumnarCatalog, itemRow } from '../src/serving/ColumnarCatalog.js';
import { resolveArtifacts } from '../src/serving/internal/artifacts.js';
import { padCatalog } from '../src/serving/padCatalog.js';
import { readColumn } from '../src/world/internal/binio.js';
import { WorldData } from '../src/world/WorldData.js';

const flags = parseFlags();
const items = Number(flags.items ?? 1_000_000);
const nCands = Number(flags.candidates ?? 1400);
const rounds = Number(flags.rounds ?? 200);

const art = resolveArtifacts({
  dataDir: join(import.meta.dirname, '..', '.data'),
  preset: (flags.preset ?? 'demo') as 'tiny' | 'demo' | 'large',
});
const real = WorldData.load(art.worldDir);
const E = art.models.itemEmbeddings.shape[1] as number;
const emb = readColumn(art.modelsDir, { ...art.models.itemEmbeddings, dtype: 'f32' });
const { data, itemEmb } = padCatalog(real, emb, items);
const record = new ColumnarCatalog(data, itemEmb, E);
const attrs = new Float64Array(items * 4);
for (let i = 0; i < items; i++) {
  const m = record.meta(i).attributes as Record<string, number>;
  attrs.set([m.catalog_log1p_impressions, m.catalog_smoothed_ctr, m.catalog_smoothed_watch, m.log1p_creator_followers] as number[], i * 4);
}
const creatorIds = Array.from({ length: data.creatorFollowers.length }, (_, c) => `c${c}`);
const blocked = data.regionNames.map((r) => [r]);
const epochMs = data.ms(0);
const columns = {
  get: (id: string): ItemMeta | undefined => {
    const i = itemRow(id, items);
    if (i < 0) return undefined;
    const br = data.itemBlockedRegion[i] as number;
    const a = i * 4;
    const creatorId = creatorIds[data.itemCreator[i] as number] as string;
    const category = data.categoryNames[data.itemCategory[i] as number] as string;
    const language = data.languageNames[data.itemLanguage[i] as number] as string;
    const publishedAtMs = epochMs + (data.itemPublishedS[i] as number) * 1000;
    const embedding = itemEmb.subarray(i * E, (i + 1) * E);
    const kidsRestricted = data.itemKids[i] === 1;
    const misinformation = data.itemMisinfo[i] === 1;
    const attributes = {
      catalog_log1p_impressions: attrs[a] as number,
      catalog_smoothed_ctr: attrs[a + 1] as number,
      catalog_smoothed_watch: attrs[a + 2] as number,
      log1p_creator_followers: attrs[a + 3] as number,
    };
    return br === 255
      ? { creatorId, category, language, publishedAtMs, embedding, kidsRestricted, misinformation, attributes }
      : {
          creatorId,
          category,
          language,
          publishedAtMs,
          embedding,
          kidsRestricted,
          misinformation,
          blockedRegions: blocked[br],
          attributes,
        };
  },
};
const user = Float32Array.from({ length: E }, (_, k) => Math.sin(k));
const junk = new Float64Array(8_000_000);
let sink = 0;
const rec = { columns: new LatencyRecorder(), record: new LatencyRecorder() };
for (let round = 0; round < rounds + 10; round++) {
  const ids = Array.from({ length: nCands }, () => `v${Math.floor(Math.random() * items)}`);
  // alternate which layout goes first, so neither always runs right after the cache flush
  for (const name of round % 2 ? (['columns', 'record'] as const) : (['record', 'columns'] as const)) {
    const cat = name === 'record' ? record : columns;
    for (let i = 0; i < junk.length; i += 8) sink += junk[i] as number;
    const t = performance.now();
    for (const id of ids) {
      const m = cat.get(id);
      const e = m?.embedding;
      if (e === undefined) continue;
      let d = 0;
      for (let k = 0; k < e.length; k++) d += (user[k] as number) * (e[k] as number);
      sink += d + (m?.publishedAtMs ?? 0);
    }
    if (round >= 10) rec[name].recordMs(performance.now() - t);
  }
}
const c = rec.columns.summaryMs();
const r = rec.record.summaryMs();
printTable(`catalog hydration + coarse dot, ${nCands} cold candidates of ${items} items (ms per request)`, [
  { layout: 'per-field columns (baseline)', p50: c.p50, p99: c.p99, p999: c.p999 },
  { layout: 'one record per item', p50: r.p50, p99: r.p99, p999: r.p999 },
  {
    layout: 'ratio (baseline / record)',
    p50: +(c.p50 / r.p50).toFixed(2),
    p99: +(c.p99 / r.p99).toFixed(2),
    p999: +(c.p999 / r.p999).toFixed(2),
  },
]);
writeResult(
  'catalog',
  { items, candidates: nCands, rounds, dims: E },
  { columnsMs: c, recordMs: r, p50Ratio: c.p50 / r.p50, p99Ratio: c.p99 / r.p99, checksum: sink !== 0 },
);
