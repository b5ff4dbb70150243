/**
 * Property tests (fast-check, 1000 cases each) over random candidate sets, scores, creators,
 * categories and policy flags: policy safety through core's runner on every path, the subset/size
 * contract, caps in every window, the exploration bound, and seeded determinism.
 */
import {
  MapItemCatalog,
  StaticFallback,
  StaticSource,
  createRecommender,
  type Candidate,
  type ItemMeta,
  type PolicyFilter,
  type Ranker,
  type ReRanker,
  type RetrievalSource,
  type StageContext,
} from '@recspine/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapReranker, type CapRule } from '../src/CapReranker.js';
import { CreatorFairnessReranker } from '../src/CreatorFairnessReranker.js';
import { ExplorationReranker } from '../src/ExplorationReranker.js';
import { FreshnessBoost } from '../src/FreshnessBoost.js';
import { InMemoryExposureStore } from '../src/InMemoryExposureStore.js';
import { InMemoryItemStats } from '../src/InMemoryItemStats.js';
import { KidsContentFilter } from '../src/KidsContentFilter.js';
import { MisinformationFilter } from '../src/MisinformationFilter.js';
import { MmrReranker } from '../src/MmrReranker.js';
import { PolicyPrefilter } from '../src/PolicyPrefilter.js';
import { PredicateFilter } from '../src/PredicateFilter.js';
import { RegionRestrictionFilter } from '../src/RegionRestrictionFilter.js';
import { makeCtx } from './fixtures.js';
import {
  NOW,
  contextOf,
  metaOf,
  oracleAllows,
  predicateRejects,
  requestContextArb,
  toCandidates,
  worldArb,
  type ItemSpec,
} from './world.js';

const RUNS = { numRuns: 1000 };
const BUDGETS = { retrieval: 5000, coarse: 5000, features: 5000, fine: 5000, rerank: 5000 };

const policySet = (): PolicyFilter[] => [
  new KidsContentFilter(),
  new RegionRestrictionFilter(),
  new MisinformationFilter(),
  new PredicateFilter('every-fifth', (_ctx, c) => !predicateRejects(c.itemId)),
];

function statsFor(specs: readonly ItemSpec[]): InMemoryItemStats {
  const st = new InMemoryItemStats();
  for (const s of specs) if (s.impressions > 0) st.set(s.id, { impressions: s.impressions, clicks: Math.round(s.impressions * s.ctr) });
  return st;
}

const capRuleArb: fc.Arbitrary<CapRule> = fc.record({
  by: fc.constantFrom('creator' as const, 'category' as const),
  maxPerWindow: fc.integer({ min: 1, max: 3 }),
  window: fc.integer({ min: 1, max: 6 }),
});

const knobsArb = fc.record({
  seed: fc.integer({ min: 0, max: 1000 }),
  lambda: fc.double({ min: 0, max: 1, noNaN: true }),
  fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  policy: fc.constantFrom('thompson' as const, 'epsilon-greedy' as const),
  epsilon: fc.double({ min: 0, max: 1, noNaN: true }),
  minPosition: fc.integer({ min: 0, max: 4 }),
  rules: fc.array(capRuleArb, { minLength: 1, maxLength: 2 }),
});
type Knobs = typeof knobsArb extends fc.Arbitrary<infer T> ? T : never;

type Kind = 'freshness' | 'mmr' | 'explore' | 'capAppend' | 'capDrop' | 'fairness';

function build(kind: Kind, k: Knobs, stats: InMemoryItemStats): ReRanker {
  switch (kind) {
    case 'freshness':
      return new FreshnessBoost({ weight: 1, halfLifeMs: 24 * 3_600_000 });
    case 'mmr':
      return new MmrReranker({ lambda: k.lambda });
    case 'explore':
      return new ExplorationReranker({
        stats,
        policy: k.policy,
        fraction: k.fraction,
        epsilon: k.epsilon,
        minPosition: k.minPosition,
        seed: k.seed,
        propensitySamples: 8,
      });
    case 'capAppend':
      return new CapReranker({ rules: k.rules, overflow: 'append' });
    case 'capDrop':
      return new CapReranker({ rules: k.rules, overflow: 'drop' });
    case 'fairness':
      return new CreatorFairnessReranker({ store: new InMemoryExposureStore(), strength: 0.5 });
  }
}

