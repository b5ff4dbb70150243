import { MapItemCatalog, StaticFallback, createRecommender } from '@recspine/core';
import type { FeatureBatch, ItemMeta, Ranker, RetrievalSource } from '@recspine/core';
import { InMemoryFeatureStore, StoreFeatureFetcher, defineFeatureSchema } from '@recspine/features';
import { CoarseRanker } from '@recspine/rank';
import { KidsContentFilter, MisinformationFilter, MmrReranker } from '@recspine/rerank';
import { InMemoryPopularityCounters, IndexManager, PopularitySource, UsearchIndex } from '@recspine/retrieval';

async function main(): Promise<void> {
  // 1. A tiny catalog: 2,000 videos with 16-d embeddings, 50 creators, 10 categories.
  const dims = 16;
  const ids = Array.from({ length: 2000 }, (_, i) => `v${i}`);
  const vectors = Float32Array.from(
    { length: ids.length * dims },
    (_, j) => Math.sin(j * 0.37) + Math.cos((j % dims) * Math.floor(j / dims / 200)),
  );
  const meta = new Map<string, ItemMeta>(
    ids.map((id, i) => [
      id,
      {
        creatorId: `c${i % 50}`,
        category: `cat${i % 10}`,
        embedding: vectors.slice(i * dims, (i + 1) * dims),
        misinformation: i % 97 === 0,
      },
    ]),
  );
  const catalog = new MapItemCatalog(meta);

  // 2. Retrieval: an ANN index (validated before it serves) and time-decayed popularity.
  const index = new IndexManager({ dims, metric: 'cos', create: () => new UsearchIndex({ dims, metric: 'cos' }) });
  const built = await index.rebuild({ ids, vectors });
  const similar: RetrievalSource = {
    name: 'similar',
    retrieve: (ctx, k) => {
      const watched = ctx.request.context?.itemId ?? 'v0';
      const seed = meta.get(watched)?.embedding;
      return seed ? index.search(seed, k + 1).filter((h) => h.itemId !== watched) : [];
    },
  };
  const counters = new InMemoryPopularityCounters();
  await counters.incrementBatch(ids.slice(0, 300).map((itemId, i) => ({ itemId, segment: 'global', weight: 300 - i, atMs: Date.now() })));

  // 3. Online features: a schema, a store (in-memory here; RedisFeatureStore in production), a fetcher.
  const schema = defineFeatureSchema({
    groups: [{ name: 'item_stats', entity: 'item', features: [{ name: 'ctr', type: 'number', default: 0.02, freshness: 'hot' }] }],
  });
  const store = new InMemoryFeatureStore(schema);
  await store.write(ids.map((id, i) => ({ entity: 'item' as const, id, group: 'item_stats', set: { ctr: 0.01 + (i % 13) / 100 } })));

  // 4. A fine ranker that reads the online features (an ONNX MultiTaskRanker in a real system).
  const byCtr: Ranker = {
    name: 'ctr',
    score: (_ctx, cands, feats: FeatureBatch) => ({
      scores: cands.map((c, i) => c.retrievalScore * 100 + Number(feats.items[i]?.ctr ?? 0.02)),
    }),
  };

  // 5. Compose: budgets, shared stages, policy filters that always run last, and the slots.
  const rec = createRecommender({
    slaMs: 85,
    budgets: { retrieval: 15, coarse: 10, features: 25, fine: 20, rerank: 10 },
    shared: {
      catalog,
      features: new StoreFeatureFetcher(store),
      coarse: new CoarseRanker({ keep: 200 }),
      fine: byCtr,
      policy: [new KidsContentFilter(), new MisinformationFilter()],
      fallback: new StaticFallback(ids.slice(0, 50)),
    },
    slots: {
      homepage: { sources: [new PopularitySource({ counters }), similar], coarseKeep: 200, rerank: [new MmrReranker({ lambda: 0.7 })] },
      'end-of-video': { sources: [similar], coarseKeep: 100 },
    },
  });

  const res = await rec.recommend({ slot: 'end-of-video', userId: 'u42', limit: 5, context: { itemId: 'v7', region: 'US' } });
  console.log(`index ${built.version} accepted=${String(built.accepted)}`);
  for (const it of res.items) console.log(`${it.position + 1}. ${it.itemId} (${it.sources.join('+')}) ${it.score.toFixed(4)}`);
  console.log(
    `degraded: ${res.degraded.length === 0 ? 'no' : res.degraded.map((d) => d.mode).join(', ')}; ${res.timings.totalMs.toFixed(2)} ms`,
  );
  if (res.items.length !== 5 || !built.accepted) throw new Error('quick start did not produce a slate');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
