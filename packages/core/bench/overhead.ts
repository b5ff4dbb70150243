/**
 * Runner overhead: the same trivial stages run (a) through the Recommender and (b) called directly
 * in sequence, interleaved in one process and one run. The difference is what the runner costs:
 * validation, deadlines and timers, breakers, contexts, RRF merge bookkeeping, accounting, metrics
 * and the response.
 *
 *   npx tsx packages/core/bench/overhead.ts [--requests 20000] [--items 300] [--sources 3]
 */
import type { Candidate, FeatureBatch, PolicyFilter, Ranker, ReRanker, RetrievalSource, RetrievedItem } from '../src/index.js';
import { createRecommender, emptyFeatureBatch } from '../src/index.js';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';

const flags = parseFlags();
const REQUESTS = Number(flags.requests ?? 20_000);
const ITEMS = Number(flags.items ?? 300);
const SOURCES = Number(flags.sources ?? 3);
const WARMUP = Math.min(2_000, REQUESTS / 5);

const lists: RetrievedItem[][] = Array.from({ length: SOURCES }, (_, s) =>
  Array.from({ length: ITEMS }, (_, i) => ({ itemId: `item${(i * (s + 1) * 7919) % (ITEMS * 2)}`, score: ITEMS - i })),
);
const sources: RetrievalSource[] = lists.map((l, s) => ({ name: `src${s}`, retrieve: async () => l }));
const coarse: Ranker = { name: 'coarse', score: (_c, cands) => ({ scores: Float64Array.from(cands, (c) => c.retrievalScore) }) };
const fine: Ranker = {
  name: 'fine',
  score: async (_c, cands) => ({ scores: Float64Array.from(cands, (c, i) => c.retrievalScore + (i % 7) * 1e-4) }),
};
const features = {
  name: 'features',
  fetch: async (_c: unknown, userId: string | undefined, itemIds: readonly string[]): Promise<FeatureBatch> =>
    emptyFeatureBatch(userId, itemIds),
};
const rerankers: ReRanker[] = [
  { name: 'rev-top', rerank: (_c, r) => r },
  { name: 'identity', rerank: (_c, r) => r },
];
const policy: PolicyFilter = { name: 'even', allows: (_c, c) => c.itemId.length % 5 !== 0 };

const rec = createRecommender({
  slaMs: 85,
  budgets: { retrieval: 15, coarse: 10, features: 25, fine: 20, rerank: 10 },
  shared: { coarse, fine, features, policy: [policy] },
  slots: { home: { sources, coarseKeep: 200, rerank: rerankers } },
});

const ctx = {} as never;
/** The same stages, called directly in sequence with the minimum glue (merge, sort, trim, filter). */
async function direct(limit: number): Promise<number> {
  const results = await Promise.all(sources.map((s) => s.retrieve(ctx, 500)));
  const byId = new Map<string, Candidate>();
  for (let s = 0; s < results.length; s++) {
    let rank = 0;
    for (const it of results[s] as RetrievedItem[]) {
      let c = byId.get(it.itemId);
      if (!c) byId.set(it.itemId, (c = { itemId: it.itemId, score: 0, retrievalScore: 0, sources: [], sourceScores: [] }));
      c.sources.push(`src${s}`);
      c.sourceScores.push(it.score);
      c.retrievalScore += 1 / (60 + ++rank);
    }
  }
  let cands = [...byId.values()];
  const cs = (await coarse.score(ctx, cands, emptyFeatureBatch(undefined, []))).scores;
  cands.forEach((c, i) => (c.score = cs[i] as number));
  cands.sort((a, b) => b.score - a.score);
  cands = cands.slice(0, 200);
  const feats = await features.fetch(
    ctx,
    'u1',
    cands.map((c) => c.itemId),
  );
  const fs = (await fine.score(ctx, cands, feats)).scores;
  cands.forEach((c, i) => (c.score = fs[i] as number));
  cands.sort((a, b) => b.score - a.score);
  for (const r of rerankers) cands = (await r.rerank(ctx, cands, limit)) as Candidate[];
  const slate = cands.filter((c) => policy.allows(ctx, c)).slice(0, limit);
  return slate.length;
}

const runner = new LatencyRecorder();
const base = new LatencyRecorder();
let sink = 0;
for (let i = 0; i < WARMUP + REQUESTS; i++) {
  // interleave so both see the same machine state
  let t = performance.now();
  sink += await direct(20);
  const d = performance.now() - t;
  t = performance.now();
  sink += (await rec.recommend({ slot: 'home', userId: 'u1', limit: 20 })).items.length;
  const r = performance.now() - t;
  if (i >= WARMUP) {
    base.recordMs(d);
    runner.recordMs(r);
  }
}

const directP50Us = base.pUs(50);
const directP99Us = base.pUs(99);
const runnerP50Us = runner.pUs(50);
const runnerP99Us = runner.pUs(99);
const overheadP50Us = runnerP50Us - directP50Us;
const overheadP99Us = runnerP99Us - directP99Us;
const overheadRatio = runnerP50Us / directP50Us;

printTable(`runner overhead (${REQUESTS} requests, ${SOURCES} sources × ${ITEMS} items, coarse keep 200, slate 20)`, [
  { path: 'direct calls', p50Us: directP50Us, p99Us: directP99Us, p999Us: base.pUs(99.9) },
  { path: 'runner', p50Us: runnerP50Us, p99Us: runnerP99Us, p999Us: runner.pUs(99.9) },
  { path: 'overhead', p50Us: overheadP50Us, p99Us: overheadP99Us, p999Us: runner.pUs(99.9) - base.pUs(99.9) },
]);
console.log(
  `\nratio runner ÷ direct (p50): ${overheadRatio.toFixed(3)}; p99 overhead ${overheadP99Us} µs = ${((overheadP99Us / 5000) * 100).toFixed(2)} % of a 5 ms pipeline (target ≤ 150 µs, ≤ 3 %)`,
);
const file = writeResult(
  'core-overhead',
  { requests: REQUESTS, itemsPerSource: ITEMS, sources: SOURCES, coarseKeep: 200, limit: 20 },
  {
    overheadP50Us,
    overheadP99Us,
    directP50Us,
    directP99Us,
    runnerP50Us,
    runnerP99Us,
    overheadRatio,
    overheadPctOf5msPipelineP99: (overheadP99Us / 5000) * 100,
  },
);
console.log(`wrote ${file} (checksum ${sink})`);
