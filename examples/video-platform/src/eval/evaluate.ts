import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureAssemblerSpec } from '@recspine/rank';
import type { RecRequest, StageContext } from '@recspine/core';
import { offlineCtx } from '../train/assembleLogged.js';
import type { ModelCard } from '../train/ModelCard.js';
import type { ModelsHandle } from '../train/trainModels.js';
import type { HomepageQuotas, VideoRecommenderOptions } from '../serving/buildVideoRecommender.js';
import { buildVideoRecommender } from '../serving/buildVideoRecommender.js';
import type { WorldHandle } from '../world/generateWorld.js';
import { groundTruth, newTruth, OBJECTIVE } from '../world/GroundTruth.js';
import { readColumn } from '../world/internal/binio.js';
import { progress, progressDefault } from '../world/internal/progress.js';
import { Rng } from '../world/internal/random.js';
import { World } from '../world/World.js';
import { itemText } from '../world/itemText.js';
import type { DriftReport } from './DriftGate.js';
import { driftOnLogs } from './DriftGate.js';
import { entropy, mean, ndcg, recall, topK } from './metrics.js';

/** Options of {@link evaluate}. */
export interface EvalOptions {
  /** Held-out users evaluated (first session of each distinct user in the held-out window). */
  readonly maxUsers?: number;
  /** Size of the "truly engaged" set per user for recall: their top items by true expected objective. */
  readonly relevantPerUser?: number;
  /** K of the per-source recall figures (two-tower @K, popularity @K; default 1000). */
  readonly retrieveK?: number;
  /** Homepage quotas of the evaluated pipeline (default: the serving module's). */
  readonly homepageQuotas?: Partial<HomepageQuotas>;
  readonly driftThreshold?: number;
  readonly progress?: boolean;
  /** Homepage re-rank settings passed to the serving module (defaults: its own). */
  readonly exploreFraction?: number;
  readonly mmrLambda?: number;
  readonly coarseKeep?: number;
  readonly homepageCaps?: VideoRecommenderOptions['homepageCaps'];
  /** Two-tower backfill on the end-of-video and search slots (default: the serving module's). */
  readonly backfillK?: VideoRecommenderOptions['backfillK'];
  /** The search slot's relevance tiers (default: the serving module's). */
  readonly searchMinRelativeScore?: number;
}

/**
 * The end-of-video slot, offline: each evaluated user with a watch history asks for what follows
 * their most recent watched item. The world's truth has no "what follows what" term, so the slot
 * is judged on two axes: NDCG@10 on the same realised engagement labels as the homepage (does the
 * slate still serve this user), and relatedness to the video that just ended (does it follow on).
 */
export interface EndOfVideoEval {
  /** Users evaluated (those with a watch history at the split). */
  readonly users: number;
  /** NDCG@10 of the served end-of-video slate (realised gains; the ideal excludes the just-watched item). */
  readonly ndcg10: number;
  /** The `related` source's own top 10 (eligible items only): the non-personal baseline. */
  readonly relatedOnlyNdcg10: number;
  /** Mean cosine of the slate items' content embeddings to the just-watched item's. */
  readonly relatedness: number;
  readonly relatedOnlyRelatedness: number;
  /** Share of slate items whose sources include `related`. */
  readonly relatedShare: number;
  /** Share of slate items in the just-watched item's category. */
  readonly sameCategoryShare: number;
  /** The two-tower backfill k the slot ran with. */
  readonly backfillK: number;
}

/**
 * The search slot, offline: each evaluated user with a watch history searches for their most
 * recent watched item's category and topic words (its title without the style word, e.g.
 * "cooking tips"). An item matches when its own title has both words. NDCG@10 counts the realised
 * engagement of matching items only (a non-matching item gains nothing, whatever the user thinks
 * of it), against the best 10 matching items for that user.
 */
export interface SearchEval {
  readonly users: number;
  /** NDCG@10 of the served search slate, matching items' realised engagement only. */
  readonly ndcg10: number;
  /** The `query` source's own top 10 (text relevance, eligible items only): the non-personal baseline. */
  readonly queryOnlyNdcg10: number;
  /** Share of slate items that match the query. */
  readonly matchShare: number;
  readonly queryOnlyMatchShare: number;
  /** Matching items per query (mean): how many the slate could choose from. */
  readonly matchingItems: number;
  /** The two-tower backfill k the slot ran with. */
  readonly backfillK: number;
}

