import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import type {
  MetricsSink,
  PolicyFilter,
  Ranker,
  RecommenderConfig,
  RetrievalSource,
  RetrievedItem,
  SlotConfig,
  StageBudgets,
  StageContext,
} from '@recspine/core';
import { MapItemCatalog, createRecommender, isRecSpineError } from '@recspine/core';
import type { ItemCatalog } from '@recspine/core';
import type { Recommender } from '@recspine/core';
import type { FeatureMutation, FeatureStore } from '@recspine/features';
import {
  InMemoryFeatureStore,
  RedisFeatureStore,
  STREAM_GROUPS,
  StoreFeatureFetcher,
  defineFeatureSchema,
  streamFeatureGroups,
} from '@recspine/features';
import type { FeatureAssemblerSpec, OnnxModelSpec } from '@recspine/rank';
import { CoarseRanker, DegradedModeRanker, FeatureAssembler, ModelRegistry, MultiTaskRanker, OnnxModel } from '@recspine/rank';
import type { CapRule, ExposureStore } from '@recspine/rerank';
import {
  InMemoryExposureStore,
  KidsContentFilter,
  MisinformationFilter,
  PredicateFilter,
  RecommendedChains,
  RegionRestrictionFilter,
} from '@recspine/rerank';
import type { AnnIndex, PopularityCounters, PopularityUpdate, UserTowerFeature } from '@recspine/retrieval';
import type { CachedSourceStats } from '@recspine/retrieval';
import {
  CachedSource,
  ColdStartSource,
  ExactIndex,
  FreshContentSource,
  HnswlibIndex,
  IndexManager,
  IvfIndex,
  InMemoryPopularityCounters,
  OnnxUserTower,
  PopularitySource,
  QuerySource,
  RedisPopularityCounters,
  TwoTowerSource,
  UsearchIndex,
} from '@recspine/retrieval';
import { VideoPlatformErrors } from '../errors.js';
import { GROUPS, HEADS } from '../train/featureSets.js';
import type { UserTowerFeatureFile } from '../train/trainModels.js';
import { itemStatsRow } from '../world/featureRows.js';
import { readColumn } from '../world/internal/binio.js';
import { itemText } from '../world/itemText.js';
import type { WorldPreset } from '../world/WorldConfig.js';
import { WorldData } from '../world/WorldData.js';
import { resolveArtifacts } from './internal/artifacts.js';
import { HistoryFeatureFetcher, derivedHistory } from './HistoryFeatureFetcher.js';
import { ColumnarCatalog, ColumnarItemStats, itemRow } from './ColumnarCatalog.js';
import { groupsView, storeGroupsReadBy } from './modelFeatureGroups.js';
import { padCatalog } from './padCatalog.js';
import { ServedFeatureTap } from './ServedFeatureTap.js';
import { SourcePriorityGate } from './SourcePriorityGate.js';

/** Options of {@link buildVideoRecommender}. */
export interface VideoRecommenderOptions {
  readonly preset: WorldPreset;
  /**
   * `embedded`: in-memory feature store and popularity counters (one process, no servers);
   * `production`: Redis feature store and Redis popularity counters (`redis`).
   */
  readonly mode: 'embedded' | 'production';
  /** Redis for `production` (default `redis://127.0.0.1:6379`), and a key prefix to isolate runs. */
  readonly redis?: {
    readonly url?: string;
    readonly keyPrefix?: string;
    /**
     * Feature-store commands fail at once while Redis is disconnected (no offline queue), so an
     * outage shows as store errors (core: degraded model, breaker opens) rather than as per-group
     * timeouts (fine rank on defaults). The store connects before seeding. Default false.
     */
    readonly failFast?: boolean;
  };
  /** Artifact cache (default `examples/video-platform/.data`); explicit directories override the pointer. */
  readonly dataDir?: string;
  readonly worldDir?: string;
  readonly modelsDir?: string;
  /**
   * ANN backend over the item embeddings: `exact` (reference; default for `embedded`), `usearch`
   * (HNSW; default for `production` up to 100k items), `hnswlib` (HNSW, hnswlib-node; f32, M 16)
   * or `ivf` (`IvfIndex`: k-means lists scanned with SIMD, 48 probes; trained on the whole
   * catalogue at start-up, rebuilds reuse its centroids; default for `production` above 100k items).
   */
  readonly ann?: 'exact' | 'usearch' | 'hnswlib' | 'ivf';
  /** Request SLA and stage budgets (defaults: {@link DEFAULT_BUDGETS}). Offline evaluation passes generous ones. */
  readonly slaMs?: number;
  readonly budgets?: StageBudgets;
  /**
   * Candidates kept by the coarse ranker (default 200, what the server keeps: the offline eval
   * measured NDCG@10 0.663 / 0.657 on seeds 1 / 2 with 200 and with 300, 0.659 / 0.660 with 150).
   */
  readonly coarseKeep?: number;
  /** Items asked of each homepage source (defaults: {@link DEFAULT_HOMEPAGE_QUOTAS}). */
  readonly homepageQuotas?: Partial<HomepageQuotas>;
  /** Shorthand: the homepage two-tower and popularity quotas both (overrides `homepageQuotas` for those two). */
  readonly retrieveK?: number;
  /**
   * Two-tower items on the end-of-video and search slots (defaults 500 and 100). There the context
   * source (`related`, `query`) goes first in the slate and two-tower items only backfill behind it.
   */
  readonly backfillK?: { readonly endOfVideo?: number; readonly search?: number };
  /** The search slot's relevance tiers (default {@link SEARCH_MIN_RELATIVE_SCORE}; 0 = one tier, any query match first). */
  readonly searchMinRelativeScore?: number;
  /**
   * How long (ms) the popularity source serves a segment list's top-k from memory before reading
   * the counters again (`PopularitySource` `cacheTtlMs`): the lists are the same for every user of
   * a segment, so one read per second replaces one per homepage request (≈ 2 × 1 000 members and
   * scores from Redis). Requests whose `nowMs` is not the wall clock (replay, evaluation) always read. Default 1 000 in
   * `production`, 0 in `embedded` (in-memory counters are cheap to read).
   */
  readonly popularityCacheMs?: number;
  /**
   * How long (ms) the end-of-video slot's related list of a watched item is served from memory
   * (`CachedSource` of `@recspine/retrieval`; default 30 000, 0 = off). The list is the same for
   * every viewer of the item and a miss is a full ANN search (k = 301). An index swap or rollback
   * invalidates it at once (the cache key carries the index version); an item published since is
   * in the item's list within this long. Requests that carry a clock of their own (`nowMs` not
   * within this long of the wall clock: replay, offline evaluation) and requests whose ANN search
   * needs a publish-time filter always search.
   */
  readonly relatedCacheMs?: number;
  /** Homepage exploration share (default 0.1) and MMR λ (default 0.85). */
  readonly exploreFraction?: number;
  readonly mmrLambda?: number;
  /** Homepage caps (default: ≤ 1 per creator in any 4 positions, ≤ 4 per category in any 6). */
  readonly homepageCaps?: readonly CapRule[];
  readonly metrics?: MetricsSink;
  /** Deterministic exploration (tests, offline evaluation). */
  readonly seed?: number;
  /** Breaker settings for core; offline evaluation disables tripping. */
  readonly breakers?: RecommenderConfig['breakers'];
  /** Wall clock for sources when a request carries no `nowMs` (default `Date.now`). */
  readonly clock?: () => number;
  /** Decorates the fine ranker before it is composed (the server's fault injection for game days). */
  readonly wrapFine?: (fine: Ranker) => Ranker;
  /**
   * Serve the catalog padded to this many items (synthetic items drawn around real ones, see
   * {@link padCatalog}): in the ANN index, the catalog, the feature store, popularity, the fresh and
   * query sources. Default: the world's own item count. A padded HNSW index is built once and
   * cached under `<dataDir>/ann-cache/`.
   */
  readonly items?: number;
  /** Progress lines while building (padding, seeding, index build). */
  readonly log?: (line: string) => void;
  /** Captures the fine/degraded model inputs per request for the impression log (enable it to capture). */
  readonly servedFeatures?: ServedFeatureTap;
}