/** Runs a chain the way core does (each re-ranker gets a copy of the previous output). */
function runChain(chain: readonly ReRanker[], ctx: StageContext, input: Candidate[], limit: number): Candidate[] {
  let cur = input;
  for (const rr of chain) cur = rr.rerank(ctx, cur.slice(), limit) as Candidate[];
  return cur;
}

/** Re-rankers that try to defeat the policy pass. */
function adversaries(rejected: (c: Candidate) => boolean, catalogMeta: (id: string) => ItemMeta | undefined): Record<string, ReRanker> {
  return {
    // moves every item the policy would reject to the top, boosts it, and marks it as explored
    booster: {
      name: 'booster',
      rerank: (_ctx, ranked) => {
        const bad = ranked.filter(rejected);
        for (const c of bad) {
          c.score = 1e9;
          c.explore = { policy: 'evil', propensity: 1 };
        }
        return [...bad, ...ranked.filter((c) => !rejected(c))];
      },
    },
    // returns only the rejected items (so the slate must be backfilled from the reserve)
    onlyRejected: { name: 'only-rejected', rerank: (_ctx, ranked) => ranked.filter(rejected) },
    // fabricates new candidate objects (not in its input) for flagged ids
    injector: {
      name: 'injector',
      rerank: (_ctx, ranked) => [
        ...['i0', 'i1', 'i2', 'i3'].map((id): Candidate => {
          const meta = catalogMeta(id);
          return { itemId: id, score: 1e9, retrievalScore: 0, sources: ['main'], sourceScores: [0], ...(meta ? { meta } : {}) };
        }),
        ...ranked,
      ],
    },
    thrower: {
      name: 'thrower',
      rerank: () => {
        throw new Error('boom');
      },
    },
  };
}

const stageModeArb = fc.constantFrom('ok', 'ok', 'ok', 'throws', 'bad');

function ranker(name: string, mode: string, specs: ReadonlyMap<string, ItemSpec>): Ranker {
  return {
    name,
    score: (_ctx, cands) => {
      if (mode === 'throws') throw new Error(`${name} down`);
      if (mode === 'bad') return { scores: new Float64Array(cands.length + 1) };
      // favours items the policy rejects, to make sure ranking cannot rescue them
      return { scores: cands.map((c) => (specs.get(c.itemId)?.misinfo ? 100 : (specs.get(c.itemId)?.score ?? 0))) };
    },
  };
}

