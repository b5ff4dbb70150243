/**
 * The whole retrieval portfolio of a homepage request, all sources in parallel under the core
 * runner, each under its sub-budget: two-tower (ONNX user tower + usearch index behind an
 * IndexManager), popularity (Redis when reachable, else in-memory), fresh content, cold start.
 *
 *   npx tsx bench/portfolio.ts --items 1000000 --requests 2000 [--redis true|false]
 *     [--config usearch-i8-m32-a200 --ef 1000 --oversample 2 | --config ivf-f32-l1024 --ef 10 | --config ivf-i8-l1024 --ef 10]
 *     [--build] [--name retrieval-portfolio]
 * (`--ef` is the beam of a usearch graph and the probes of an IVF index.)
 *
 * The two-tower index is the graph `--config` from the ANN bench's cache (annCache.ts). A missing
 * graph is an error unless `--build` is given (a 1M build takes tens of minutes: run
 * `bench/annBuild.ts` first, so this bench only measures serving). It is loaded through `IndexManager.loadAndOffer` (so it is shadow-validated like a
 * nightly version) with the beam `--ef` and, for f16/i8, exact rescoring (`--oversample`, 1 = off).
 *
 * Latency is the runner's retrieval-stage time (all sources in parallel) and each source's own
 * time, per request, sequential requests. Writes bench-results/retrieval-portfolio.json.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { FeatureRow } from '@recspine/core';
import { createRecommender, TeeMetricsSink } from '@recspine/core';
import { Redis } from 'ioredis';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { ColdStartSource } from '../src/ColdStartSource.js';
import { FreshContentSource } from '../src/FreshContentSource.js';
import { IndexManager } from '../src/IndexManager.js';
import { InMemoryPopularityCounters } from '../src/InMemoryPopularityCounters.js';
import { OnnxUserTower } from '../src/OnnxUserTower.js';
import type { PopularityCounters } from '../src/PopularityCounters.js';
import { PopularitySource } from '../src/PopularitySource.js';
import { PortfolioLedger } from '../src/PortfolioLedger.js';
import { formatPortfolioReport, portfolioReport } from '../src/portfolioReport.js';
import { RedisPopularityCounters } from '../src/RedisPopularityCounters.js';
import { TwoTowerSource } from '../src/TwoTowerSource.js';
import { IvfIndex } from '../src/IvfIndex.js';
import { UsearchIndex } from '../src/UsearchIndex.js';
import { matMulModel } from '../test/onnxModel.js';
import { cacheDir, cachedIndex, configName, ensureIndex, parseConfig } from './annCache.js';
import { clusteredItems, rng } from './data.js';

const flags = parseFlags();
const items = Number(flags.items ?? 200_000);
const dims = Number(flags.dims ?? 64);
const requests = Number(flags.requests ?? 2000);
const users = 5000;
const useRedis = flags.redis !== 'false';
const cfg = parseConfig(flags.config ?? 'usearch-i8-m32-a200');
if (cfg.backend === 'hnswlib') throw new Error('the portfolio bench serves a usearch graph or an IVF index (--config usearch-… | ivf-…)');
const ivf = cfg.backend === 'ivf';
// usearch: the beam; IVF: the probes (lists scanned)
const ef = Number(flags.ef ?? (ivf ? 10 : 1000));
const oversample = ivf ? 1 : Number(flags.oversample ?? (cfg.quantization === 'f32' ? 1 : 2));
const K = { twoTower: 1000, popular: 300, fresh: 200, cold: 200 };
const BUDGET = { twoTower: 12, popular: 8, fresh: 8, cold: 8 };

const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const loadAvg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const data = clusteredItems(items, dims, { seed: 42 });
const r = rng(3);
const NOW = Date.now();
const byId = new Map(data.ids.map((id, i) => [id, i]));
const embeddingOf = (id: string): Float32Array | undefined => {
  const i = byId.get(id);
  return i === undefined ? undefined : data.vectors.subarray(i * dims, (i + 1) * dims);
};

// two-tower: the cached graph behind the manager (shadow-validated on load), user tower =
// recency-weighted mean of watched items' vectors → identity MatMul
const root = cacheDir(items, dims, 42);
const hit = cachedIndex(cfg, root);
if (hit === undefined && flags.build !== 'true') {
  log(
    `no cached ${configName(cfg)} graph under ${root}: build it with bench/annBuild.ts --items ${items} --configs ${configName(cfg)}, or pass --build`,
  );
  process.exit(1);
}
const { dir, cached } = hit === undefined ? await ensureIndex(cfg, data, root, { log }) : { ...hit, cached: true };
log(`${cached ? 'loading cached' : 'built'} ${configName(cfg)} (ef ${ef}, rescore oversample ${oversample}); load ${loadAvg()}`);
const rescore = oversample > 1 ? { oversample, vectors: { vectorOf: embeddingOf } } : undefined;
const manager = new IndexManager({
  dims,
  metric: 'cos',
  create: () =>
    ivf
      ? new IvfIndex({ dims, metric: 'cos', lists: cfg.connectivity, probes: ef, quantization: cfg.quantization === 'i8' ? 'i8' : 'f32' })
      : new UsearchIndex({
          dims,
          metric: 'cos',
          quantization: cfg.quantization,
          connectivity: cfg.connectivity,
          expansionAdd: cfg.expansionAdd,
          expansionSearch: ef,
          ...(rescore === undefined ? {} : { rescore }),
        }),
  buildChunk: 5000,
});
const built = await manager.loadAndOffer(
  dir,
  { ids: data.ids, vectors: data.vectors, version: 'bench' },
  ivf ? { probes: ef } : { expansionSearch: ef, ...(rescore === undefined ? {} : { rescore }) },
);
if (!built.accepted) throw new Error(`index refused: ${built.reason}`);
log(`validated: recall ${built.report.recall.toFixed(3)} on ${built.report.probes} probes`);
const W = new Float32Array(dims * dims);
for (let i = 0; i < dims; i++) W[i * dims + i] = 1;
const tower = await OnnxUserTower.create({
  model: matMulModel(
    dims + 1,
    dims,
    new Float32Array((dims + 1) * dims).map((_, i) => (i < dims * dims ? (W[i] ?? 0) : 0)),
  ),
  features: [
    { name: 'recent_watches', kind: 'ids', table: { ids: data.ids, vectors: data.vectors, dims }, decay: 0.8, maxLen: 50 },
    { name: 'watch_count_7d', kind: 'number', log1p: true },
  ],
  normalize: true,
});
const profiles = new Map<string, FeatureRow>();
const history = new Map<string, string[]>();
for (let u = 0; u < users; u++) {
  const start = Math.floor(r() * items);
  const watches = Array.from({ length: 20 }, (_, i) => data.ids[(start + i * 997) % items] as string);
  history.set(`u${u}`, watches);
  profiles.set(`u${u}`, { recent_watches: watches, watch_count_7d: 20 });
}

// popularity counters
let counters: PopularityCounters = new InMemoryPopularityCounters({ refreshMs: 1000 });
let redis: Redis | undefined;
const prefix = `recspine-bench:${randomBytes(4).toString('hex')}:`;
if (useRedis) {
  const probe = new Redis({ lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await probe.connect();
    redis = probe;
    counters = new RedisPopularityCounters({ client: redis, keyPrefix: prefix });
  } catch {
    probe.disconnect();
    log('Redis not reachable: in-memory counters');
  }
}
const regions = ['US', 'FR', 'IN', 'BR', 'JP'];
const updates = [];
for (let i = 0; i < 50_000; i++) {
  const itemId = data.ids[Math.floor(items * r() ** 3)] as string;
  const region = regions[i % regions.length] as string;
  const atMs = NOW - Math.floor(r() * 6 * 3_600_000);
  updates.push({ itemId, segment: 'global', weight: 1, atMs }, { itemId, segment: `region:${region}`, weight: 1, atMs });
  updates.push({ itemId, segment: `region:${region}|language:en`, weight: 1, atMs });
}
for (let i = 0; i < updates.length; i += 5000) await counters.incrementBatch(updates.slice(i, i + 5000));

// fresh content: 5 000 items published in the last 24 h
const freshEmbeddingOf = embeddingOf;
const freshSource = new FreshContentSource({ dims, history: async (_ctx, u) => history.get(u), embeddingOf: freshEmbeddingOf });
for (let i = 0; i < 5000; i++) {
  const src = Math.floor(r() * items);
  freshSource.addItem({
    itemId: `fresh-${i}`,
    publishedAtMs: NOW - Math.floor(r() * 24 * 3_600_000),
    embedding: data.vectors.slice(src * dims, (src + 1) * dims),
  });
}

const twoTower = new TwoTowerSource({ userFeatures: async (_ctx, u) => profiles.get(u), encoder: tower, index: manager });
const popular = new PopularitySource({ counters });
const coldStart = new ColdStartSource({ counters, isCold: (ctx) => !history.has(ctx.request.userId ?? '') });
const ledger = new PortfolioLedger();
const rec = createRecommender({
  slaMs: 100,
  budgets: { retrieval: 15, coarse: 10, features: 25, fine: 20, rerank: 10 },
  metrics: new TeeMetricsSink([ledger]),
  slots: {
    homepage: {
      sources: [
        { source: twoTower, budgetMs: BUDGET.twoTower, k: K.twoTower },
        { source: popular, budgetMs: BUDGET.popular, k: K.popular },
        { source: freshSource, budgetMs: BUDGET.fresh, k: K.fresh },
        { source: coldStart, budgetMs: BUDGET.cold, k: K.cold },
      ],
      coarseKeep: 200,
    },
  },
});

const load0 = loadAvg();
log(`serving ${requests} homepage requests (popularity: ${redis ? 'Redis' : 'in-memory'})`);
const portfolio = new LatencyRecorder();
const whole = new LatencyRecorder();
const perSource = new Map<string, LatencyRecorder>();
let degraded = 0;
for (let i = 0; i < requests + 100; i++) {
  const cold = i % 10 === 0; // 10 % logged-out traffic
  const t = performance.now();
  const res = await rec.recommend({
    slot: 'homepage',
    limit: 20,
    ...(cold ? {} : { userId: `u${Math.floor(r() * users)}` }),
    context: { region: regions[i % regions.length] as string, language: 'en', nowMs: NOW },
  });
  const total = performance.now() - t;
  if (i < 100) continue; // warm-up
  whole.recordMs(total);
  portfolio.recordMs(res.timings.stages.retrieval ?? 0);
  if (res.degraded.length > 0) degraded++;
  for (const [name, ms] of Object.entries(res.timings.sources)) {
    let l = perSource.get(name);
    if (l === undefined) perSource.set(name, (l = new LatencyRecorder()));
    l.recordMs(ms);
  }
}

const sources: Record<string, { p50Ms: number; p99Ms: number; p999Ms: number; budgetMs: number }> = {};
const budgets: Record<string, number> = {
  'two-tower': BUDGET.twoTower,
  popular: BUDGET.popular,
  fresh: BUDGET.fresh,
  'cold-start': BUDGET.cold,
};
for (const [name, l] of perSource)
  sources[name] = { p50Ms: l.pMs(50), p99Ms: l.pMs(99), p999Ms: l.pMs(99.9), budgetMs: budgets[name] ?? 0 };
printTable(`homepage retrieval portfolio, ${items} items × ${dims}, ${requests} sequential requests`, [
  { what: 'portfolio (retrieval stage)', p50: portfolio.pMs(50), p99: portfolio.pMs(99), p999: portfolio.pMs(99.9) },
  { what: 'whole request (no rankers)', p50: whole.pMs(50), p99: whole.pMs(99), p999: whole.pMs(99.9) },
  ...[...perSource].map(([name, l]) => ({ what: `source ${name}`, p50: l.pMs(50), p99: l.pMs(99), p999: l.pMs(99.9) })),
]);
console.log('\nportfolio report (PortfolioLedger → portfolioReport):');
console.log(formatPortfolioReport(portfolioReport(ledger, { budgetsMs: budgets })));
console.log(`requests with a degradation: ${degraded}`);

const file = writeResult(
  flags.name ?? 'retrieval-portfolio',
  {
    items,
    dims,
    requests,
    users,
    popularity: redis ? 'redis' : 'memory',
    k: K,
    expansionSearch: ivf ? undefined : ef,
    probes: ivf ? ef : undefined,
    index: configName(cfg),
    rescoreOversample: oversample,
    loadAverage: `${load0} → ${loadAvg()}`,
    budgetsMs: budgets,
    anonymousShare: 0.1,
  },
  {
    portfolioP50Ms: portfolio.pMs(50),
    portfolioP99Ms: portfolio.pMs(99),
    portfolioP999Ms: portfolio.pMs(99.9),
    requestP99Ms: whole.pMs(99),
    degradedRequests: degraded,
    sources,
  },
);
log(`wrote ${file}`);
await tower.close();
if (redis) {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}