/** Default per-stage budgets (ms) for a 100 ms SLA on this machine. */
/**
 * IVF lists scanned per search (see `ann: 'ivf'`). At 1M × 32 (`bench/ann-1m.ts`): 48 probes give
 * recall@301 0.961 (related) and recall@500 0.884 (two-tower backfill) at 0.66 / 0.81 ms mean —
 * above hnswlib ef 256's 0.923 / 0.870 at 2.3 / 4.0 ms; 24 probes: 0.900 / 0.766.
 */
const IVF_PROBES = 48;

/** Items asked of each homepage source per request. */
export interface HomepageQuotas {
  readonly twoTower: number;
  readonly popular: number;
  readonly fresh: number;
  readonly coldStart: number;
}

/**
 * About 1 000 homepage candidates into coarse rank, as the mission's pipeline has it (it was
 * 1 000 + 1 000 + 300 + 300 = 2 600 in the offline evaluation and 1 600 in the server). Offline,
 * demo world, seed 1, 300 held-out users: NDCG@10 0.663 against 0.662 with 2 600, degraded
 * 0.512 against 0.491; 0.662 with 500 + 300 + 100 + 100 and 0.660 with 700 + 300 + 150 + 150.
 * Coarse rank, hydration and the merge cost per candidate: against the server's earlier 1 600,
 * a homepage request's CPU fell ≈ 16 % (`bench/slot-cpu.ts`, its CPU over end-of-video's in the
 * same round, 1.23 → 1.04 over eight alternating rounds each).
 */
export const DEFAULT_HOMEPAGE_QUOTAS: HomepageQuotas = { twoTower: 600, popular: 200, fresh: 100, coldStart: 100 };

/** The homepage quotas `opts` ask for: the defaults, then `homepageQuotas`, then `retrieveK` for two-tower and popularity. */
export function homepageQuotasOf(opts: Pick<VideoRecommenderOptions, 'homepageQuotas' | 'retrieveK'>): HomepageQuotas {
  const q = {
    ...DEFAULT_HOMEPAGE_QUOTAS,
    ...opts.homepageQuotas,
    ...(opts.retrieveK === undefined ? {} : { twoTower: opts.retrieveK, popular: opts.retrieveK }),
  };
  for (const [k, v] of Object.entries(q)) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`homepage quota ${k} must be a non-negative integer, got ${String(v)}`);
  }
  return q;
}

/** Two-tower items behind the context source on the end-of-video and search slots. */
export interface BackfillK {
  readonly endOfVideo: number;
  readonly search: number;
}

/**
 * Defaults of `backfillK`. Search: 100 (was 300). Offline, seed 1, 265 users searching their last
 * watched item's category and topic words: NDCG@10 over matching items 0.260 / 0.259 / 0.260 with
 * 300 / 100 / 30 before the relevance tiers ({@link SEARCH_MIN_RELATIVE_SCORE}); with them 0.420 at
 * 300 and 0.474 at 100 (coarse keeps 200 of 400 candidates instead of 600, so fewer query matches
 * are dropped for backfill). End-of-video stays 500: there every cut cost NDCG (example README).
 */
export const DEFAULT_BACKFILL_K: BackfillK = { endOfVideo: 500, search: 100 };

/**
 * The search slot's relevance tiers (`SourcePriorityGate` `minRelativeScore`): query matches scoring
 * ≥ 0.8 × the slate's best query score first (BM25 with a coordination factor: the items matching
 * every query word), then the weaker matches, then backfill. Offline, seed 1, backfill 100: share of
 * the served slate matching the whole query 0.50 (one tier) → 0.63 / 0.67 / 0.87 / 0.92 / 0.92 at
 * 0.4 / 0.6 / 0.7 / 0.8 / 0.9; NDCG@10 over matching items 0.259 → 0.344 / 0.367 / 0.452 / 0.474 /
 * 0.474 (the query source's own top 10: 0.178, match share 0.97).
 */
export const SEARCH_MIN_RELATIVE_SCORE = 0.8;

/** The backfill `opts` ask for: the defaults, then `backfillK`; each a positive integer (core refuses a source with k 0). */
export function backfillKOf(opts: Pick<VideoRecommenderOptions, 'backfillK'>): BackfillK {
  const b = { ...DEFAULT_BACKFILL_K, ...opts.backfillK };
  for (const [k, v] of Object.entries(b)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`backfill k ${k} must be a positive integer, got ${String(v)}`);
  }
  return b;
}

export const DEFAULT_BUDGETS: StageBudgets = { retrieval: 35, coarse: 10, features: 15, fine: 25, rerank: 5 };

/**
 * Where the stream aggregator (or any event consumer) writes so that serving stays fresh: the
 * retrieval popularity counters (`PopularitySink`-compatible), the exploration item stats, the
 * creator-exposure store of the end-of-video chain, and publish hooks for new items.
 */
export interface VideoAggregatorSinks {
  /** Retrieval popularity counters; pass as the features package's `StreamAggregator` `popularity` option. */
  readonly popularity: PopularityCounters;
  /** Exploration counters read by the homepage chain (`record(itemId, impressions, clicks)`). */
  readonly itemStats: ColumnarItemStats;
  readonly exposure: ExposureStore;
  /** Makes a newly published item retrievable: fresh source, ANN index, query index, catalog. */
  readonly publish: (item: {
    itemId: string;
    publishedAtMs: number;
    embedding: Float32Array;
    title: string;
    tags?: readonly string[];
  }) => void;
}

