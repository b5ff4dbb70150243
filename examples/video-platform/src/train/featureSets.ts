import type { ColumnDef, FeatureSpec } from './FeatureSpec.js';
import { defineSpec } from './FeatureSpec.js';

type Col = ColumnDef & { name: string; group: string };

/** World dimensions a feature set needs. */
export interface Dims {
  readonly dim: number;
  readonly categories: number;
  readonly regions: number;
  readonly languages: number;
  readonly devices: number;
  readonly ageBands: number;
}

/** The multi-task heads, in output order. */
export const HEADS = ['ctr', 'watch', 'report', 'satisfaction'] as const;
/** A head name. */
export type Head = (typeof HEADS)[number];

/**
 * Feature groups (what the feature store returns, and what goes missing together):
 * - `user_profile`: region, device, language, age band (user row);
 * - `user_history`: the pooled recent-history content embedding `history_pool` and `history_len`;
 * - `item_static`: category, language, publish time, content embedding (catalog);
 * - `item_stats`: served counters `impressions`, `clicks`, `watch_sum` (the slow, streaming group);
 * - `creator`: `creator_followers`;
 * - `context`: request context (`region`, `device`, `language`, `now_ms`);
 * - `retrieval`: per-candidate retrieval signals (`tt_score` = user embedding · item embedding).
 *
 * The groups a fine-ranker serving path may lose (and that training drops at random).
 */
export const DROPPABLE_GROUPS = ['user_profile', 'user_history', 'item_stats', 'creator'] as const;

const u = (feature: string) => ({ entity: 'user' as const, feature });
const it = (feature: string) => ({ entity: 'item' as const, feature });
const cx = (feature: string) => ({ entity: 'context' as const, feature });
const cand = (feature: string) => ({ entity: 'candidate' as const, feature });

function onehots(
  name: string,
  ref: { entity: 'user' | 'item' | 'context'; feature: string },
  prefix: string,
  n: number,
  group: string,
): Col[] {
  return Array.from({ length: n }, (_, k) => ({
    kind: 'onehot' as const,
    ref,
    value: `${prefix}${k}`,
    name: `${name}=${prefix}${k}`,
    group,
  }));
}
function vector(name: string, ref: { entity: 'user' | 'item'; feature: string }, n: number, group: string): Col[] {
  return Array.from({ length: n }, (_, k) => ({ kind: 'vector' as const, ref, offset: k, name: `${name}[${k}]`, group }));
}

function userProfile(d: Dims): Col[] {
  return [
    ...onehots('user.region', u('region'), 'r', d.regions, 'user_profile'),
    ...onehots('user.device', u('device'), 'd', d.devices, 'user_profile'),
    ...onehots('user.language', u('language'), 'l', d.languages, 'user_profile'),
    ...onehots('user.age_band', u('age_band'), 'a', d.ageBands, 'user_profile'),
  ];
}
function userHistory(d: Dims): Col[] {
  return [
    ...vector('user.history_pool', u('history_pool'), d.dim, 'user_history'),
    { kind: 'numeric', ref: u('history_len'), transform: 'log1p', name: 'user.log1p_history_len', group: 'user_history' },
  ];
}
function itemStats(prefix: 'item' | 'catalog'): Col[] {
  const g = prefix === 'item' ? 'item_stats' : 'item_static';
  return [
    { kind: 'numeric', ref: it('impressions'), transform: 'log1p', name: `${prefix}.log1p_impressions`, group: g },
    { kind: 'ratio', num: it('clicks'), den: it('impressions'), prior: 0.03, strength: 50, name: `${prefix}.smoothed_ctr`, group: g },
    { kind: 'ratio', num: it('watch_sum'), den: it('clicks'), prior: 0.4, strength: 5, name: `${prefix}.smoothed_watch`, group: g },
  ];
}
const followers: Col = {
  kind: 'numeric',
  ref: it('creator_followers'),
  transform: 'log1p',
  name: 'item.log1p_creator_followers',
  group: 'creator',
};
const age: Col = { kind: 'age_days', ref: it('published_at_ms'), now: cx('now_ms'), name: 'item.log1p_age_days', group: 'item_static' };

