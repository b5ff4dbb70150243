/**
 * Makes the `-rel` variant of a cached hnswlib graph: the input-order graph with its nodes
 * renumbered into `localityOrder` (hnswlibRenumber.ts). Same graph, same results; only the memory
 * layout differs, so `ann.ts --configs hnswlib-f32-m32-a200,hnswlib-f32-m32-a200-rel` measures the
 * layout effect alone.
 *
 *   nice -n 10 npx tsx bench/annRenumber.ts --items 1000000 --config hnswlib-f32-m32-a200
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags } from '../../../bench/kit.js';
import { HnswlibIndex } from '../src/HnswlibIndex.js';
import { IdMap } from '../src/internal/IdMap.js';
import type { Manifest } from '../src/internal/persist.js';
import { localityOrder } from '../src/localityOrder.js';
import { cacheDir, cachedIndex, configName, parseConfig } from './annCache.js';
import { clusteredItems } from './data.js';
import { renumberHnswlibFile } from './hnswlibRenumber.js';

const flags = parseFlags();
const items = Number(flags.items ?? 200_000);
const dims = Number(flags.dims ?? 64);
const seed = Number(flags.seed ?? 42);
const cfg = parseConfig(flags.config ?? 'hnswlib-f32-m32-a200');
if (cfg.backend !== 'hnswlib' || cfg.order !== 'input') throw new Error('--config: an input-order hnswlib config');
const root = cacheDir(items, dims, seed);
const src = cachedIndex(cfg, root);
if (src === undefined) throw new Error(`${configName(cfg)} is not cached under ${root}: build it first (annBuild.ts)`);
const data = clusteredItems(items, dims, { seed });
const t0 = performance.now();
// Labels are input rows here (the bench inserts item-0, item-1, … in order), so a row order is a label order.
const order = localityOrder(data.vectors, dims, 'cos', { scaffold: 0 });
const t1 = performance.now();
const out = renumberHnswlibFile(readFileSync(join(src.dir, 'index.bin')), order);
const t2 = performance.now();
const tmp = join(tmpdir(), `recspine-renumber-${process.pid}.bin`);
writeFileSync(tmp, out);
try {
  const manifest = JSON.parse(readFileSync(join(src.dir, 'manifest.json'), 'utf8')) as Manifest;
  const index = HnswlibIndex.restore(manifest, tmp, { ids: [], dead: [] });
  const ids = new IdMap();
  for (const id of data.ids) ids.labelFor(id);
  index.adoptIdMap(ids);
  const name = `${configName(cfg)}-rel`;
  await index.save(join(root, name));
  writeFileSync(
    join(root, `${name}.build.json`),
    JSON.stringify(
      {
        ...src.build,
        buildOrder: 'relabel',
        orderSeconds: (t1 - t0) / 1000,
        renumberSeconds: (t2 - t1) / 1000,
        builtAt: new Date().toISOString(),
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`${name}: order ${((t1 - t0) / 1000).toFixed(1)} s, renumber ${((t2 - t1) / 1000).toFixed(1)} s`);
} finally {
  rmSync(tmp, { force: true });
}