/** What {@link buildVideoRecommender} returns. */
export interface VideoRecommender {
  readonly recommender: Recommender;
  readonly config: RecommenderConfig;
  readonly featureStore: FeatureStore;
  /** The online fetcher core uses; `setAvailable(false)` simulates a feature-store outage. */
  readonly featureFetcher: HistoryFeatureFetcher;
  /**
   * The fine model's versions (rank `ModelRegistry`): `load(path, version)` checks a new version
   * against the spec and smoke-tests it before it serves; a refused one leaves the old one serving.
   */
  readonly fineModels: ModelRegistry;
  /**
   * Simulates a feature-store outage: `ranking` fails the online feature fetch only (core ranks
   * with the degraded model; retrieval still reads user rows), `all` also fails retrieval's user
   * reads (no two-tower, fresh-by-history or cold-start detection), `none` ends it.
   */
  simulateOutage(scope: 'none' | 'ranking' | 'all'): void;
  /** The retrieval sources, by name (offline evaluation measures them one by one). */
  readonly sources: Readonly<Record<'twoTower' | 'popular' | 'fresh' | 'coldStart' | 'query' | 'related', RetrievalSource>>;
  /** Hit/miss counters of the end-of-video related-list cache (zeros when `relatedCacheMs` is 0). */
  relatedCacheStats(): CachedSourceStats;
  readonly aggregatorSinks: VideoAggregatorSinks;
  readonly indexManager: IndexManager;
  readonly catalog: ItemCatalog;
  /** The world the artifacts belong to (observable side: catalog, profiles, logs). */
  readonly world: WorldData;
  /** Request contexts of real users (region, device, language, kids flag) and item ids, for demos and load tests. */
  readonly sampleUsers: readonly { readonly userId: string; readonly context: NonNullable<StageContext['request']['context']> }[];
  readonly sampleItems: readonly string[];
  /** Search queries that match the catalog's titles. */
  readonly sampleQueries: readonly string[];
  readonly budgets: StageBudgets;
  readonly slaMs: number;
  /** Items asked of each homepage source (the defaults with the options applied). */
  readonly homepageQuotas: HomepageQuotas;
  /** Two-tower backfill k on the end-of-video and search slots (the defaults with the options applied). */
  readonly backfillK: BackfillK;
  readonly slots: readonly string[];
  /** Models and world versions served. */
  readonly versions: { readonly models: string; readonly world: string };
  /** Which parts are local adapters rather than package classes. */
  readonly composition: string;
  close(): Promise<void>;
}

const SLOTS = ['homepage', 'end-of-video', 'search'] as const;

function rankSpec(width: number, outputs: readonly string[], ranges?: Readonly<Record<string, readonly [number, number]>>): OnnxModelSpec {
  return {
    inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', width] }],
    outputs: outputs.map((name) => ({ name, dtype: 'float32', shape: 'perRow', ...(ranges?.[name] ? { range: ranges[name] } : {}) })),
    maxBatch: 4096,
  };
}

/**
 * Builds the video platform's recommender from trained artifacts with the real RecSpine
 * packages, so that the offline evaluation and the HTTP server serve the same thing:
 *
 * - **features**: a `defineFeatureSchema` schema (`user_profile`, the aggregator's
 *   `streamFeatureGroups`, `item_stats`, `item_content`, `creator`), an `InMemoryFeatureStore` or
 *   `RedisFeatureStore` seeded with the world's snapshot at the split, and a `StoreFeatureFetcher`
 *   (wrapped to derive `history_pool`/`history_len` from `recent_items`);
 * - **retrieval**: `OnnxUserTower` + `TwoTowerSource` over an `IndexManager` (`ExactIndex` or
 *   `UsearchIndex`) of the exported item embeddings, `PopularitySource` and `ColdStartSource` over
 *   popularity counters seeded from training-window clicks, `FreshContentSource`, `QuerySource`
 *   over synthetic titles/tags, and a related-items source for end-of-video (local adapter);
 * - **rank**: `CoarseRanker` with the tiny ONNX MLP, `MultiTaskRanker` (fine) and
 *   `DegradedModeRanker`, each with a `FeatureAssembler` built from the exported spec file;
 * - **rerank**: `RecommendedChains.homepage` (MMR + exploration + caps), `.endOfVideo` (creator
 *   fairness), `.search` (light MMR + caps), and the policy filters (kids, region,
 *   misinformation, not-yet-published).
 *
 * Slots: `homepage`, `end-of-video` (the just-watched item in `request.context.itemId`) and
 * `search` (`request.query`).
 *
 * @throws RECSPINE_ERR_VP_ARTIFACT when no trained artifacts are found.
 * @example
 * ```ts
 * const vr = await buildVideoRecommender({ preset: 'demo', mode: 'embedded' });
 * const res = await vr.recommender.recommend({ slot: 'homepage', userId: 'u42', limit: 10, context: vr.sampleUsers[0]?.context });
 * await vr.close();
 * ```
 */
