/**
 * Build-once cache of benchmark indexes. A 1M-item graph takes minutes to build on two cores, and
 * its search beam (ef) and the rescoring oversample are search-time settings, so each graph is
 * built once, saved with `AnnIndex.save` under `<repo>/.cache/recspine-ann/` (git-ignored) and
 * served from there by `loadAnnIndex` on every later run. A cache entry is keyed by everything
 * that shapes the graph (data size, dims, seed, backend, quantisation, M, ef_construction, build
 * order: a `-loc` suffix is the `buildOrder: 'locality'` build, so both orders cache side by side);
 * `build.json` beside it records how long the build took, for the report.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../../../bench/kit.js';
import type { AnnIndex } from '../src/AnnIndex.js';
import { HnswlibIndex } from '../src/HnswlibIndex.js';
import { IvfIndex } from '../src/IvfIndex.js';
import { UsearchIndex } from '../src/UsearchIndex.js';
import type { ClusteredData } from './data.js';

export interface GraphConfig {
  /**
   * `ivf`: IvfIndex (config `ivf-f32-l<lists>`, or `ivf-i8-l<lists>` for `quantization: 'i8'`;
   * `connectivity` holds the list count, no graph).
   */
  readonly backend: 'usearch' | 'hnswlib' | 'ivf';
  readonly quantization: 'f32' | 'f16' | 'i8';
  readonly connectivity: number;
  readonly expansionAdd: number;
  /**
   * `locality`: built with `buildOrder: 'locality'` (config name suffix `-loc`); `relabel` (suffix
   * `-rel`, hnswlib only): the input-order graph with its nodes renumbered by annRenumber.ts.
   */
  readonly order: 'input' | 'locality' | 'relabel';
  /** Locality order only: `localityOrder.scaffold` in percent (suffix `-loc-s<pct>`); 0 = none. */
  readonly scaffoldPct: number;
}

export interface BuildInfo {
  /** Wall time of the inserts. On a shared box it mostly measures the other tenants: see cpuSeconds. */
  readonly buildSeconds: number;
  /** CPU time (user + system, all threads) the inserts took: the load-independent cost. */
  readonly cpuSeconds?: number;
  /** Native threads the build asked for (usearch: all cores; hnswlib-node: one). */
  readonly threads?: number;
  readonly rssDeltaMB: number;
  readonly indexBytes: number;
  readonly builtAt: string;
  readonly loadAverage: string;
  /** The insertion order of the build (absent in caches written before the option existed: input). */
  readonly buildOrder?: 'input' | 'locality' | 'relabel';
  readonly scaffoldPct?: number;
}

/** `usearch-i8-m32-a200` / `hnswlib-f32-m32-a200-loc` ⇄ config. */
export function parseConfig(s: string): GraphConfig {
  const ivf = /^ivf-(f32|i8)-l(\d+)$/.exec(s.trim());
  if (ivf !== null)
    return {
      backend: 'ivf',
      quantization: ivf[1] as 'f32' | 'i8',
      connectivity: Number(ivf[2]),
      expansionAdd: 0,
      order: 'input',
      scaffoldPct: 0,
    };
  const m = /^(usearch|hnswlib)-(f32|f16|i8)-m(\d+)-a(\d+)(-loc(?:-s(\d+))?|-rel)?$/.exec(s.trim());
  if (m === null)
    throw new Error(`bad config ${s}: expected e.g. usearch-i8-m32-a200, hnswlib-f32-m32-a200[-loc[-s<scaffold %>]] or ivf-i8-l1024`);
  const cfg: GraphConfig = {
    backend: m[1] as GraphConfig['backend'],
    quantization: m[2] as GraphConfig['quantization'],
    connectivity: Number(m[3]),
    expansionAdd: Number(m[4]),
    order: m[5] === undefined ? 'input' : m[5] === '-rel' ? 'relabel' : 'locality',
    scaffoldPct: Number(m[6] ?? 0),
  };
  if (cfg.backend === 'hnswlib' && cfg.quantization !== 'f32') throw new Error(`hnswlib is f32 only: ${s}`);
  return cfg;
}

export function configName(c: GraphConfig): string {
  if (c.backend === 'ivf') return `ivf-${c.quantization}-l${c.connectivity}`;
  const order = c.order === 'locality' ? `-loc${c.scaffoldPct > 0 ? `-s${c.scaffoldPct}` : ''}` : c.order === 'relabel' ? '-rel' : '';
  return `${c.backend}-${c.quantization}-m${c.connectivity}-a${c.expansionAdd}${order}`;
}

