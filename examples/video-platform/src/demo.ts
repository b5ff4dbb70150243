/**
 * Demo entry point. Until the full video-platform server lands, this prints recommendations
 * from a tiny in-memory pipeline built from @recspine/core's pass-through stages, including one
 * designed degradation (a source that misses its budget).
 */
import { MapItemCatalog, RetrievalScoreRanker, StaticFallback, StaticSource, createRecommender } from '@recspine/core';
import type { PolicyFilter, RetrievalSource } from '@recspine/core';

const catalog = new MapItemCatalog(
  new Map([
    ['v3', { creatorId: 'c1', category: 'music', kidsRestricted: true }],
    ['v5', { creatorId: 'c2', category: 'news', misinformation: true }],
  ]),
);
const slowAnn: RetrievalSource = {
  name: 'two-tower',
  retrieve: () => new Promise((resolve) => setTimeout(() => resolve([{ itemId: 'v9', score: 1 }]), 50)),
};
const noMisinfo: PolicyFilter = { name: 'misinformation', allows: (_ctx, c) => !c.meta?.misinformation };
const kidsSafe: PolicyFilter = {
  name: 'kids',
  allows: (ctx, c) => ctx.request.context?.attributes?.kidsMode !== true || !c.meta?.kidsRestricted,
};

const rec = createRecommender({
  slaMs: 85,
  budgets: { retrieval: 15, coarse: 10, features: 25, fine: 20, rerank: 10 },
  shared: {
    fine: new RetrievalScoreRanker('fine', 0.01),
    policy: [noMisinfo, kidsSafe],
    catalog,
    fallback: new StaticFallback(['v1', 'v2']),
  },
  slots: {
    homepage: {
      sources: [new StaticSource('popular', ['v1', 'v2', 'v3', 'v4', 'v5']), new StaticSource('fresh', ['v6', 'v2', 'v7']), slowAnn],
      coarseKeep: 200,
    },
    search: { sources: [new StaticSource('query', ['v4', 'v7'])], coarseKeep: 50 },
  },
});

for (const req of [
  { slot: 'homepage', userId: 'u42', limit: 5 },
  { slot: 'homepage', userId: 'kid7', limit: 5, context: { attributes: { kidsMode: true } } },
  { slot: 'search', limit: 3, query: 'guitar' },
]) {
  const res = await rec.recommend(req);
  console.log(`\n${req.slot} for ${req.userId ?? 'anonymous'} (${res.timings.totalMs.toFixed(2)} ms, ordered by ${res.orderedBy})`);
  for (const it of res.items)
    console.log(`  ${it.position + 1}. ${it.itemId}  score=${it.score.toFixed(4)}  sources=${it.sources.join('+')}`);
  for (const d of res.degraded) console.log(`  degraded: ${d.mode} → ${d.tier} at ${d.stage}`);
}