export async function buildVideoRecommender(opts: VideoRecommenderOptions): Promise<VideoRecommender> {
  const hq = homepageQuotasOf(opts); // before any loading: a bad quota fails fast
  const bk = backfillKOf(opts);
  const dataDir = opts.dataDir ?? join(import.meta.dirname, '..', '..', '.data');
  const art = resolveArtifacts({
    dataDir,
    preset: opts.preset,
    ...(opts.worldDir === undefined ? {} : { worldDir: opts.worldDir }),
    ...(opts.modelsDir === undefined ? {} : { modelsDir: opts.modelsDir }),
  });
  const mm = art.models;
  const mdir = art.modelsDir;
  const log = opts.log ?? (() => undefined);
  const tBuild = performance.now();
  const realData = WorldData.load(art.worldDir);
  const E = mm.itemEmbeddings.shape[1] as number;
  const realEmb = readColumn(mdir, { ...mm.itemEmbeddings, dtype: 'f32' });
  const padded =
    opts.items === undefined || opts.items === realData.nItems
      ? { data: realData, itemEmb: realEmb, realItems: realData.nItems }
      : padCatalog(realData, realEmb, opts.items);
  const data = padded.data;
  const itemEmb = padded.itemEmb;
  const wc = data.manifest.config;
  const N = data.nItems;
  const D = data.dim;
  if (N !== padded.realItems) log(`catalog padded to ${N} items (${padded.realItems} real) in ${ms(tBuild)}`);
  const ids = Array.from({ length: N }, (_, i) => `v${i}`);
  const splitMs = data.ms(data.manifest.splitS);
  const clock = opts.clock ?? Date.now;
  const closers: (() => Promise<void>)[] = [];
  const popRedis = (): Redis => {
    const client = new Redis(opts.redis?.url ?? 'redis://127.0.0.1:6379', { lazyConnect: false, maxRetriesPerRequest: 2 });
    // Outages surface as failed commands (the sources' breakers count them); without a listener
    // ioredis also prints every reconnect failure as "Unhandled error event".
    client.on('error', () => undefined);
    closers.push(async () => {
      client.disconnect();
    });
    return client;
  };

  // ---- catalog (in-process; the daily snapshot at the split) ----
  // Item ids are `v<row>`: rows are parsed from ids (itemRow), no id → row map. A padded catalog
  // builds each ItemMeta on lookup (ColumnarCatalog: no million long-lived objects for the GC to
  // mark); the world's own catalog keeps one prebuilt meta per item (cheaper lookups).
  const columnar = new ColumnarCatalog(data, itemEmb, E);
  const catalog: ItemCatalog = N > 100_000 ? columnar : new MapItemCatalog(new Map(ids.map((id, i) => [id, columnar.meta(i)])));
  const histDims = { dim: D, categories: wc.categories, historyLength: wc.historyLength };
  // columns read per request, taken out of the (padded) world view once (see ColumnarCatalog)
  const itemCategory = data.itemCategory;
  const itemContent = data.itemContent;
  const categoryOf = (id: string): number | undefined => {
    const i = itemRow(id, N);
    return i < 0 ? undefined : (itemCategory[i] as number);
  };
  const contentOf = (id: string): Float32Array | undefined => {
    const i = itemRow(id, N);
    return i < 0 ? undefined : itemContent.subarray(i * D, (i + 1) * D);
  };

  // ---- feature store ----
  const categories = data.categoryNames;
  const budgets = opts.budgets ?? DEFAULT_BUDGETS;
  const slaMs = opts.slaMs ?? 100;
  const schema = defineFeatureSchema({
    // Every read passes its stage's remaining time as the cap (StoreFeatureFetcher, the user-row
    // read), so a group's sub-deadline is that stage's budget. The package default (20 ms) is not
    // tied to the budgets: with generous ones (offline evaluation, tests) it timed groups out on a
    // busy box while the stage still had seconds left.
    defaultTimeoutMs: slaMs,
    groups: [
      {
        name: GROUPS.userProfile,
        entity: 'user',
        features: ['region', 'device', 'language', 'age_band'].map((name) => ({
          name,
          type: 'category' as const,
          default: '',
          freshness: 'stable' as const,
        })),
      },
      ...streamFeatureGroups({ categories }),
      {
        name: GROUPS.itemStats,
        entity: 'item',
        features: ['impressions', 'clicks', 'watch_sum', 'log1p_impressions', 'smoothed_ctr', 'smoothed_watch'].map((name) => ({
          name,
          type: 'number' as const,
          default: 0,
          freshness: 'hot' as const,
        })),
      },
      {
        name: GROUPS.itemContent,
        entity: 'item',
        features: [
          { name: 'content', type: 'vector', dim: D, default: new Float32Array(D), freshness: 'stable' },
          { name: 'category_onehot', type: 'vector', dim: wc.categories, default: new Float32Array(wc.categories), freshness: 'stable' },
        ],
      },
      { name: GROUPS.creator, entity: 'creator', features: [{ name: 'log1p_followers', type: 'number', default: 0, freshness: 'stable' }] },
    ],
  });
  const featureStore: FeatureStore =
    opts.mode === 'production'
      ? new RedisFeatureStore(schema, {
          url: opts.redis?.url ?? 'redis://127.0.0.1:6379',
          ...(opts.redis?.keyPrefix === undefined ? {} : { keyPrefix: opts.redis.keyPrefix }),
          // fail fast, and reconnect at most 0.5 s after Redis is back (ioredis backs off to 2 s by default)
          ...(opts.redis?.failFast === true
            ? { redisOptions: { enableOfflineQueue: false, retryStrategy: (times: number) => Math.min(times * 50, 500) } }
            : {}),
        })
      : new InMemoryFeatureStore(schema);
  closers.push(() => featureStore.close());
  if (featureStore instanceof RedisFeatureStore && opts.redis?.failFast === true) await featureStore.ready();
  // A padded catalog's synthetic rows are seeded once per Redis key prefix (a marker key records
  // it); the real rows are re-seeded on every start, as before — by one process: cluster workers
  // start together, and the first to take the seed lock seeds while the others wait for it and
  // skip (they used to seed the same rows side by side, 1M items each on a first start).
  const prefix = opts.redis?.keyPrefix ?? 'vp';
  const padMarker = opts.mode === 'production' && N !== padded.realItems ? `${prefix}:padded-seeded:${data.manifest.key}` : undefined;
  const seedClient = opts.mode === 'production' ? popRedis() : undefined;
  const lock = seedClient === undefined ? undefined : await takeSeedLock(seedClient, `${prefix}:seed-lock:${data.manifest.key}`, log);
  const padSeeded = seedClient !== undefined && padMarker !== undefined && (await seedClient.exists(padMarker)) === 1;
  // a peer seeded while we waited: its rows are current (unless it died before marking a padded seed)
  const skipSeed = lock === 'peer-done' && (padMarker === undefined || padSeeded);
  const seedItems = padSeeded ? padded.realItems : N;
  const counters: PopularityCounters =
    opts.mode === 'production'
      ? new RedisPopularityCounters({ client: popRedis(), keyPrefix: `${prefix}:pop:`, halfLifeMs: 7 * 86_400_000 })
      : new InMemoryPopularityCounters({ halfLifeMs: 7 * 86_400_000, maxItemsPerSegment: 5000, clock: () => splitMs });
  if (skipSeed) log('feature store and popularity seeded by another process; not re-seeded');
  else {
    const release =
      lock === 'taken' && seedClient !== undefined ? holdSeedLock(seedClient, `${prefix}:seed-lock:${data.manifest.key}`) : undefined;
    try {
      const tSeed = performance.now();
      await seedFeatureStore(featureStore, data, seedItems, padded.realItems);
      log(`feature store seeded (${seedItems} items) in ${ms(tSeed)}`);
      // ---- popularity counters, seeded from training-window clicks ----
      await seedPopularity(counters, data, seedItems, padded.realItems, splitMs);
      if (seedClient !== undefined && padMarker !== undefined && !padSeeded) await seedClient.set(padMarker, String(Date.now()));
    } finally {
      await release?.();
    }
  }

  // ---- ANN index of the item embeddings ----
  // A large catalog (> 100k items) is served by IVF: at 1M × 32 it answers the serving shapes with
  // higher recall than hnswlib (ef 256) in a fifth of the time, builds in ≈ 25 s instead of ≈ 30
  // min, and a rebuild under traffic needs no training (`bench/ann-1m.ts`, example README).
  const large = N > 100_000;
  const ann = opts.ann ?? (opts.mode === 'production' ? (large ? 'ivf' : 'usearch') : 'exact');
  // A large catalog: search-time ef 256. Serving asks k ≥ 300 (ef = max(ef, k), so its cost is
  // unchanged); the swap validation's recall@100 needs it (ef 100 gives 0.87 at 1M).
  const ef = large ? { expansionSearch: 256 } : {};
  // hnswlib grows its arrays by doubling from 1024 slots: size it for the catalog at once.
  const hnswOpts = { maxK: 2000, initialCapacity: Math.max(1024, N), ...ef };
  // IVF: √N-ish lists; the first version trains on the whole catalogue in one go (start-up, before
  // ready), and every later version (an /admin rebuild under traffic) reuses the centroids of the
  // version in service, so it is only inserts, in slices on the serving thread.
  const ivfLists = Math.max(16, Math.min(4096, Math.round(Math.sqrt(N))));
  // int8 scan (re-scored exactly from the f32 rows): at 1M × 32 and 48 probes a search reads
  // ≈ 50k rows, bound by memory; i8 gives the same recall at 1.5–1.8× lower p50 (retrieval README).
  const ivfOpts = { dims: E, metric: 'ip' as const, maxK: 2000, lists: ivfLists, probes: IVF_PROBES, quantization: 'i8' as const };
  let ivfCentroids: Float32Array | undefined;
  const create = (): AnnIndex =>
    ann === 'usearch'
      ? new UsearchIndex({ dims: E, metric: 'ip', maxK: 2000, ...ef })
      : ann === 'hnswlib'
        ? new HnswlibIndex({ dims: E, metric: 'ip', ...hnswOpts })
        : ann === 'ivf'
          ? new IvfIndex(
              ivfCentroids === undefined ? { ...ivfOpts, trainAt: Math.max(ivfLists, N) } : { ...ivfOpts, centroids: ivfCentroids },
            )
          : new ExactIndex({ dims: E, metric: 'ip', maxK: 2000 });
  // HNSW rebuilds (e.g. /admin/index/rebuild, game day scenario 4) run on a low-priority worker
  // thread: inserts and validation's exact scans leave the serving thread (same options as `create`).
  // The exact backend (dev mode) builds on the serving thread in slices of 32 inserts.
  const indexManager = new IndexManager({
    dims: E,
    metric: 'ip',
    create,
    buildChunk: 32,
    ...(ann === 'usearch' ? { buildIn: 'worker' as const, spec: { backend: 'usearch' as const, maxK: 2000, ...ef } } : {}),
    ...(ann === 'hnswlib' ? { buildIn: 'worker' as const, spec: { backend: 'hnswlib' as const, ...hnswOpts } } : {}),
  });
  const tIndex = performance.now();
  const build = { ids, vectors: itemEmb, version: mm.version };
  // A large HNSW build takes minutes: build it once per (models, catalog, backend) and reuse it from disk.
  const cacheDir =
    ann !== 'exact' && N > 50_000
      ? join(dataDir, 'ann-cache', `${mm.version}-${data.manifest.key}-${ann === 'ivf' ? `ivf-l${ivfLists}-p${IVF_PROBES}-i8` : ann}`)
      : undefined;
  let swap =
    cacheDir !== undefined && existsSync(join(cacheDir, 'manifest.json'))
      ? // the loaded index shares this module's id strings instead of holding a second million
        await indexManager.loadAndOffer(cacheDir, build, {
          internIds: (id) => {
            const i = itemRow(id, N);
            return i < 0 ? id : (ids[i] as string);
          },
        })
      : undefined;
  if (swap !== undefined && !swap.accepted) log(`cached index refused (${swap.reason ?? 'unknown'}); rebuilding`);
  if (swap === undefined || !swap.accepted) {
    swap = large ? await indexManager.offer(await bulkBuild(create(), ids, itemEmb, E, log), build) : await indexManager.rebuild(build);
    // best effort: a failed save (disk full, a second worker saving the same version) only costs a rebuild next time
    if (swap.accepted && cacheDir !== undefined) {
      await indexManager
        .current()
        .save(cacheDir)
        .catch((e: unknown) => log(`index cache not written: ${(e as Error).message}`));
    }
  }
  if (!swap.accepted) throw new Error(`item index refused: ${swap.reason ?? 'unknown'}`);
  if (ann === 'ivf') ivfCentroids = (indexManager.current() as IvfIndex).centroids();
  log(`item index (${ann}, ${N} items) in service in ${ms(tIndex)}`);

  // ---- user tower ----
  const towerFile = JSON.parse(readFileSync(join(mdir, mm.models.userTower.featureSpec), 'utf8')) as UserTowerFeatureFile;
  const contentTable = { ids, vectors: data.itemContent, dims: D };
  const towerFeatures = towerFile.features.map((f) =>
    f['kind'] === 'ids' ? ({ ...f, table: contentTable } as unknown as UserTowerFeature) : (f as unknown as UserTowerFeature),
  );
  const encoder = await OnnxUserTower.create({ model: join(mdir, mm.models.userTower.onnx), features: towerFeatures, normalize: false });
  let userReadsDown = false;
  // Three homepage sources (two-tower, fresh, cold-start) read the same user row: one store read
  // per request, shared through the request's scratch state.
  const readUser = (ctx: StageContext, userId: string): ReturnType<typeof readUserRow> => {
    const key = `vp:userRow:${userId}`;
    let p = ctx.state.get(key) as ReturnType<typeof readUserRow> | undefined;
    if (p === undefined) {
      p = readUserRow(ctx, userId);
      ctx.state.set(key, p);
    }
    return p;
  };
  const readUserRow = async (ctx: StageContext, userId: string) => {
    if (userReadsDown) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_FEATURES_DOWN', 'feature store unavailable (simulated outage)', {
        stage: 'retrieval',
      });
    }
    const b = await featureStore.read({ userId, itemIds: [] }, { signal: ctx.signal, maxGroupTimeoutMs: Math.max(1, ctx.remainingMs()) });
    // A user group that timed out or failed is not an absent user: fail the sources that need the
    // row (visible as a source error and a degradation) rather than serve a known user as cold.
    if (b.missingGroups.size > 0) {
      const why = [...b.missingGroups].map(([g, r]) => `${g}:${r}`).join(',');
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_USER_READ', `user feature read incomplete (${why})`, { stage: 'retrieval' });
    }
    if (Object.keys(b.user).length === 0) return undefined;
    const recent = b.user['recent_items'];
    // The tower reads `history_len` next to `recent_items`: derive it (and the pool) as the fetcher does.
    return Array.isArray(recent) && !b.missingGroups.has(STREAM_GROUPS.user)
      ? { ...b.user, ...derivedHistory(recent as readonly string[], contentOf, categoryOf, histDims) }
      : b.user;
  };
  // The latest publish time of anything in the item index (+∞ once an item outside the catalog
  // is indexed). When the request's clock is past it, every indexed item is published and the
  // ANN searches run without a predicate: a predicate makes the index over-fetch 4× (k = 500 →
  // 2 000 candidates) to make up for rejections that cannot happen.
  let latestIndexedMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < N; i++) latestIndexedMs = Math.max(latestIndexedMs, data.ms(data.itemPublishedS[i] as number));
  const published = (ctx: StageContext): ((id: string) => boolean) | undefined => {
    const now = ctx.request.context?.nowMs ?? clock();
    if (now >= latestIndexedMs) return undefined;
    return (id: string) => ((catalog.get(id)?.publishedAtMs ?? Number.POSITIVE_INFINITY) as number) <= now;
  };
  const twoTower = new TwoTowerSource({ userFeatures: readUser, encoder, index: indexManager, predicate: published });

  // ---- other sources ----
  const popular = new PopularitySource({
    counters,
    cacheTtlMs: opts.popularityCacheMs ?? (opts.mode === 'production' ? 1000 : 0),
  });
  const coldStart = new ColdStartSource({
    counters,
    isCold: async (ctx) => {
      const u = ctx.request.userId;
      if (u === undefined) return true;
      // A user whose row could not be read (timeout) is not known to be cold: no cold-start items,
      // and no error (two-tower already reports the failed read).
      let row: Awaited<ReturnType<typeof readUser>>;
      try {
        row = await readUser(ctx, u);
      } catch (e) {
        if (isRecSpineError(e) && e.code === 'RECSPINE_ERR_VP_USER_READ') return false;
        throw e;
      }
      const recent = row?.['recent_items'];
      return !Array.isArray(recent) || recent.length === 0;
    },
  });
  const fresh = new FreshContentSource({
    dims: D,
    maxAgeMs: 14 * 86_400_000,
    clock,
    history: async (ctx, userId) => {
      const row = await readUser(ctx, userId);
      const recent = row?.['recent_items'];
      return Array.isArray(recent) ? (recent as string[]) : undefined;
    },
    embeddingOf: contentOf,
  });
  for (let i = 0; i < N; i++) {
    const p = data.ms(data.itemPublishedS[i] as number);
    if (p >= splitMs - 14 * 86_400_000) {
      fresh.addItem({ itemId: ids[i] as string, publishedAtMs: p, embedding: contentOf(ids[i] as string) as Float32Array });
    }
  }
  const query = new QuerySource({ boost: { title: 2, tags: 1 } });
  const texts = ids.map((id, i) => ({ itemId: id, ...itemText(data, i) }));
  query.addAll(texts);
  const relatedSearch = new RelatedItemsSource(
    indexManager,
    (id) => {
      const i = itemRow(id, N);
      return i < 0 ? undefined : itemEmb.subarray(i * E, (i + 1) * E);
    },
    published,
  );
  const relatedCacheMs = opts.relatedCacheMs ?? 30_000;
  if (!Number.isFinite(relatedCacheMs) || relatedCacheMs < 0) throw new Error(`relatedCacheMs must be ≥ 0, got ${String(relatedCacheMs)}`);
  const related =
    relatedCacheMs === 0
      ? relatedSearch
      : new CachedSource(relatedSearch, {
          // live requests only (no clock of their own, or the wall clock, as PopularitySource decides)
          key: (ctx) => {
            const at = ctx.request.context?.nowMs;
            const live = at === undefined || Math.abs(at - clock()) <= relatedCacheMs;
            return live && published(ctx) === undefined ? ctx.request.context?.itemId : undefined;
          },
          ttlMs: relatedCacheMs,
          maxEntries: 50_000,
          generation: () => indexManager.version,
          // answers hold catalog rows (an Int32Array), not 300 string pointers each for the GC to mark
          ordinals: { ordinal: (id) => itemRow(id, N), itemId: (row) => ids[row] },
        });

  // ---- rankers ----
  const loadRanker = async (entry: typeof mm.models.fine, name: string, version?: () => string) => {
    const spec = JSON.parse(readFileSync(join(mdir, entry.featureSpec), 'utf8')) as FeatureAssemblerSpec;
    // fine and degraded: the impression log's served features are the matrices these assemblers build
    const assembler = version === undefined ? new FeatureAssembler(spec) : servedFeatures.assembler(spec, name, version);
    if (assembler.width !== entry.inputWidth) throw new Error(`${name}: spec width ${assembler.width} ≠ model input ${entry.inputWidth}`);
    const model = await OnnxModel.load(
      join(mdir, entry.onnx),
      rankSpec(entry.inputWidth, entry.outputs, { ctr: [0, 1], watch: [0, 1], report: [0, 1], satisfaction: [0, 1], score: [0, 1] }),
      { name, version: mm.version },
    );
    closers.push(() => model.release());
    return { model, assembler, spec };
  };
  const servedFeatures = opts.servedFeatures ?? new ServedFeatureTap(false);
  let fineVersion = (): string => mm.version;
  const fineM = await loadRanker(mm.models.fine, 'fine', () => fineVersion());
  // Hot-swappable: pushes of new fine versions go through the registry's spec and smoke checks.
  const fineModels = new ModelRegistry({ name: 'fine', spec: fineM.model.spec });
  await fineModels.load(join(mdir, mm.models.fine.onnx), mm.version);
  fineVersion = () => fineModels.current().version;
  closers.push(() => fineModels.close());
  await fineM.model.release(); // the registry holds its own session (idempotent release)
  const degM = await loadRanker(mm.models.degraded, 'degraded', () => mm.version);
  const coarseM = await loadRanker(mm.models.coarse, 'coarse');
  // The exported `value` output is the objective ctr·(watch + ½ sat − 3 report); the raw heads
  // ride along with weight 0 so they are reported on every candidate.
  const heads = { value: { weight: 1 }, ...Object.fromEntries(HEADS.map((h) => [h, { weight: 0 }])) };
  const fineRanker = new MultiTaskRanker({ model: fineModels, assembler: fineM.assembler, heads });
  const fine = opts.wrapFine ? opts.wrapFine(fineRanker) : fineRanker;
  const degraded = new DegradedModeRanker({ model: degM.model, assembler: degM.assembler, heads });
  const coarseKeep = opts.coarseKeep ?? 200;
  const coarse = new CoarseRanker({ keep: coarseKeep, mlp: { model: coarseM.model, assembler: coarseM.assembler, output: 'score' } });

  // ---- features (online) ----
  // The ranking fetch reads only the groups the fine and degraded models read (see
  // storeGroupsReadBy): not the aggregator's item_stream / creator_stream, which no model reads.
  const rankGroups = storeGroupsReadBy(schema, [fineM.spec, degM.spec], {
    history_pool: STREAM_GROUPS.user,
    history_categories: STREAM_GROUPS.user,
    history_len: STREAM_GROUPS.user,
  });
  const featureFetcher = new HistoryFeatureFetcher(
    new StoreFeatureFetcher(groupsView(featureStore, rankGroups), {
      creatorOf: catalog === columnar ? (id) => columnar.creatorOf(id) : (id) => catalog.get(id)?.creatorId,
    }),
    contentOf,
    categoryOf,
    histDims,
    STREAM_GROUPS.user,
  );

  // ---- re-rank and policy ----
  const policy: PolicyFilter[] = [
    new KidsContentFilter(),
    new RegionRestrictionFilter(),
    new MisinformationFilter(),
    // End-of-video: never the video that just ended.
    new PredicateFilter('not-current-item', (ctx, c) => c.itemId !== ctx.request.context?.itemId),
    new PredicateFilter(
      'published',
      (ctx, c) => (c.meta?.publishedAtMs ?? Number.POSITIVE_INFINITY) <= (ctx.request.context?.nowMs ?? clock()),
    ),
  ];
  const itemStats = new ColumnarItemStats(data.splitImps, data.splitClicks, N);
  const exposure = new InMemoryExposureStore();
  const slots: Record<(typeof SLOTS)[number], SlotConfig> = {
    homepage: {
      sources: [
        { source: twoTower, k: hq.twoTower },
        { source: popular, k: hq.popular },
        { source: fresh, k: hq.fresh },
        { source: coldStart, k: hq.coldStart },
      ],
      coarseKeep,
      rerank: RecommendedChains.homepage({
        policy,
        stats: itemStats,
        mmrLambda: opts.mmrLambda ?? 0.85,
        exploreFraction: opts.exploreFraction ?? 0.1,
        caps: opts.homepageCaps ?? [
          { by: 'creator', maxPerWindow: 1, window: 4 },
          { by: 'category', maxPerWindow: 4, window: 6 },
        ],
        freshness: false,
        ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      }),
    },
    'end-of-video': {
      sources: [
        { source: related, k: 300 },
        { source: twoTower, k: bk.endOfVideo },
        { source: fresh, k: 100 },
      ],
      coarseKeep: Math.min(coarseKeep, 200),
      // context first: what follows a video should relate to it (creator fairness still shapes the order)
      rerank: [...RecommendedChains.endOfVideo({ policy, exposure, freshness: false }), new SourcePriorityGate(related.name)],
    },
    search: {
      sources: [
        { source: query, k: 300 },
        { source: twoTower, k: bk.search },
      ],
      coarseKeep: Math.min(coarseKeep, 200),
      // relevance gate last, so MMR diversifies within the query matches and cannot interleave non-matches
      rerank: [
        ...RecommendedChains.search({ policy }),
        new SourcePriorityGate(query.name, { minRelativeScore: opts.searchMinRelativeScore ?? SEARCH_MIN_RELATIVE_SCORE }),
      ],
    },
  };
  const config: RecommenderConfig = {
    slaMs,
    budgets,
    shared: { features: featureFetcher, coarse, fine, degraded, policy, catalog },
    slots,
    ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
    ...(opts.breakers === undefined ? {} : { breakers: opts.breakers }),
  };
  const recommender = createRecommender(config);
  coarse.bindTo(recommender, [...SLOTS]);

  const sampleUsers: { userId: string; context: NonNullable<StageContext['request']['context']> }[] = [];
  for (let u = 0; u < Math.min(data.nUsers, 200); u++) {
    const c = data.contextRow(u, splitMs);
    sampleUsers.push({
      userId: `u${u}`,
      context: { ...c, attributes: { kids: data.userAgeBand[u] === 0 } },
    });
  }
  const sampleItems: string[] = [];
  for (let r = 0; r < 200 && r < N; r++) sampleItems.push(ids[Math.floor((r * N) / 200)] as string);
  const sampleQueries = [...new Set(texts.slice(0, 400).map((t) => t.title.split(' ').slice(1).join(' ')))].slice(0, 50);

  const aggregatorSinks: VideoAggregatorSinks = {
    popularity: counters,
    itemStats,
    exposure,
    publish: (it) => {
      fresh.addItem({ itemId: it.itemId, publishedAtMs: it.publishedAtMs, embedding: it.embedding });
      query.addItem({ itemId: it.itemId, title: it.title, ...(it.tags === undefined ? {} : { tags: it.tags }) });
      if (it.embedding.length === E) {
        const known = catalog.get(it.itemId)?.publishedAtMs;
        latestIndexedMs = known === undefined ? Number.POSITIVE_INFINITY : Math.max(latestIndexedMs, known, it.publishedAtMs);
        indexManager.upsert(it.itemId, it.embedding);
      }
    },
  };
  return {
    recommender,
    config,
    featureStore,
    featureFetcher,
    fineModels,
    simulateOutage: (scope) => {
      featureFetcher.setAvailable(scope === 'none');
      userReadsDown = scope === 'all';
    },
    sources: { twoTower, popular, fresh, coldStart, query, related },
    relatedCacheStats: () => (related instanceof CachedSource ? related.stats() : { hits: 0, misses: 0, bypassed: 0, size: 0 }),
    aggregatorSinks,
    indexManager,
    catalog,
    world: data,
    sampleUsers,
    sampleItems,
    sampleQueries,
    budgets,
    slaMs,
    homepageQuotas: hq,
    backfillK: bk,
    slots: SLOTS,
    versions: { models: mm.version, world: data.manifest.key },
    composition:
      'features: defineFeatureSchema + streamFeatureGroups + ' +
      (opts.mode === 'production' ? 'RedisFeatureStore' : 'InMemoryFeatureStore') +
      ' + StoreFeatureFetcher (local wrapper derives history_pool/history_len from recent_items); retrieval: OnnxUserTower + TwoTowerSource over IndexManager(' +
      (ann === 'usearch' ? 'UsearchIndex' : ann === 'hnswlib' ? 'HnswlibIndex' : ann === 'ivf' ? 'IvfIndex' : 'ExactIndex') +
      '), PopularitySource, ColdStartSource, FreshContentSource, QuerySource, ' +
      (opts.mode === 'production' ? 'RedisPopularityCounters' : 'InMemoryPopularityCounters') +
      ', RelatedItemsSource (local adapter: item-embedding neighbours of the just-watched item); rank: CoarseRanker (ONNX MLP), MultiTaskRanker, DegradedModeRanker, FeatureAssembler from the exported specs; rerank: RecommendedChains homepage/endOfVideo/search + Kids/Region/Misinformation/Predicate(published) filters',
    close: async () => {
      for (const c of closers.reverse()) await c().catch(() => undefined);
    },
  };
}

