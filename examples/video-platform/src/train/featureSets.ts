import type { FeatureAssemblerSpec, FeatureSpec as RankFeature, Normalization } from '@recspine/rank';
import type { UserTowerFeature } from '@recspine/retrieval';

export { SMOOTHING, catalogAttributes, itemStatsRow } from '../world/featureRows.js';

/** World dimensions a feature set needs. */
export interface Dims {
  readonly dim: number;
  readonly categories: number;
  readonly regions: number;
  readonly languages: number;
  readonly devices: number;
  readonly ageBands: number;
  readonly historyLength: number;
  /** Two-tower embedding width (default 32). */
  readonly embeddingDim?: number;
}

/** The multi-task heads, in output order. */
export const HEADS = ['ctr', 'watch', 'report', 'satisfaction'] as const;
/** A head name. */
export type Head = (typeof HEADS)[number];

/**
 * Feature-store groups (what goes missing together) and the feature names in them. These are the
 * names the world snapshot, the serving module's store writers and the models share:
 *
 * - user `user_profile`: `region`, `device`, `language`, `age_band` (strings);
 * - user `user_stream` (the stream aggregator's group): `recent_items` (item ids, most recent
 *   first); `history_pool` (mean content embedding of the first `historyLength` of them),
 *   `history_categories` (their share per category) and `history_len` are derived from it when
 *   the row is fetched (serving) or logged (training);
 * - item `item_stats`: `impressions`, `clicks`, `watch_sum` and the precomputed
 *   `log1p_impressions`, `smoothed_ctr`, `smoothed_watch` (see `itemStatsRow`);
 * - item `item_content`: `content` (the observable content embedding) and `category_onehot`;
 * - creator `creator` (creator entity, prefixed `creator_` in item rows): `log1p_followers`, read
 *   as `creator_log1p_followers`.
 *
 * In-process (no feature store): the catalog's `ItemMeta` (`category`, `language`, `publishedAtMs`,
 * `embedding` = the item-tower embedding, and `attributes` with the daily catalog snapshot
 * `catalog_log1p_impressions`, `catalog_smoothed_ctr`, `catalog_smoothed_watch`,
 * `log1p_creator_followers`), the request context, and `ctx.state.userEmbedding` (two-tower).
 */
export const GROUPS = {
  userProfile: 'user_profile',
  /** The stream aggregator's user group (`STREAM_GROUPS.user`): holds `recent_items`. */
  userHistory: 'user_stream',
  itemStats: 'item_stats',
  itemContent: 'item_content',
  creator: 'creator',
  /** Pseudo-group of the per-candidate two-tower score (only dropped in training). */
  retrieval: 'retrieval',
} as const;

/** The groups a fine-ranker serving path may lose (and that training drops at random, per request). */
export const DROPPABLE_GROUPS = [GROUPS.userProfile, GROUPS.userHistory, GROUPS.itemStats, GROUPS.creator, GROUPS.itemContent] as const;

/** `ctx.state` key of the user embedding (the retrieval package's `USER_EMBEDDING_STATE_KEY`). */
export const USER_EMBEDDING_STATE = 'userEmbedding';

const labels = (p: string, n: number): string[] => Array.from({ length: n }, (_, k) => `${p}${k}`);

/** Fitted z-score parameters by feature name (filled in by the trainer from training rows). */
export type Norms = Readonly<Record<string, { readonly mean: number; readonly std: number }>>;

function z(norms: Norms | undefined, name: string): { normalize?: Normalization } {
  const n = norms?.[name];
  return n === undefined ? {} : { normalize: { kind: 'zscore', mean: n.mean, std: n.std } };
}

/** Names of the numeric features whose z-score the trainer fits. */
export const ZSCORED = [
  'item.log1p_impressions',
  'item.smoothed_ctr',
  'item.smoothed_watch',
  'item.log1p_creator_followers',
  'catalog.log1p_impressions',
  'catalog.smoothed_ctr',
  'catalog.smoothed_watch',
  'catalog.log1p_creator_followers',
  /** Only the user tower's `history_len` (log1p, then shift/scale). */
  'user.history_len',
] as const;

function catalogFeatures(d: Dims): RankFeature[] {
  return [
    {
      kind: 'category',
      name: 'item.category',
      from: 'candidate',
      key: 'meta.category',
      vocabulary: labels('k', d.categories),
      encoding: 'onehot',
      missingIndicator: false,
    },
    {
      kind: 'category',
      name: 'item.language',
      from: 'candidate',
      key: 'meta.language',
      vocabulary: labels('l', d.languages),
      encoding: 'onehot',
      missingIndicator: false,
    },
    // Item age at the request time (request nowMs − publishedAtMs), ln(1 + hours).
    {
      kind: 'numeric',
      name: 'candidate.age',
      from: 'candidate',
      key: 'meta.ageHours',
      normalize: { kind: 'log1p' },
      missingIndicator: false,
    },
  ];
}

