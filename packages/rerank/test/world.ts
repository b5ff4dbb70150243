/** Random candidate worlds for the property tests (fast-check arbitraries) and an independent policy oracle. */
import type { Candidate, ItemMeta, RecRequest } from '@recspine/core';
import fc from 'fast-check';

export const REGIONS = ['US', 'DE', 'FR'] as const;

export interface ItemSpec {
  readonly id: string;
  readonly score: number;
  readonly hasMeta: boolean;
  readonly creator: number;
  readonly category: number;
  readonly kids: boolean;
  readonly misinfo: boolean;
  readonly blocked: readonly string[];
  readonly allowed: readonly string[] | undefined;
  readonly emb: readonly number[] | undefined;
  readonly ageH: number;
  readonly impressions: number;
  readonly ctr: number;
  readonly cold: boolean;
}

const flag = (oneIn: number) => fc.integer({ min: 0, max: oneIn - 1 }).map((x) => x === 0);

export const itemSpecArb = fc.record({
  score: fc.double({ min: -5, max: 5, noNaN: true, noDefaultInfinity: true }),
  hasMeta: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  creator: fc.integer({ min: 0, max: 5 }),
  category: fc.integer({ min: 0, max: 4 }),
  kids: flag(4),
  misinfo: flag(5),
  blocked: fc.oneof({ weight: 3, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.subarray([...REGIONS]) }),
  allowed: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.subarray([...REGIONS]) as fc.Arbitrary<string[] | undefined> },
  ),
  emb: fc.option(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 3, maxLength: 3 }), { nil: undefined, freq: 5 }),
  ageH: fc.integer({ min: 0, max: 500 }),
  impressions: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 }), fc.constant(1_000_000)),
  ctr: fc.double({ min: 0.001, max: 0.6, noNaN: true }),
  cold: fc.boolean(),
});

/** Items with unique ids `i0…`. */
export const worldArb = (maxItems = 60) =>
  fc.array(itemSpecArb, { maxLength: maxItems }).map((specs) => specs.map((s, i): ItemSpec => ({ ...s, id: `i${i}` })));

export const NOW = 1_700_000_000_000;

export function metaOf(s: ItemSpec): ItemMeta | undefined {
  if (!s.hasMeta) return undefined;
  return {
    creatorId: `c${s.creator}`,
    category: `k${s.category}`,
    publishedAtMs: NOW - s.ageH * 3_600_000,
    kidsRestricted: s.kids,
    misinformation: s.misinfo,
    blockedRegions: s.blocked,
    ...(s.allowed !== undefined ? { allowedRegions: s.allowed } : {}),
    ...(s.emb !== undefined ? { embedding: Float32Array.from(s.emb) } : {}),
  };
}

/** Fresh candidates (in the given order), as core would hydrate them. */
export function toCandidates(specs: readonly ItemSpec[]): Candidate[] {
  return specs.map((s) => {
    const meta = metaOf(s);
    return {
      itemId: s.id,
      score: s.score,
      retrievalScore: s.score,
      sources: [s.cold ? 'cold-start' : 'main'],
      sourceScores: [s.score],
      heads: { ctr: s.ctr },
      ...(meta ? { meta } : {}),
    };
  });
}

/** Every 5th item id is rejected by the generic predicate filter used in the tests. */
export const predicateRejects = (id: string): boolean => Number(id.slice(1)) % 5 === 0;

/**
 * Independent oracle of the default policy set (kids fail-closed, region fail-closed, misinformation
 * fail-open, plus the predicate): written from the documented rules, not from the filters' code.
 */
export function oracleAllows(s: ItemSpec, request: Pick<RecRequest, 'context'>): boolean {
  if (predicateRejects(s.id)) return false;
  const kidsCtx = request.context?.attributes?.['kids'] === true;
  const region = request.context?.region;
  if (!s.hasMeta) return false; // region fails closed on missing meta in every context (kids too, in kids' contexts)
  if (kidsCtx && s.kids) return false;
  if (s.misinfo) return false;
  const restricted = s.blocked.length > 0 || s.allowed !== undefined;
  if (restricted) {
    if (region === undefined) return false;
    if (s.blocked.includes(region)) return false;
    if (s.allowed !== undefined && !s.allowed.includes(region)) return false;
  }
  return true;
}

export const requestContextArb = fc.record({
  region: fc.option(fc.constantFrom(...REGIONS), { nil: undefined, freq: 4 }),
  kids: fc.boolean(),
});

export function contextOf(r: { region: string | undefined; kids: boolean }): NonNullable<RecRequest['context']> {
  return { ...(r.region !== undefined ? { region: r.region } : {}), nowMs: NOW, attributes: { kids: r.kids } };
}
