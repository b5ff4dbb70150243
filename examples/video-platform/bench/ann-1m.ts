/**
 * The serving index at the padded catalog size, offline: search time and recall of every cached
 * HNSW index of the demo models over the catalog padded to `--items` (the server's
 * `.data/ann-cache/<models>-<world>+pad<N>-<backend>/`, built by its first start with
 * `--ann usearch|hnswlib|ivf`), at the serving shapes: related (k 301, the just-watched item's
 * embedding as the query) and two-tower backfill (k 500; the query is a real item's embedding plus
 * noise, re-normalised — a proxy for a user vector, which sits between item clusters).
 *
 *   npx tsx bench/ann-1m.ts --items 1000000 [--queries 400] [--efs 256] [--noise 0.3] [--probes N (IVF)]
 *
 * Backends are searched query by query in turns, so they see the same load. Recall is against
 * exact inner-product search over the same vectors (`ExactIndex`), at k and at 100 (the swap
 * validation's k). Writes bench-results/<--name, default vp-ann-1m>.json.
 */
import { existsSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type AnnIndex, ExactIndex, loadAnnIndex } from '@recspine/retrieval';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { mulberry32 } from '../src/mulberry32.js';
import { padCatalog } from '../src/serving/padCatalog.js';
import { resolveArtifacts } from '../src/serving/internal/artifacts.js';
import { readColumn } from '../src/world/internal/binio.js';
import { WorldData } from '../src/world/WorldData.js';

const flags = parseFlags();
const items = Number(flags.items ?? 1_000_000);
const nQueries = Number(flags.queries ?? 400);
const efs = (flags.efs ?? '256').split(',').map(Number);
const noise = Number(flags.noise ?? 0.3);
const dataDir = join(import.meta.dirname, '..', '.data');

const art = resolveArtifacts({ dataDir, preset: 'demo' });
const real = WorldData.load(art.worldDir);
const emb = readColumn(art.modelsDir, { ...art.models.itemEmbeddings, dtype: 'f32' });
const padded = padCatalog(real, emb, items);
const E = art.models.itemEmbeddings.shape[1] as number;
const N = padded.data.nItems;
const prefix = `${art.models.version}-${padded.data.manifest.key}-`;
const cacheRoot = join(dataDir, 'ann-cache');
const dirs = existsSync(cacheRoot) ? readdirSync(cacheRoot).filter((d) => d.startsWith(prefix)) : [];
if (dirs.length === 0) throw new Error(`no cached index under ${cacheRoot}/${prefix}*: start the server once with --items ${items}`);

const ids = Array.from({ length: N }, (_, i) => `v${i}`);
const exact = new ExactIndex({ dims: E, metric: 'ip', maxK: 2000 });
exact.upsertBatch(ids, padded.itemEmb);

const rand = mulberry32(7);
const related: Float32Array[] = [];
const user: Float32Array[] = [];
for (let q = 0; q < nQueries; q++) {
  const i = Math.floor(rand() * N);
  related.push(padded.itemEmb.slice(i * E, (i + 1) * E));
  const j = Math.floor(rand() * N);
  const v = padded.itemEmb.slice(j * E, (j + 1) * E);
  let n0 = 0;
  let n1 = 0;
  for (let d = 0; d < E; d++) n0 += (v[d] as number) ** 2;
  for (let d = 0; d < E; d++) {
    const u1 = Math.max(rand(), 1e-12);
    v[d] = (v[d] as number) + noise * Math.sqrt(n0 / E) * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rand());
    n1 += (v[d] as number) ** 2;
  }
  for (let d = 0; d < E; d++) v[d] = ((v[d] as number) * Math.sqrt(n0)) / Math.sqrt(n1);
  user.push(v);
}
const shapes = [
  { shape: 'related', k: 301, queries: related },
  { shape: 'two-tower', k: 500, queries: user },
];
const truth = shapes.map((s) => s.queries.map((q) => exact.search(q, s.k).map((h) => h.itemId)));

const recall = (got: readonly string[], want: readonly string[], k: number): number => {
  const w = new Set(want.slice(0, k));
  let hit = 0;
  for (const id of got.slice(0, k)) if (w.has(id)) hit++;
  return hit / Math.min(k, want.length);
};

const rows: Record<string, string | number>[] = [];
for (const ef of efs) {
  const indexes: { name: string; index: AnnIndex }[] = [];
  for (const d of dirs) {
    // HNSW: `ef` is the beam. IVF: its saved probes (the name says which: -p<probes>), or --probes.
    const ivf = d.slice(prefix.length).startsWith('ivf');
    const probes = flags.probes === undefined ? {} : { probes: Number(flags.probes) };
    const name = d.slice(prefix.length) + (ivf && flags.probes !== undefined ? `@p${flags.probes}` : '');
    indexes.push({ name, index: await loadAnnIndex(join(cacheRoot, d), ivf ? probes : { expansionSearch: ef }) });
  }
  for (const [si, s] of shapes.entries()) {
    const stats = indexes.map(() => ({ lat: new LatencyRecorder(), sumMs: 0, rK: 0, r100: 0 }));
    const load0 = loadavg()[0] ?? 0;
    // warm-up: touch each graph once per shape
    for (const { index } of indexes) for (const q of s.queries.slice(0, 20)) index.search(q, s.k);
    for (const [qi, q] of s.queries.entries()) {
      for (const [ii, { index }] of indexes.entries()) {
        const t0 = performance.now();
        const hits = index.search(q, s.k);
        const dt = performance.now() - t0;
        const st = stats[ii] as (typeof stats)[number];
        st.lat.recordMs(dt);
        st.sumMs += dt;
        const got = hits.map((h) => h.itemId);
        const want = truth[si]?.[qi] as string[];
        st.rK += recall(got, want, s.k);
        st.r100 += recall(got, want, 100);
      }
    }
    const load1 = loadavg()[0] ?? 0;
    for (const [ii, { name }] of indexes.entries()) {
      const st = stats[ii] as (typeof stats)[number];
      rows.push({
        backend: name,
        ef,
        shape: s.shape,
        k: s.k,
        meanMs: Number((st.sumMs / s.queries.length).toFixed(3)),
        p50Ms: st.lat.pMs(50),
        p99Ms: st.lat.pMs(99),
        recallAtK: Number((st.rK / s.queries.length).toFixed(4)),
        recallAt100: Number((st.r100 / s.queries.length).toFixed(4)),
        load1: `${load0.toFixed(1)}–${load1.toFixed(1)}`,
      });
    }
  }
}
printTable(`ANN at ${N} items × ${E} dims (${nQueries} queries per shape)`, rows);
writeResult(flags.name ?? 'vp-ann-1m', { items: N, dims: E, queries: nQueries, efs, noise, backends: dirs }, { rows });