function catalogStats(norms: Norms | undefined): RankFeature[] {
  return [
    {
      kind: 'numeric',
      name: 'catalog.log1p_impressions',
      from: 'candidate',
      key: 'meta.attributes.catalog_log1p_impressions',
      ...z(norms, 'catalog.log1p_impressions'),
    },
    {
      kind: 'numeric',
      name: 'catalog.smoothed_ctr',
      from: 'candidate',
      key: 'meta.attributes.catalog_smoothed_ctr',
      ...z(norms, 'catalog.smoothed_ctr'),
      missingIndicator: false,
    },
    {
      kind: 'numeric',
      name: 'catalog.smoothed_watch',
      from: 'candidate',
      key: 'meta.attributes.catalog_smoothed_watch',
      ...z(norms, 'catalog.smoothed_watch'),
      missingIndicator: false,
    },
    {
      kind: 'numeric',
      name: 'catalog.log1p_creator_followers',
      from: 'candidate',
      key: 'meta.attributes.log1p_creator_followers',
      ...z(norms, 'catalog.log1p_creator_followers'),
      missingIndicator: false,
    },
  ];
}

const ttScore: RankFeature = {
  kind: 'dot',
  name: 'cross.two_tower',
  a: { from: 'state', key: USER_EMBEDDING_STATE },
  b: { from: 'candidate', key: 'meta.embedding' },
  group: GROUPS.retrieval,
};
const contextLanguageMatch: RankFeature = {
  kind: 'match',
  name: 'cross.context_language_match',
  a: { from: 'context', key: 'language' },
  b: { from: 'candidate', key: 'meta.language' },
  missingIndicator: false,
};

/**
 * The user tower's input, in the retrieval package's `OnnxUserTower` format: profile one-hots
 * (+ an out-of-vocabulary slot each), the mean content embedding of `recent_items` (an `ids`
 * lookup over the item content table, decay 1 = mean pooling) and `history_len` (log1p, shifted
 * and scaled by the fitted `user.history_len` norm). `contentTable` is filled in at load time.
 */
export function userTowerFeatures(
  d: Dims,
  contentTable: { readonly ids: readonly string[]; readonly vectors: Float32Array; readonly dims: number },
  norms: Norms | undefined,
): UserTowerFeature[] {
  const hl = norms?.['user.history_len'];
  return [
    { name: 'region', kind: 'category', vocabulary: labels('r', d.regions) },
    { name: 'device', kind: 'category', vocabulary: labels('d', d.devices) },
    { name: 'language', kind: 'category', vocabulary: labels('l', d.languages) },
    { name: 'age_band', kind: 'category', vocabulary: labels('a', d.ageBands) },
    { name: 'recent_items', kind: 'ids', table: contentTable, decay: 1, maxLen: d.historyLength },
    { name: 'history_len', kind: 'number', log1p: true, shift: hl?.mean ?? 0, scale: hl?.std ?? 1 },
    { name: 'history_categories', kind: 'vector', dims: d.categories },
  ];
}

/** Item tower input (embeddings exported for the ANN index): catalog only, so it is rank-spec shaped. */
export function itemTowerSpec(d: Dims, norms?: Norms): FeatureAssemblerSpec {
  return {
    maxBatch: 4096,
    features: [
      ...catalogFeatures(d).filter((f) => f.name !== 'candidate.age'),
      { kind: 'vector', name: 'item.content', from: 'item', key: 'content', dim: d.dim, missingIndicator: false },
      ...catalogStats(norms),
    ],
  };
}