/**
 * Local adapter: the end-of-video "related" source — nearest neighbours (inner product) of the
 * just-watched item's two-tower embedding (`request.context.itemId`) in the item index, itself
 * excluded. Hand-written because the retrieval package has no item-to-item source yet.
 */
class RelatedItemsSource implements RetrievalSource {
  readonly name = 'related';
  constructor(
    private readonly index: IndexManager,
    private readonly embeddingOf: (itemId: string) => Float32Array | undefined,
    private readonly allowed: (ctx: StageContext) => ((id: string) => boolean) | undefined,
  ) {}
  async retrieve(ctx: StageContext, k: number): Promise<readonly RetrievedItem[]> {
    const seed = ctx.request.context?.itemId;
    if (seed === undefined || k <= 0) return [];
    const v = this.embeddingOf(seed);
    if (v === undefined) return [];
    const ok = this.allowed(ctx);
    // Without a publish filter, ask for one more and drop the seed (no predicate, no over-fetch).
    const hits =
      ok === undefined
        ? (await this.index.search(v, k + 1)).filter((h) => h.itemId !== seed)
        : await this.index.search(v, k + 1, { predicate: (id) => id !== seed && ok(id) });
    return hits.slice(0, k).map((h) => ({ itemId: h.itemId, score: h.score }));
  }
}