/** Slate health of the full pipeline's slates. */
export interface SlateHealth {
  /** Mean over slates of 1 − mean pairwise cosine of the items' content embeddings. */
  readonly diversity: number;
  /** Mean distinct categories per slate. */
  readonly distinctCategories: number;
  /** Entropy (nats) of the creators of all served items, pooled over slates. */
  readonly creatorEntropy: number;
  readonly distinctCreators: number;
  /** Share of served items that were cold at the split (< 5 logged impressions). */
  readonly coldItemShare: number;
}

/** One seed's evaluation (the `metrics.seeds[]` entry of `bench-results/eval.json`). */
export interface SeedEval {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  readonly evalUsers: number;
  readonly coldEvalUsers: number;
  /** NDCG@10 of the full pipeline (retrieval → coarse → fine → re-rank → policy) on realised held-out engagement. */
  readonly ndcg10: number;
  readonly oracleNdcg10: number;
  readonly popularityNdcg10: number;
  /** Online feature fetch down: core's degraded path with the degraded-mode model (retrieval still reads user rows). */
  readonly degradedNdcg10: number;
  /** Feature store fully down: also no user rows for retrieval (no two-tower, no history-based fresh); degraded model. */
  readonly fullOutageNdcg10: number;
  /** Same slates scored with expected (not realised) gains: oracle = 1 by construction. */
  readonly expectedGain: { readonly ndcg10: number; readonly popularityNdcg10: number; readonly degradedNdcg10: number };
  readonly twoTowerRecall1000: number;
  readonly popularityRecall1000: number;
  /** Union of the homepage sources' lists with the quotas the pipeline serves ({@link SeedEval.portfolioQuotas}). */
  readonly portfolioRecall1000: number;
  /** The homepage quotas behind `portfolioRecall1000` (two-tower, popularity, fresh, cold-start). */
  readonly portfolioQuotas: HomepageQuotas;
  /** The same union at two-tower K + popularity K + fresh 300 + cold-start 300 (the earlier, wider portfolio), for comparison. */
  readonly widePortfolioRecall: number;
  readonly aucByHead: Readonly<Record<string, number>>;
  readonly degradedAucByHead: Readonly<Record<string, number>>;
  readonly coarseAuc: number;
  readonly slateHealth: SlateHealth;
  readonly endOfVideo: EndOfVideoEval;
  readonly search: SearchEval;
  /** How many degraded-run requests core actually ordered with the degraded model. */
  readonly degradedOrderedShare: number;
  readonly drift: Pick<DriftReport, 'threshold' | 'maxPsi' | 'worst' | 'drifted' | 'exempt' | 'promoted'>;
  readonly trainSeconds: number;
  readonly trainCpuSeconds: number;
  readonly evalSeconds: number;
  readonly composition: string;
}

/**
 * Offline evaluation on the held-out window of a world, composing the pipeline through core's
 * `createRecommender` with local adapters over the exported ONNX models (see `adapters/`).
 *
 * Labels: because the world is synthetic, every held-out user's engagement with *every* item can
 * be drawn from the truth at the request time (full-information labels: click ~ pClick, then
 * watched fraction, report, satisfaction as in the log). NDCG@10 gains are the realised values
 * `click · (w + ½ sat − 3 report)`, floored at 0; the ideal is over all eligible published items.
 * The oracle ranks by the true expected objective. Recall@1000 counts the user's top-100 items by
 * true expected objective ("what the user truly engages with most").
 */