export function cacheDir(items: number, dims: number, seed: number): string {
  return join(REPO_ROOT, '.cache', 'recspine-ann', `clustered-${items}x${dims}-seed${seed}`);
}

function loadAvg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

/** The cached graph of `cfg` under `root`, or undefined when it was never built. */
export function cachedIndex(cfg: GraphConfig, root: string): { dir: string; build: BuildInfo } | undefined {
  const dir = join(root, configName(cfg));
  const infoPath = join(root, `${configName(cfg)}.build.json`);
  if (!existsSync(join(dir, 'manifest.json')) || !existsSync(infoPath)) return undefined;
  return { dir, build: JSON.parse(readFileSync(infoPath, 'utf8')) as BuildInfo };
}

/**
 * Returns the directory of a saved index for `cfg` over `data`, building and saving it first if
 * the cache has none (or `rebuild`). The build uses all cores (usearch) or one (hnswlib-node).
 */
export async function ensureIndex(
  cfg: GraphConfig,
  data: ClusteredData,
  root: string,
  opts: { rebuild?: boolean; log?: (s: string) => void; chunk?: number } = {},
): Promise<{ dir: string; build: BuildInfo; cached: boolean }> {
  const dir = join(root, configName(cfg));
  const infoPath = join(root, `${configName(cfg)}.build.json`);
  const log = opts.log ?? ((): void => undefined);
  const hit = opts.rebuild === true ? undefined : cachedIndex(cfg, root);
  if (hit !== undefined) return { ...hit, cached: true };
  if (cfg.order === 'relabel') throw new Error(`${configName(cfg)}: made from the input-order graph by bench/annRenumber.ts`);
  const order = cfg.order;
  const n = data.ids.length;
  const dims = data.dims;
  const chunk = opts.chunk ?? 20_000;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const index: AnnIndex =
    cfg.backend === 'ivf'
      ? new IvfIndex({ dims, metric: 'cos', lists: cfg.connectivity, quantization: cfg.quantization === 'i8' ? 'i8' : 'f32' })
      : cfg.backend === 'usearch'
        ? new UsearchIndex({
            dims,
            metric: 'cos',
            quantization: cfg.quantization,
            connectivity: cfg.connectivity,
            expansionAdd: cfg.expansionAdd,
            buildThreads: 0,
            buildOrder: order,
            localityOrder: { scaffold: cfg.scaffoldPct / 100 },
          })
        : new HnswlibIndex({
            dims,
            metric: 'cos',
            connectivity: cfg.connectivity,
            expansionAdd: cfg.expansionAdd,
            initialCapacity: n,
            buildOrder: order,
            localityOrder: { scaffold: cfg.scaffoldPct / 100 },
          });
  const load0 = loadAvg();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // The locality order needs the whole catalogue in one call (the library orders each batch):
  // no progress lines then.
  // IVF trains its lists on the batch that reaches trainAt: one batch, like the locality order.
  const step = cfg.order === 'locality' || cfg.backend === 'ivf' ? n : chunk;
  if (cfg.order === 'locality') log(`${configName(cfg)}: inserting ${n} items in one batch, locality order`);
  for (let off = 0; off < n; off += step) {
    const end = Math.min(n, off + step);
    index.upsertBatch(data.ids.slice(off, end), data.vectors.subarray(off * dims, end * dims));
    if ((off / step) % 5 === 0) log(`${configName(cfg)}: ${end} / ${n} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const buildSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rssDeltaMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
  log(`${configName(cfg)}: built in ${buildSeconds.toFixed(1)} s (${cpuSeconds.toFixed(0)} CPU s); saving to ${dir}`);
  await index.save(dir);
  let indexBytes = 0;
  for (const f of readdirSync(dir)) if (f === 'index.bin') indexBytes = statSync(join(dir, f)).size;
  const build: BuildInfo = {
    buildSeconds,
    cpuSeconds,
    threads: cfg.backend === 'usearch' ? availableParallelism() : 1,
    rssDeltaMB,
    indexBytes,
    builtAt: new Date().toISOString(),
    loadAverage: `${load0} → ${loadAvg()}`,
    buildOrder: cfg.order,
    ...(cfg.scaffoldPct > 0 ? { scaffoldPct: cfg.scaffoldPct } : {}),
  };
  writeFileSync(infoPath, JSON.stringify(build, null, 2) + '\n');
  return { dir, build, cached: false };
}
