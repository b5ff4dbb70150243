/**
 * Builds (or finds) the cached benchmark indexes without searching them, so the long 1M builds can
 * run early and `bench/ann.ts` only sweeps searches afterwards:
 *
 *   nice -n 10 npx tsx --expose-gc bench/annBuild.ts --items 1000000 --configs usearch-i8-m32-a200,usearch-f32-m32-a200
 *
 * Cache layout and keys: see annCache.ts. `--rebuild` ignores an existing entry.
 */
import { parseFlags } from '../../../bench/kit.js';
import { cacheDir, ensureIndex, parseConfig } from './annCache.js';
import { clusteredItems } from './data.js';

const flags = parseFlags();
const items = Number(flags.items ?? 200_000);
const dims = Number(flags.dims ?? 64);
const seed = Number(flags.seed ?? 42);
const configs = (flags.configs ?? 'usearch-f32-m32-a200').split(',').map(parseConfig);
const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

log(`generating ${items} × ${dims} clustered embeddings (seed ${seed})`);
const data = clusteredItems(items, dims, { seed });
const root = cacheDir(items, dims, seed);
for (const cfg of configs) {
  const r = await ensureIndex(cfg, data, root, { rebuild: flags.rebuild === 'true', log });
  log(
    `${r.dir}: ${r.cached ? 'cached' : 'built'} (${r.build.buildSeconds.toFixed(0)} s, ${(r.build.indexBytes / items).toFixed(0)} B/item)`,
  );
}