export async function evaluate(world: WorldHandle, models: ModelsHandle, opts: EvalOptions = {}): Promise<SeedEval> {
  const t0 = performance.now();
  const K = opts.retrieveK ?? 1000;
  // The served pipeline, built by the serving module with the real packages (embedded mode,
  // exact ANN as the reference); generous budgets and no breaker trips: this measures quality.
  const vr = await buildVideoRecommender({
    preset: 'demo',
    mode: 'embedded',
    ann: 'exact',
    worldDir: world.dir,
    modelsDir: models.dir,
    slaMs: 60_000,
    budgets: { retrieval: 20_000, coarse: 10_000, features: 10_000, fine: 10_000, rerank: 5_000 },
    breakers: { default: { kind: 'consecutive', threshold: 1_000_000 } },
    ...(opts.homepageQuotas === undefined ? {} : { homepageQuotas: opts.homepageQuotas }),
    seed: 7,
    ...(opts.exploreFraction === undefined ? {} : { exploreFraction: opts.exploreFraction }),
    ...(opts.mmrLambda === undefined ? {} : { mmrLambda: opts.mmrLambda }),
    ...(opts.coarseKeep === undefined ? {} : { coarseKeep: opts.coarseKeep }),
    ...(opts.homepageCaps === undefined ? {} : { homepageCaps: opts.homepageCaps }),
    ...(opts.backfillK === undefined ? {} : { backfillK: opts.backfillK }),
    ...(opts.searchMinRelativeScore === undefined ? {} : { searchMinRelativeScore: opts.searchMinRelativeScore }),
  });
  const data = vr.world;
  const truthWorld = World.build(data.manifest.config);
  const mm = models.manifest;
  const mdir = models.dir;
  const pop = readColumn(mdir, { ...mm.popularity, dtype: 'i32' });
  const idx = (id: string) => (id.startsWith('v') ? Number(id.slice(1)) : -1);

  // Held-out users: the first held-out session of each distinct user, in time order.
  const ses = data.sessions;
  const maxUsers = opts.maxUsers ?? 300;
  const picked: number[] = [];
  const seen = new Set<number>();
  for (let s = data.manifest.counts.trainSessions; s < ses.n && picked.length < maxUsers; s++) {
    const u = ses.user[s] as number;
    if (seen.has(u)) continue;
    seen.add(u);
    picked.push(s);
  }

  const N = data.nItems;
  const R = opts.relevantPerUser ?? 100;
  const tr = newTruth();
  const V = new Float64Array(N);
  const realised = new Float64Array(N);
  const expected = new Float64Array(N);
  const rng = new Rng(data.manifest.config.seed, 0xe7a1);
  const acc = {
    nd: [] as number[],
    or: [] as number[],
    pop: [] as number[],
    deg: [] as number[],
    degAll: [] as number[],
    ndE: [] as number[],
    popE: [] as number[],
    degE: [] as number[],
  };
  const rec = { tt: [] as number[], pop: [] as number[], port: [] as number[], wide: [] as number[] };
  let degradedOrdered = 0;
  let cold = 0;
  const diversity: number[] = [];
  const distinctCats: number[] = [];
  const creators = new Map<number, number>();
  let served = 0;
  let servedCold = 0;
  // search: every item's title words, for the match test
  const titleWords = Array.from({ length: N }, (_, i) => new Set(itemText(data, i).title.split(' ')));
  const srch = { nd: [] as number[], qNd: [] as number[], match: [] as number[], qMatch: [] as number[], matching: [] as number[] };
  const eov = {
    nd: [] as number[],
    relNd: [] as number[],
    rel: [] as number[],
    relRel: [] as number[],
    relShare: [] as number[],
    cat: [] as number[],
  };
  const bar = progress('eval: users', picked.length, opts.progress ?? progressDefault());
  const D = data.dim;
  const src = vr.sources;
  const ids = async (source: { retrieve(ctx: StageContext, k: number): unknown }, ctx: StageContext, k: number) =>
    ((await source.retrieve(ctx, k)) as readonly { itemId: string }[]).map((x) => idx(x.itemId));
  for (const s of picked) {
    const u = ses.user[s] as number;
    if (data.splitHistoryLen[u] === 0) cold++;
    const tS = ses.timeS[s] as number;
    const nowMs = data.ms(tS);
    for (let i = 0; i < N; i++) {
      const ok = data.eligible(u, i) && (data.itemPublishedS[i] as number) <= tS;
      if (!ok) {
        V[i] = Number.NEGATIVE_INFINITY;
        realised[i] = 0;
        expected[i] = 0;
        continue;
      }
      groundTruth(truthWorld, u, i, tS, tr);
      V[i] = tr.value;
      expected[i] = Math.max(0, tr.value);
      let g = 0;
      if (rng.next() < tr.pClick) {
        const wf = Math.min(1, Math.max(0, tr.watch + 0.15 * rng.gaussian()));
        const rep = rng.next() < tr.pReport ? 1 : 0;
        const sat = rep === 0 && rng.next() < tr.pSat ? 1 : 0;
        g = Math.max(0, wf + OBJECTIVE.satisfaction * sat - OBJECTIVE.report * rep);
      }
      realised[i] = g;
    }
    const allowed = (i: number) => V[i] !== Number.NEGATIVE_INFINITY;
    const relevant = new Set(topK(V, R, allowed));
    const request: RecRequest = {
      slot: 'homepage',
      userId: `u${u}`,
      limit: 10,
      context: {
        region: data.regionNames[ses.region[s] as number] as string,
        device: data.deviceNames[ses.device[s] as number] as string,
        language: data.languageNames[data.userLanguage[u] as number] as string,
        nowMs,
        attributes: { kids: data.userAgeBand[u] === 0 },
      },
    };
    const ctx = offlineCtx(request, new Map());
    const ttList = await ids(src.twoTower, ctx, K);
    const popList: number[] = [];
    for (let r = 0; r < pop.length && popList.length < K; r++)
      if ((data.itemPublishedS[pop[r] as number] as number) <= tS) popList.push(pop[r] as number);
    rec.tt.push(recall(ttList, relevant));
    rec.pop.push(recall(popList, relevant));
    const hq = vr.homepageQuotas;
    const [popK, fresh300, cold300] = [await ids(src.popular, ctx, K), await ids(src.fresh, ctx, 300), await ids(src.coldStart, ctx, 300)];
    const portfolio = [
      ...(await ids(src.twoTower, ctx, hq.twoTower)),
      ...(await ids(src.popular, ctx, hq.popular)),
      ...(await ids(src.fresh, ctx, hq.fresh)),
      ...(await ids(src.coldStart, ctx, hq.coldStart)),
    ];
    rec.port.push(recall(portfolio, relevant));
    rec.wide.push(recall([...ttList, ...popK, ...fresh300, ...cold300], relevant));

    vr.simulateOutage('none');
    const res = await vr.recommender.recommend(request);
    const slate = res.items.map((x) => idx(x.itemId));
    vr.simulateOutage('ranking');
    const resD = await vr.recommender.recommend(request);
    if (resD.orderedBy === 'degraded') degradedOrdered++;
    const slateD = resD.items.map((x) => idx(x.itemId));
    vr.simulateOutage('all');
    const slateA = (await vr.recommender.recommend(request)).items.map((x) => idx(x.itemId));
    vr.simulateOutage('none');
    const popSlate: number[] = [];
    for (let r = 0; r < pop.length && popSlate.length < 10; r++) if (allowed(pop[r] as number)) popSlate.push(pop[r] as number);
    const oracle = topK(V, 10, allowed);
    const gains = (list: number[], g: Float64Array) => list.map((i) => (i < 0 ? 0 : (g[i] as number)));
    acc.nd.push(ndcg(gains(slate, realised), realised, 10));
    acc.deg.push(ndcg(gains(slateD, realised), realised, 10));
    acc.degAll.push(ndcg(gains(slateA, realised), realised, 10));
    acc.pop.push(ndcg(gains(popSlate, realised), realised, 10));
    acc.or.push(ndcg(gains(oracle, realised), realised, 10));
    acc.ndE.push(ndcg(gains(slate, expected), expected, 10));
    acc.degE.push(ndcg(gains(slateD, expected), expected, 10));
    acc.popE.push(ndcg(gains(popSlate, expected), expected, 10));

    // End-of-video: what follows the user's most recent watched item.
    const last = data.historyAtSplit(u)[0];
    if (last !== undefined) {
      const watched = `v${last}`;
      const eovRequest: RecRequest = { ...request, slot: 'end-of-video', context: { ...request.context, itemId: watched } };
      const eovRes = await vr.recommender.recommend(eovRequest);
      const eovSlate = eovRes.items.map((x) => idx(x.itemId));
      const notWatched = (i: number) => i !== last && allowed(i);
      const ideal = Float64Array.from(realised, (g, i) => (i === last ? 0 : g));
      const relList = (await ids(src.related, offlineCtx(eovRequest, new Map()), 300)).filter(notWatched).slice(0, 10);
      const relatednessOf = (list: number[]) => (list.length === 0 ? 0 : mean(list.map((i) => cosine(data.itemContent, i, last, D))));
      eov.nd.push(ndcg(gains(eovSlate, realised), ideal, 10));
      eov.relNd.push(ndcg(gains(relList, realised), ideal, 10));
      eov.rel.push(relatednessOf(eovSlate));
      eov.relRel.push(relatednessOf(relList));
      eov.relShare.push(
        eovRes.items.length === 0 ? 0 : eovRes.items.filter((x) => x.sources.includes('related')).length / eovRes.items.length,
      );
      const cat = data.itemCategory[last] as number;
      eov.cat.push(eovSlate.length === 0 ? 0 : eovSlate.filter((i) => data.itemCategory[i] === cat).length / eovSlate.length);

      // Search: the watched item's category and topic words as the query.
      const words = itemText(data, last).title.split(' ').slice(1);
      const matches = (i: number) => i >= 0 && words.every((w) => (titleWords[i] as Set<string>).has(w));
      const qGain = Float64Array.from(realised, (g, i) => (matches(i) && allowed(i) ? g : 0));
      const sRequest: RecRequest = { ...request, slot: 'search', query: words.join(' ') };
      const sSlate = (await vr.recommender.recommend(sRequest)).items.map((x) => idx(x.itemId));
      const qList = (await ids(src.query, offlineCtx(sRequest, new Map()), 300)).filter(allowed).slice(0, 10);
      const share = (list: number[]) => (list.length === 0 ? 0 : list.filter(matches).length / list.length);
      srch.nd.push(ndcg(gains(sSlate, qGain), qGain, 10));
      srch.qNd.push(ndcg(gains(qList, qGain), qGain, 10));
      srch.match.push(share(sSlate));
      srch.qMatch.push(share(qList));
      let m = 0;
      for (let i = 0; i < N; i++) if (matches(i) && allowed(i)) m++;
      srch.matching.push(m);
    }

    // Slate health.
    let sim = 0;
    let pairs = 0;
    for (let a = 0; a < slate.length; a++)
      for (let b = a + 1; b < slate.length; b++) {
        sim += cosine(data.itemContent, slate[a] as number, slate[b] as number, D);
        pairs++;
      }
    if (pairs > 0) diversity.push(1 - sim / pairs);
    distinctCats.push(new Set(slate.map((i) => data.itemCategory[i] as number)).size);
    for (const i of slate) {
      const c = data.itemCreator[i] as number;
      creators.set(c, (creators.get(c) ?? 0) + 1);
      served++;
      if ((data.splitImps[i] as number) < 5) servedCold++;
    }
    bar.tick();
  }
  bar.stop();
  const composition = vr.composition;
  await vr.close();

  const card = (name: string) => JSON.parse(readFileSync(join(mdir, `${name}.card.json`), 'utf8')) as ModelCard;
  const aucOf = (c: ModelCard) =>
    Object.fromEntries(
      Object.entries(c.metrics)
        .filter(([k]) => k.startsWith('auc.'))
        .map(([k, v]) => [k.slice(4), v]),
    );
  const fineSpecJson = JSON.parse(readFileSync(join(mdir, mm.models.fine.featureSpec), 'utf8')) as FeatureAssemblerSpec;
  const drift = driftOnLogs(data, fineSpecJson, opts.driftThreshold ?? 0.25);
  return {
    seed: data.manifest.config.seed,
    users: data.nUsers,
    items: N,
    evalUsers: picked.length,
    coldEvalUsers: cold,
    ndcg10: mean(acc.nd),
    oracleNdcg10: mean(acc.or),
    popularityNdcg10: mean(acc.pop),
    degradedNdcg10: mean(acc.deg),
    fullOutageNdcg10: mean(acc.degAll),
    expectedGain: { ndcg10: mean(acc.ndE), popularityNdcg10: mean(acc.popE), degradedNdcg10: mean(acc.degE) },
    twoTowerRecall1000: mean(rec.tt),
    popularityRecall1000: mean(rec.pop),
    portfolioRecall1000: mean(rec.port),
    portfolioQuotas: vr.homepageQuotas,
    widePortfolioRecall: mean(rec.wide),
    aucByHead: aucOf(card('fine')),
    degradedAucByHead: aucOf(card('degraded')),
    coarseAuc: aucOf(card('coarse'))['score'] ?? Number.NaN,
    slateHealth: {
      diversity: mean(diversity),
      distinctCategories: mean(distinctCats),
      creatorEntropy: entropy(creators.values()),
      distinctCreators: creators.size,
      coldItemShare: served > 0 ? servedCold / served : 0,
    },
    endOfVideo: {
      users: eov.nd.length,
      ndcg10: mean(eov.nd),
      relatedOnlyNdcg10: mean(eov.relNd),
      relatedness: mean(eov.rel),
      relatedOnlyRelatedness: mean(eov.relRel),
      relatedShare: mean(eov.relShare),
      sameCategoryShare: mean(eov.cat),
      backfillK: vr.backfillK.endOfVideo,
    },
    search: {
      users: srch.nd.length,
      ndcg10: mean(srch.nd),
      queryOnlyNdcg10: mean(srch.qNd),
      matchShare: mean(srch.match),
      queryOnlyMatchShare: mean(srch.qMatch),
      matchingItems: mean(srch.matching),
      backfillK: vr.backfillK.search,
    },
    degradedOrderedShare: picked.length > 0 ? degradedOrdered / picked.length : 0,
    drift: {
      threshold: drift.threshold,
      maxPsi: drift.maxPsi,
      worst: drift.worst,
      drifted: drift.drifted,
      exempt: drift.exempt,
      promoted: drift.promoted,
    },
    trainSeconds: mm.trainSeconds,
    trainCpuSeconds: mm.trainCpuSeconds,
    evalSeconds: (performance.now() - t0) / 1000,
    composition: `serving module (src/serving/buildVideoRecommender): ${composition}`,
  };
}

function cosine(C: Float32Array, a: number, b: number, D: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let d = 0; d < D; d++) {
    const x = C[a * D + d] as number;
    const y = C[b * D + d] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb || 1);
}
