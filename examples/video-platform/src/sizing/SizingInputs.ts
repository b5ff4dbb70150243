/**
 * The sizing calculator's inputs: traffic, candidate counts, feature and catalog shape. These are
 * assumptions about the platform being sized, never measurements; every per-node throughput and
 * per-operation cost comes from the benchmark JSON files (see `BenchFigures`).
 */
export type Quantization = 'f32' | 'f16' | 'i8';

/** One slot's peak traffic and candidate counts. */
export interface SlotLoad {
  /** Peak requests per second for this slot, before the spike factor. */
  readonly qps: number;
  /** Candidates retrieved (after fusion) per request: what coarse rank scores. */
  readonly retrieved: number;
  /** Candidates kept by coarse rank: what the feature lookup, fine rank and re-rank see. */
  readonly coarseKeep: number;
}

export interface SizingInputs {
  readonly name: string;
  readonly description: string;
  readonly slots: Readonly<Record<string, SlotLoad>>;
  /** Multiplies every slot's QPS and the event rate (1 = steady state). */
  readonly spikeFactor: number;
  /** Online features fetched per candidate (item + creator groups). */
  readonly featuresPerCandidate: number;
  /** Online features of the user + context row. */
  readonly userFeatures: number;
  /** Average encoded bytes per feature value on the wire. */
  readonly bytesPerFeature: number;
  /** Share of item-feature reads served by the local LRU cache (stable groups only). */
  readonly featureCacheHitRate: number;
  /** Items in the ANN index. */
  readonly catalogItems: number;
  readonly embeddingDims: number;
  readonly quantization: Quantization;
  /** Share of requests from users with no history: the two-tower source returns [] without an ANN search. */
  readonly coldUserShare: number;
  /** Events (impressions, clicks, watches…) published per recommendation request. */
  readonly eventsPerRequest: number;
  /** Capacity multiplier over the computed need (1.3 = run at ≤ 77 % of measured capacity). */
  readonly headroom: number;
  /** Cores per rec-service / ANN node. */
  readonly coresPerNode: number;
  /** Memory per ANN node, GiB, and the share usable for index data. */
  readonly annNodeMemoryGiB: number;
  readonly annUsableMemoryShare: number;
  /** Index versions resident at once per shard: serving + previous (rollback) + the one being built. */
  readonly annVersionsResident: number;
  /** Replicas per ANN shard at least (availability). */
  readonly annMinReplicas: number;
  /** NIC of a feature-store node, Gbit/s, and the share of it to plan for. */
  readonly nicGbps: number;
  readonly nicUsableShare: number;
  /** Replicas per Redis master. */
  readonly featureReplicasPerMaster: number;
  /** Kafka partitions per aggregator instance (room to grow without re-partitioning). */
  readonly partitionsPerConsumer: number;
  /** The fine-rank stage budget, ms (DESIGN.md §1): the GPU verdict compares fine-rank time with it. */
  readonly fineBudgetMs: number;
}

const MIX = { homepage: 0.25, 'end-of-video': 0.62, search: 0.13 } as const;

/**
 * Steady state of a 200M-MAU video platform. Traffic assumption (not a measurement):
 * 200M MAU × 45 % daily active = 90M DAU × ~30 recommendation requests a day ÷ 86 400 s
 * ≈ 31 000 QPS on average × 2.5 peak-to-average ≈ 80 000 QPS at peak, split like the example's
 * load mix (homepage 25 %, end-of-video 62 %, search 13 %).
 */
export const STEADY_STATE: SizingInputs = {
  name: 'steady',
  description: '200M MAU, daily peak, 1000 retrieved → coarse keep 200 (end-of-video 150)',
  slots: {
    homepage: { qps: 80_000 * MIX.homepage, retrieved: 1000, coarseKeep: 200 },
    'end-of-video': { qps: 80_000 * MIX['end-of-video'], retrieved: 1000, coarseKeep: 150 },
    search: { qps: 80_000 * MIX.search, retrieved: 1000, coarseKeep: 200 },
  },
  spikeFactor: 1,
  featuresPerCandidate: 71,
  userFeatures: 40,
  bytesPerFeature: 9,
  featureCacheHitRate: 0,
  catalogItems: 100_000_000,
  embeddingDims: 64,
  quantization: 'f16',
  coldUserShare: 0.1,
  eventsPerRequest: 6,
  headroom: 1.3,
  coresPerNode: 16,
  annNodeMemoryGiB: 64,
  annUsableMemoryShare: 0.7,
  annVersionsResident: 3,
  annMinReplicas: 2,
  nicGbps: 10,
  nicUsableShare: 0.6,
  featureReplicasPerMaster: 1,
  partitionsPerConsumer: 2,
  fineBudgetMs: 20,
};

/** A 4× event spike (a live final): traffic and events × 4, coarse keep trimmed 200 → 150 by the load controller. */
export const EVENT_SPIKE: SizingInputs = {
  ...STEADY_STATE,
  name: 'spike-4x',
  description: '4× event spike, coarse keep trimmed 200 → 150 on every slot',
  spikeFactor: 4,
  slots: Object.fromEntries(
    Object.entries(STEADY_STATE.slots).map(([slot, s]) => [slot, { ...s, coarseKeep: Math.min(s.coarseKeep, 150) }]),
  ),
};

/**
 * A new-market launch served from its own region: a 20M-MAU market (a tenth of the platform's
 * traffic) at a 2× launch-day surge, 70 % of users without history (no two-tower search; the
 * popularity and cold-start sources carry them), homepage-heavy, the same global catalog.
 */
export const NEW_MARKET: SizingInputs = {
  ...STEADY_STATE,
  name: 'new-market',
  description: '20M-MAU market launch: 70 % cold users, homepage-heavy, 2× launch surge, same catalog',
  spikeFactor: 2,
  coldUserShare: 0.7,
  slots: {
    homepage: { qps: 8_000 * 0.5, retrieved: 1000, coarseKeep: 200 },
    'end-of-video': { qps: 8_000 * 0.35, retrieved: 1000, coarseKeep: 150 },
    search: { qps: 8_000 * 0.15, retrieved: 1000, coarseKeep: 200 },
  },
};

export const PRESETS: readonly SizingInputs[] = [STEADY_STATE, EVENT_SPIKE, NEW_MARKET];