/**
 * Takes the seed lock (`SET NX`, 60 s expiry kept alive by {@link holdSeedLock} while seeding):
 * `taken` — this process seeds; `peer-done` — another process held it, and this one waited until
 * it was released (bounded: 30 min, then it seeds itself).
 */
async function takeSeedLock(client: Redis, key: string, log: (l: string) => void): Promise<'taken' | 'peer-done'> {
  if ((await client.set(key, String(process.pid), 'PX', 60_000, 'NX')) === 'OK') return 'taken';
  log(`waiting for another process to finish seeding (${key})`);
  const until = Date.now() + 30 * 60_000;
  while (Date.now() < until && (await client.exists(key)) === 1) await sleep(500);
  return 'peer-done';
}

/** Keeps the seed lock alive while seeding; the returned function releases it. */
function holdSeedLock(client: Redis, key: string): () => Promise<void> {
  const timer = setInterval(() => void client.pexpire(key, 60_000).catch(() => undefined), 10_000);
  return async () => {
    clearInterval(timer);
    await client.del(key).catch(() => undefined);
  };
}

function categoryOneHot(data: WorldData, i: number): Float32Array {
  const v = new Float32Array(data.nCategories);
  v[data.itemCategory[i] as number] = 1;
  return v;
}

/** Writes the world's feature-store snapshot at the split (profiles, recent items, item stats, content, creators). */
async function seedFeatureStore(store: FeatureStore, data: WorldData, nItems = data.nItems, realItems = data.nItems): Promise<void> {
  const muts: FeatureMutation[] = [];
  const flush = async (force = false) => {
    if (muts.length >= 4000 || (force && muts.length > 0)) {
      await store.write(muts.splice(0, muts.length));
    }
  };
  for (let u = 0; u < data.nUsers; u++) {
    const row = data.userRow(u);
    muts.push({
      entity: 'user',
      id: `u${u}`,
      group: GROUPS.userProfile,
      set: {
        region: row['region'] as string,
        device: row['device'] as string,
        language: row['language'] as string,
        age_band: row['age_band'] as string,
      },
    });
    const recent = row['recent_items'] as string[];
    if (recent.length > 0) muts.push({ entity: 'user', id: `u${u}`, group: STREAM_GROUPS.user, set: { recent_items: recent } });
    await flush();
  }
  for (let i = 0; i < nItems; i++) {
    const stats = itemStatsRow(data.splitImps[i] as number, data.splitClicks[i] as number, data.splitWatch[i] as number);
    muts.push({ entity: 'item', id: `v${i}`, group: GROUPS.itemStats, set: stats });
    // Synthetic items of a padded catalog: built here, not through `itemStatic`, whose per-item
    // cache would keep a million rows (and their one-hot arrays) alive in the serving heap.
    const D = data.dim;
    const st =
      i < realItems
        ? data.itemStatic(i)
        : { content: data.itemContent.subarray(i * D, (i + 1) * D), category_onehot: categoryOneHot(data, i) };
    muts.push({
      entity: 'item',
      id: `v${i}`,
      group: GROUPS.itemContent,
      set: { content: st['content'] as Float32Array, category_onehot: st['category_onehot'] as Float32Array },
    });
    await flush();
  }
  for (let c = 0; c < data.creatorFollowers.length; c++) {
    muts.push({
      entity: 'creator',
      id: `c${c}`,
      group: GROUPS.creator,
      set: { log1p_followers: Math.log1p(data.creatorFollowers[c] as number) },
    });
    await flush();
  }
  await flush(true);
}