describe('@recspine/rerank properties', () => {
  describe('policy filters', () => {
    it('no rejected item ever appears, whatever boosts, explores or degrades (through core createRecommender)', async () => {
      const paths = { fallback: 0, degraded: 0, boosted: 0 };
      await fc.assert(
        fc.asyncProperty(
          worldArb(40),
          requestContextArb,
          knobsArb,
          fc.record({
            limit: fc.integer({ min: 1, max: 25 }),
            coarseKeep: fc.integer({ min: 1, max: 50 }),
            nSources: fc.integer({ min: 1, max: 3 }),
            sourceModes: fc.array(fc.constantFrom('ok', 'ok', 'throws', 'nonarray', 'empty'), { minLength: 3, maxLength: 3 }),
            assign: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 40, maxLength: 40 }),
            coarse: fc.constantFrom('none', 'ok', 'throws', 'bad'),
            fine: fc.constantFrom('none', ...['ok', 'throws', 'bad']),
            fineMode: stageModeArb,
            chain: fc.shuffledSubarray(
              [
                'freshness',
                'mmr',
                'explore',
                'capAppend',
                'capDrop',
                'fairness',
                'booster',
                'onlyRejected',
                'injector',
                'thrower',
                'prefilter',
              ],
              { maxLength: 7 },
            ),
            fallback: fc.boolean(),
          }),
          async (specs, rc, knobs, s) => {
            const context = contextOf(rc);
            const byId = new Map(specs.map((x) => [x.id, x]));
            const metas = new Map<string, ItemMeta>();
            for (const x of specs) {
              const m = metaOf(x);
              if (m) metas.set(x.id, m);
            }
            const rejected = (c: Candidate) => {
              const sp = byId.get(c.itemId);
              return sp === undefined || !oracleAllows(sp, { context });
            };
            const stats = statsFor(specs);
            const adv = adversaries(rejected, (id) => metas.get(id));
            const policy = policySet();
            const chain: ReRanker[] = s.chain.map((k) =>
              k === 'prefilter' ? new PolicyPrefilter(policy) : (adv[k] ?? build(k as Kind, knobs, stats)),
            );
            const sources: RetrievalSource[] = [];
            for (let i = 0; i < s.nSources; i++) {
              const mine = specs.filter((_, j) => s.assign[j] === i).map((x) => ({ itemId: x.id, score: x.score }));
              const mode = s.sourceModes[i];
              const inner = new StaticSource(`src${i}`, mode === 'empty' ? [] : mine);
              sources.push({
                name: `src${i}`,
                retrieve: (ctx, k) => {
                  if (mode === 'throws') throw new Error('source down');
                  if (mode === 'nonarray') return { not: 'an array' } as never;
                  return inner.retrieve(ctx, k);
                },
              });
            }
            const rec = createRecommender({
              slaMs: 30_000,
              budgets: BUDGETS,
              shared: {
                policy,
                catalog: new MapItemCatalog(metas),
                ...(s.coarse !== 'none' ? { coarse: ranker('coarse', s.coarse, byId) } : {}),
                ...(s.fine !== 'none' ? { fine: ranker('fine', s.fine, byId), degraded: ranker('degraded', s.fineMode, byId) } : {}),
                ...(s.fallback ? { fallback: new StaticFallback(specs.map((x) => x.id).reverse()) } : {}),
              },
              slots: { homepage: { sources, coarseKeep: s.coarseKeep, rerank: chain } },
            });
            const res = await rec.recommend({ slot: 'homepage', limit: s.limit, context, requestId: `r${knobs.seed}` });
            if (res.orderedBy === 'fallback' && s.fallback) paths.fallback++;
            if (res.degraded.length > 0 && res.orderedBy !== 'fallback') paths.degraded++;
            if (s.chain.includes('booster') || s.chain.includes('injector')) paths.boosted++;
            const seen = new Set<string>();
            for (const it of res.items) {
              const sp = byId.get(it.itemId);
              expect(sp).toBeDefined();
              expect(oracleAllows(sp as ItemSpec, { context })).toBe(true);
              expect(seen.has(it.itemId)).toBe(false);
              seen.add(it.itemId);
            }
            expect(res.items.length).toBeLessThanOrEqual(s.limit);
          },
        ),
        RUNS,
      );
      // the run really exercised the fallback path, degraded paths and adversarial re-rankers
      expect(paths.fallback).toBeGreaterThan(50);
      expect(paths.degraded).toBeGreaterThan(50);
      expect(paths.boosted).toBeGreaterThan(50);
    });
  });

  describe('subset and size', () => {
    it('each re-ranker returns a duplicate-free subset of its input (a permutation unless it drops on purpose)', () => {
      fc.assert(
        fc.property(worldArb(60), knobsArb, fc.integer({ min: 1, max: 30 }), (specs, knobs, limit) => {
          const stats = statsFor(specs);
          const kinds: Kind[] = ['freshness', 'mmr', 'explore', 'capAppend', 'capDrop', 'fairness'];
          for (const kind of kinds) {
            const input = toCandidates(specs);
            const out = build(kind, knobs, stats).rerank(makeCtx({ context: { nowMs: NOW } }), input.slice(), limit) as Candidate[];
            const inSet = new Set(input);
            expect(new Set(out).size).toBe(out.length);
            for (const c of out) expect(inSet.has(c)).toBe(true);
            if (kind !== 'capDrop') expect(out.length).toBe(input.length);
          }
        }),
        RUNS,
      );
    });

    it('the served slate has min(limit, eligible) items, duplicate-free, drawn from the input (through core)', async () => {
      await fc.assert(
        fc.asyncProperty(
          worldArb(60),
          requestContextArb,
          knobsArb,
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 60 }),
          fc.shuffledSubarray(['prefilter', 'freshness', 'mmr', 'explore', 'capAppend', 'fairness'] as const),
          async (specs, rc, knobs, limit, coarseKeep, kinds) => {
            const context = contextOf(rc);
            const metas = new Map<string, ItemMeta>();
            for (const x of specs) {
              const m = metaOf(x);
              if (m) metas.set(x.id, m);
            }
            const stats = statsFor(specs);
            const policy = policySet();
            const chain = kinds.map((k) => (k === 'prefilter' ? new PolicyPrefilter(policy) : build(k, knobs, stats)));
            const rec = createRecommender({
              slaMs: 30_000,
              budgets: BUDGETS,
              shared: { policy, catalog: new MapItemCatalog(metas) },
              slots: {
                homepage: {
                  sources: [
                    new StaticSource(
                      'main',
                      specs.map((x) => ({ itemId: x.id, score: x.score })),
                    ),
                  ],
                  coarseKeep,
                  rerank: chain,
                },
              },
            });
            const res = await rec.recommend({ slot: 'homepage', limit, context, requestId: `r${knobs.seed}` });
            const eligible = specs.filter((x) => oracleAllows(x, { context })).length;
            if (specs.length > 0) expect(res.degraded).toEqual([]);
            expect(res.items.length).toBe(Math.min(limit, eligible));
            const ids = res.items.map((it) => it.itemId);
            expect(new Set(ids).size).toBe(ids.length);
            const all = new Set(specs.map((x) => x.id));
            for (const id of ids) expect(all.has(id)).toBe(true);
          },
        ),
        RUNS,
      );
    });
  });

  describe('caps', () => {
    const holds = (out: readonly Candidate[], rules: readonly CapRule[], upTo = out.length): void => {
      for (const r of rules) {
        const key = (c: Candidate) => (r.by === 'creator' ? c.meta?.creatorId : c.meta?.category);
        for (let p = 0; p < upTo; p++) {
          const counts = new Map<string, number>();
          for (let q = p; q < Math.min(upTo, p + r.window); q++) {
            const k = key(out[q] as Candidate);
            if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
          }
          for (const v of counts.values()) expect(v).toBeLessThanOrEqual(r.maxPerWindow);
        }
      }
    };

    it('hold in every window of the output; append mode only appends items that fit nowhere', () => {
      fc.assert(
        fc.property(
          worldArb(60),
          fc.array(capRuleArb, { minLength: 1, maxLength: 3 }),
          fc.integer({ min: 1, max: 30 }),
          (specs, rules, limit) => {
            const drop = new CapReranker({ rules }).rerank(makeCtx(), toCandidates(specs), limit);
            holds(drop, rules);
            const app = new CapReranker({ rules, overflow: 'append' }).rerank(makeCtx(), toCandidates(specs), limit);
            expect(app.map((c) => c.itemId).slice(0, drop.length)).toEqual(drop.map((c) => c.itemId));
            expect(app).toHaveLength(specs.length);
          },
        ),
        RUNS,
      );
    });

    it('hold in every window of the served slate for the recommended chain shape (through core)', async () => {
      await fc.assert(
        fc.asyncProperty(worldArb(60), requestContextArb, knobsArb, fc.integer({ min: 1, max: 30 }), async (specs, rc, knobs, limit) => {
          const context = contextOf(rc);
          const metas = new Map<string, ItemMeta>();
          for (const x of specs) {
            const m = metaOf(x);
            if (m) metas.set(x.id, m);
          }
          const policy = policySet();
          const stats = statsFor(specs);
          const chain = [
            new PolicyPrefilter(policy),
            build('freshness', knobs, stats),
            build('mmr', knobs, stats),
            build('explore', knobs, stats),
            build('capDrop', knobs, stats),
          ];
          const rec = createRecommender({
            slaMs: 30_000,
            budgets: BUDGETS,
            shared: { policy, catalog: new MapItemCatalog(metas) },
            // every candidate reaches the chain (no coarse tail), so nothing uncapped is backfilled
            slots: {
              homepage: {
                sources: [
                  new StaticSource(
                    'main',
                    specs.map((x) => ({ itemId: x.id, score: x.score })),
                  ),
                ],
                coarseKeep: 100,
                rerank: chain,
              },
            },
          });
          const res = await rec.recommend({ slot: 'homepage', limit, context, requestId: `r${knobs.seed}` });
          holds(
            res.items.map((it) => ({
              itemId: it.itemId,
              score: 0,
              retrievalScore: 0,
              sources: [],
              sourceScores: [],
              ...(metas.get(it.itemId) ? { meta: metas.get(it.itemId) } : {}),
            })),
            knobs.rules,
          );
        }),
        RUNS,
      );
    });
  });

  describe('exploration', () => {
    it('the explored share of the slate never exceeds its bound; marks are only on explored pool items', () => {
      fc.assert(
        fc.property(
          worldArb(60),
          knobsArb,
          fc.integer({ min: 1, max: 30 }),
          fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
          (specs, knobs, limit, paramFraction) => {
            const stats = statsFor(specs);
            const input = toCandidates(specs);
            const ex = build('explore', knobs, stats);
            const ctx = makeCtx({
              params: paramFraction === undefined ? {} : { exploreFraction: paramFraction },
              requestId: `r${knobs.seed}`,
            });
            const out = ex.rerank(ctx, input.slice(), limit) as Candidate[];
            const slate = Math.min(limit, out.length);
            const fraction = paramFraction ?? knobs.fraction;
            const explored = out.slice(0, slate).filter((c) => c.explore !== undefined);
            expect(explored.length).toBeLessThanOrEqual(Math.floor(fraction * slate + 1e-9));
            expect(out.slice(slate).some((c) => c.explore !== undefined)).toBe(false);
            const inputPos = new Map(input.map((c, i) => [c, i]));
            for (const c of explored) {
              expect(inputPos.get(c) as number).toBeGreaterThanOrEqual(slate); // came from beyond the slate
              expect(c.explore?.propensity).toBeGreaterThan(0);
              expect(c.explore?.propensity).toBeLessThanOrEqual(1);
            }
            for (let p = 0; p < Math.min(knobs.minPosition, slate); p++) expect(out[p]?.explore).toBeUndefined();
          },
        ),
        RUNS,
      );
    });
  });

  describe('determinism', () => {
    it('with a fixed seed and request id, the full chain output is identical across runs', () => {
      fc.assert(
        fc.property(
          worldArb(60),
          knobsArb,
          fc.integer({ min: 1, max: 30 }),
          fc.string({ maxLength: 8 }),
          (specs, knobs, limit, requestId) => {
            const once = () => {
              const stats = statsFor(specs);
              const chain = (['freshness', 'mmr', 'explore', 'capDrop', 'fairness'] as const).map((k) => build(k, knobs, stats));
              const ctx = makeCtx({ context: { nowMs: NOW }, requestId });
              return runChain(chain, ctx, toCandidates(specs), limit).map((c) => [
                c.itemId,
                c.score,
                c.explore?.policy,
                c.explore?.propensity,
              ]);
            };
            expect(once()).toEqual(once());
          },
        ),
        RUNS,
      );
    });
  });
});