/** The multi-task fine ranker: every online feature group, cross features, the two-tower score. */
export function fineSpec(d: Dims, norms?: Norms): FeatureAssemblerSpec {
  return {
    maxBatch: 2048,
    features: [
      {
        kind: 'category',
        name: 'user.region',
        from: 'user',
        key: 'region',
        vocabulary: labels('r', d.regions),
        encoding: 'onehot',
        group: GROUPS.userProfile,
      },
      {
        kind: 'category',
        name: 'user.device',
        from: 'user',
        key: 'device',
        vocabulary: labels('d', d.devices),
        encoding: 'onehot',
        group: GROUPS.userProfile,
        missingIndicator: false,
      },
      {
        kind: 'category',
        name: 'user.language',
        from: 'user',
        key: 'language',
        vocabulary: labels('l', d.languages),
        encoding: 'onehot',
        group: GROUPS.userProfile,
        missingIndicator: false,
      },
      {
        kind: 'category',
        name: 'user.age_band',
        from: 'user',
        key: 'age_band',
        vocabulary: labels('a', d.ageBands),
        encoding: 'onehot',
        group: GROUPS.userProfile,
        missingIndicator: false,
      },
      { kind: 'vector', name: 'user.history_pool', from: 'user', key: 'history_pool', dim: d.dim, group: GROUPS.userHistory },
      {
        kind: 'numeric',
        name: 'user.history_len',
        from: 'user',
        key: 'history_len',
        normalize: { kind: 'log1p' },
        group: GROUPS.userHistory,
        missingIndicator: false,
      },
      {
        kind: 'vector',
        name: 'user.history_categories',
        from: 'user',
        key: 'history_categories',
        dim: d.categories,
        group: GROUPS.userHistory,
        missingIndicator: false,
      },
      {
        kind: 'dot',
        name: 'cross.history_category_share',
        a: { from: 'user', key: 'history_categories' },
        b: { from: 'item', key: 'category_onehot' },
        group: GROUPS.userHistory,
        missingIndicator: false,
      },
      { kind: 'vector', name: 'item.content', from: 'item', key: 'content', dim: d.dim, group: GROUPS.itemContent },
      {
        kind: 'dot',
        name: 'cross.history_content',
        a: { from: 'user', key: 'history_pool' },
        b: { from: 'item', key: 'content' },
        group: GROUPS.userHistory,
        missingIndicator: false,
      },
      ...catalogFeatures(d),
      {
        kind: 'numeric',
        name: 'item.log1p_impressions',
        from: 'item',
        key: 'log1p_impressions',
        ...z(norms, 'item.log1p_impressions'),
        group: GROUPS.itemStats,
      },
      {
        kind: 'numeric',
        name: 'item.smoothed_ctr',
        from: 'item',
        key: 'smoothed_ctr',
        ...z(norms, 'item.smoothed_ctr'),
        group: GROUPS.itemStats,
        missingIndicator: false,
      },
      {
        kind: 'numeric',
        name: 'item.smoothed_watch',
        from: 'item',
        key: 'smoothed_watch',
        ...z(norms, 'item.smoothed_watch'),
        group: GROUPS.itemStats,
        missingIndicator: false,
      },
      {
        kind: 'numeric',
        name: 'item.log1p_creator_followers',
        from: 'item',
        key: 'creator_log1p_followers',
        ...z(norms, 'item.log1p_creator_followers'),
        group: GROUPS.creator,
      },
      {
        kind: 'match',
        name: 'cross.language_match',
        a: { from: 'user', key: 'language' },
        b: { from: 'candidate', key: 'meta.language' },
        group: GROUPS.userProfile,
        missingIndicator: false,
      },
      ttScore,
    ],
  };
}

/**
 * The degraded-mode ranker: only what exists when the feature store is down — the request
 * context, the in-process catalog (incl. its daily snapshot), the two-tower score and the
 * two-tower user embedding (`ctx.state`).
 */
export function degradedSpec(d: Dims, norms?: Norms): FeatureAssemblerSpec {
  return {
    maxBatch: 2048,
    features: [
      {
        kind: 'category',
        name: 'context.region',
        from: 'context',
        key: 'region',
        vocabulary: labels('r', d.regions),
        encoding: 'onehot',
        missingIndicator: false,
      },
      {
        kind: 'category',
        name: 'context.device',
        from: 'context',
        key: 'device',
        vocabulary: labels('d', d.devices),
        encoding: 'onehot',
        missingIndicator: false,
      },
      {
        kind: 'category',
        name: 'context.language',
        from: 'context',
        key: 'language',
        vocabulary: labels('l', d.languages),
        encoding: 'onehot',
        missingIndicator: false,
      },
      ...catalogFeatures(d),
      ...catalogStats(norms),
      contextLanguageMatch,
      ttScore,
      // The two-tower user embedding itself (in-process: retrieval computed it), so the degraded
      // model keeps a compressed view of the user when the online features are gone.
      {
        kind: 'vector',
        name: 'state.user_embedding',
        from: 'state',
        key: USER_EMBEDDING_STATE,
        dim: d.embeddingDim ?? 32,
        group: GROUPS.retrieval,
        missingIndicator: false,
      },
    ],
  };
}

/** The coarse ranker: tiny, catalog + two-tower score only. Output `score`. */
export function coarseSpec(d: Dims, norms?: Norms): FeatureAssemblerSpec {
  return {
    maxBatch: 4096,
    features: [ttScore, ...catalogFeatures(d).filter((f) => f.name === 'candidate.age'), ...catalogStats(norms), contextLanguageMatch],
  };
}