/**
 * Seeds popularity counters from the training window's clicks, at their event times, in the
 * segments the popularity and cold-start sources read: `global`, `region:R`, `language:L`,
 * `device:D`, `region:R|language:L`, `region:R|device:D`.
 */
async function seedPopularity(
  counters: PopularityCounters,
  data: WorldData,
  nItems: number,
  realItems: number,
  splitMs: number,
): Promise<void> {
  const imp = data.impressions;
  const ses = data.sessions;
  const trainN = data.manifest.counts.trainImpressions;
  let batch: PopularityUpdate[] = [];
  for (let r = 0; r < trainN; r++) {
    if (imp.click[r] !== 1) continue;
    const s = imp.session[r] as number;
    const u = ses.user[s] as number;
    const itemId = `v${imp.item[r] as number}`;
    const atMs = data.ms(ses.timeS[s] as number);
    const R = data.regionNames[ses.region[s] as number] as string;
    const L = data.languageNames[data.userLanguage[u] as number] as string;
    const Dv = data.deviceNames[ses.device[s] as number] as string;
    for (const segment of [
      'global',
      `region:${R}`,
      `language:${L}`,
      `device:${Dv}`,
      `region:${R}|language:${L}`,
      `region:${R}|device:${Dv}`,
    ])
      batch.push({ itemId, segment, weight: 1, atMs });
    if (batch.length >= 6000) {
      await counters.incrementBatch(batch);
      batch = [];
    }
  }
  // Synthetic items of a padded catalog: their source item's training-window clicks, at the
  // split, in the global and item-language segments.
  for (let i = realItems; i < nItems; i++) {
    const clicks = data.splitClicks[i] as number;
    if (!(clicks > 0)) continue;
    const itemId = `v${i}`;
    const L = data.languageNames[data.itemLanguage[i] as number] as string;
    batch.push(
      { itemId, segment: 'global', weight: clicks, atMs: splitMs },
      { itemId, segment: `language:${L}`, weight: clicks, atMs: splitMs },
    );
    if (batch.length >= 6000) {
      await counters.incrementBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await counters.incrementBatch(batch);
}

/**
 * The first build of a large index, before the server is ready: chunks of 50 000 (usearch inserts
 * a chunk on every core), not the manager's small serving-time chunks, with progress lines.
 */
async function bulkBuild(
  index: AnnIndex,
  ids: readonly string[],
  vectors: Float32Array,
  dims: number,
  log: (l: string) => void,
): Promise<AnnIndex> {
  const chunk = 50_000;
  const t0 = performance.now();
  for (let off = 0; off < ids.length; off += chunk) {
    const end = Math.min(ids.length, off + chunk);
    index.upsertBatch(ids.slice(off, end), vectors.subarray(off * dims, end * dims));
    if (end % 200_000 === 0 || end === ids.length) log(`item index: ${end} / ${ids.length} inserted (${ms(t0)})`);
    await new Promise((r) => setImmediate(r));
  }
  return index;
}

function ms(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(1)} s`;
}