/** User tower input: profile + pooled recent history (so a fresh watch moves the embedding). Output `embedding`. */
export function userTowerSpec(d: Dims): FeatureSpec {
  return defineSpec(
    'user_tower',
    [
      ...userProfile(d),
      ...userHistory(d),
      { kind: 'missing', group: 'user_profile', name: 'missing:user_profile' },
      { kind: 'missing', group: 'user_history', name: 'missing:user_history' },
    ],
    ['embedding'],
  );
}

/** Item tower input (embeddings exported for the ANN index). Stats are the catalog snapshot at the split. */
export function itemTowerSpec(d: Dims): FeatureSpec {
  return defineSpec(
    'item_tower',
    [
      ...onehots('item.category', it('category'), 'k', d.categories, 'item_static'),
      ...onehots('item.language', it('language'), 'l', d.languages, 'item_static'),
      ...vector('item.content', it('content'), d.dim, 'item_static'),
      { ...followers, group: 'item_static' },
      ...itemStats('catalog'),
    ],
    ['embedding'],
  );
}

/** The multi-task fine ranker: every online feature group, cross features, and missing indicators. */
export function fineSpec(d: Dims): FeatureSpec {
  return defineSpec(
    'fine',
    [
      ...userProfile(d),
      ...userHistory(d),
      ...onehots('item.category', it('category'), 'k', d.categories, 'item_static'),
      ...onehots('item.language', it('language'), 'l', d.languages, 'item_static'),
      ...vector('item.content', it('content'), d.dim, 'item_static'),
      age,
      ...itemStats('item'),
      followers,
      { kind: 'dot', left: u('history_pool'), right: it('content'), name: 'cross.history_dot_content', group: 'user_history' },
      { kind: 'match', left: u('language'), right: it('language'), name: 'cross.language_match', group: 'user_profile' },
      ...DROPPABLE_GROUPS.map((g): Col => ({ kind: 'missing', group: g, name: `missing:${g}` })),
    ],
    HEADS,
  );
}

/**
 * The degraded-mode ranker: only what exists when the feature store is down — the request
 * context, the in-process catalog (incl. its daily popularity snapshot) and the retrieval score.
 */
export function degradedSpec(d: Dims): FeatureSpec {
  return defineSpec(
    'degraded',
    [
      ...onehots('context.region', cx('region'), 'r', d.regions, 'context'),
      ...onehots('context.device', cx('device'), 'd', d.devices, 'context'),
      ...onehots('context.language', cx('language'), 'l', d.languages, 'context'),
      ...onehots('item.category', it('category'), 'k', d.categories, 'item_static'),
      ...onehots('item.language', it('language'), 'l', d.languages, 'item_static'),
      age,
      ...itemStats('catalog'),
      { ...followers, group: 'item_static' },
      { kind: 'match', left: cx('language'), right: it('language'), name: 'cross.context_language_match', group: 'context' },
      { kind: 'numeric', ref: cand('tt_score'), name: 'candidate.tt_score', group: 'retrieval' },
      { kind: 'missing', group: 'retrieval', name: 'missing:retrieval' },
    ],
    HEADS,
  );
}

/** The coarse ranker: tiny, catalog + retrieval score only. Output `score`. */
export function coarseSpec(): FeatureSpec {
  return defineSpec(
    'coarse',
    [
      { kind: 'numeric', ref: cand('tt_score'), name: 'candidate.tt_score', group: 'retrieval' },
      age,
      { ...followers, group: 'item_static' },
      ...itemStats('catalog'),
      { kind: 'match', left: cx('language'), right: it('language'), name: 'cross.context_language_match', group: 'context' },
      { kind: 'missing', group: 'retrieval', name: 'missing:retrieval' },
    ],
    ['score'],
  );
}
