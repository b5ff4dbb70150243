import { defineFeatureSchema, streamFeatureGroups, type FeatureGroupSpec, type FeatureSchema } from '../src/index.js';

export const CATEGORIES = ['music', 'gaming', 'news'] as const;

/** A schema like the benchmark's: ~50 item features (packed) + stream groups + user/creator/context groups. */
export function testSchema(opts: { itemTimeoutMs?: number; userTimeoutMs?: number; creatorIdFrom?: boolean } = {}): FeatureSchema {
  const itemFeatures = Array.from({ length: 44 }, (_, i) => ({
    name: `f${i}`,
    type: 'number' as const,
    default: 0,
    freshness: 'stable' as const,
  }));
  const groups: FeatureGroupSpec[] = [
    {
      name: 'item_profile',
      entity: 'item',
      ...(opts.itemTimeoutMs === undefined ? {} : { timeoutMs: opts.itemTimeoutMs }),
      features: [
        ...itemFeatures,
        { name: 'embedding', type: 'vector', dim: 16, default: new Float32Array(16), freshness: 'stable' },
        { name: 'category', type: 'category', default: '', freshness: 'stable' },
        { name: 'creator_id', type: 'category', default: '', freshness: 'stable' },
        { name: 'tags', type: 'idList', default: [], freshness: 'stable' },
      ],
    },
    {
      name: 'user_profile',
      entity: 'user',
      ...(opts.userTimeoutMs === undefined ? {} : { timeoutMs: opts.userTimeoutMs }),
      features: [
        { name: 'age_bucket', type: 'category', default: 'unknown', freshness: 'stable' },
        { name: 'user_embedding', type: 'vector', dim: 16, default: new Float32Array(16), freshness: 'stable' },
        { name: 'tenure_days', type: 'number', default: 0, freshness: 'stable' },
      ],
    },
    {
      name: 'creator_profile',
      entity: 'creator',
      features: [
        { name: 'followers', type: 'number', default: 0, freshness: 'stable' },
        { name: 'country', type: 'category', default: '', freshness: 'stable' },
      ],
    },
    {
      name: 'request_context',
      entity: 'context',
      features: [
        { name: 'region', type: 'category', default: '', freshness: 'hot' },
        { name: 'hour_of_day', type: 'number', default: 0, freshness: 'hot' },
      ],
    },
    ...streamFeatureGroups({ categories: CATEGORIES, ...(opts.itemTimeoutMs === undefined ? {} : { timeoutMs: opts.itemTimeoutMs }) }),
  ];
  // Generous default sub-deadline: these tests check correctness on a shared, loaded machine;
  // the timeout test sets tight ones explicitly.
  return defineFeatureSchema({
    groups,
    defaultTimeoutMs: 2000,
    ...(opts.creatorIdFrom ? { creatorIdFrom: { group: 'item_profile', feature: 'creator_id' } } : {}),
  });
}

export function itemProfile(i: number): Record<string, number | Float32Array | string | string[]> {
  const v: Record<string, number | Float32Array | string | string[]> = {};
  for (let k = 0; k < 44; k++) v[`f${k}`] = i * 100 + k;
  v.embedding = Float32Array.from({ length: 16 }, (_, k) => (i + k) / 10);
  v.category = CATEGORIES[i % CATEGORIES.length] as string;
  v.creator_id = `c${i % 7}`;
  v.tags = [`t${i % 3}`, `t${i % 5}`];
  return v;
}
