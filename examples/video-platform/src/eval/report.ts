import type { SeedEval } from './evaluate.js';

/** The targets of issue 7, checked per seed. */
export interface TargetCheck {
  readonly seed: number;
  readonly ndcgVsOracle: number;
  readonly ndcgVsPopularity: number;
  readonly recallVsPopularity: number;
  readonly degradedVsFull: number;
  readonly pass: {
    readonly oracle80: boolean;
    readonly popularity150: boolean;
    readonly recall2x: boolean;
    readonly degraded70: boolean;
    readonly degradedAbovePopularity: boolean;
  };
}

/** Ratios behind the targets: NDCG ≥ 0.8 × oracle and ≥ 1.5 × popularity; recall ≥ 2 × popularity; degraded ≥ 0.7 × full and > popularity. */
export function checkTargets(e: SeedEval): TargetCheck {
  const r = {
    ndcgVsOracle: e.ndcg10 / e.oracleNdcg10,
    ndcgVsPopularity: e.ndcg10 / e.popularityNdcg10,
    recallVsPopularity: e.twoTowerRecall1000 / e.popularityRecall1000,
    degradedVsFull: e.degradedNdcg10 / e.ndcg10,
  };
  return {
    seed: e.seed,
    ...r,
    pass: {
      oracle80: r.ndcgVsOracle >= 0.8,
      popularity150: r.ndcgVsPopularity >= 1.5,
      recall2x: r.recallVsPopularity >= 2,
      degraded70: r.degradedVsFull >= 0.7,
      degradedAbovePopularity: e.degradedNdcg10 > e.popularityNdcg10,
    },
  };
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const f1 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(1) : 'n/a');

/** The evaluation report as markdown tables (one row per seed). */
export function markdownReport(evals: readonly SeedEval[], settings: Readonly<Record<string, unknown>>): string {
  const lines: string[] = [];
  lines.push('# Video-platform offline evaluation', '');
  lines.push(
    `World settings: ${Object.entries(settings)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ')}`,
    '',
  );
  // One markdown table per section, a row per seed (the separator follows the column count).
  const table = (title: string, columns: readonly string[], cells: (e: SeedEval) => readonly (string | number)[]): void => {
    lines.push(`## ${title}`, '', `| ${columns.join(' | ')} |`, `|${'---|'.repeat(columns.length)}`);
    for (const e of evals) lines.push(`| ${cells(e).join(' | ')} |`);
    lines.push('');
  };
  table(
    'Ranking (NDCG@10 on realised held-out engagement)',
    [
      'seed',
      'users',
      'items',
      'eval users (cold)',
      'pipeline',
      'oracle',
      'popularity',
      'degraded',
      'store fully down',
      'pipeline/oracle',
      'pipeline/popularity',
      'degraded/pipeline',
    ],
    (e) => {
      const t = checkTargets(e);
      return [
        e.seed,
        e.users,
        e.items,
        `${e.evalUsers} (${e.coldEvalUsers})`,
        f3(e.ndcg10),
        f3(e.oracleNdcg10),
        f3(e.popularityNdcg10),
        f3(e.degradedNdcg10),
        f3(e.fullOutageNdcg10),
        f3(t.ndcgVsOracle),
        f3(t.ndcgVsPopularity),
        f3(t.degradedVsFull),
      ];
    },
  );
  table('Ranking with expected gains (oracle = 1 by construction)', ['seed', 'pipeline', 'popularity', 'degraded'], (e) => [
    e.seed,
    f3(e.expectedGain.ndcg10),
    f3(e.expectedGain.popularityNdcg10),
    f3(e.expectedGain.degradedNdcg10),
  ]);
  table(
    'Retrieval (recall of the top-100 true items)',
    [
      'seed',
      'two-tower @1000',
      'popularity @1000',
      'portfolio as served (quotas tt + pop + fresh + cold-start)',
      'wide portfolio (tt 1000 + pop 1000 + fresh 300 + cold-start 300)',
      'two-tower/popularity',
    ],
    (e) => {
      const q = e.portfolioQuotas;
      return [
        e.seed,
        f3(e.twoTowerRecall1000),
        f3(e.popularityRecall1000),
        `${f3(e.portfolioRecall1000)} (${q.twoTower} + ${q.popular} + ${q.fresh} + ${q.coldStart})`,
        f3(e.widePortfolioRecall),
        f3(checkTargets(e).recallVsPopularity),
      ];
    },
  );
  table(
    "End-of-video (what follows each user's most recent watched item)",
    [
      'seed',
      'users',
      'NDCG@10',
      'related top-10 NDCG@10',
      'relatedness (cosine to the watched item)',
      'related top-10 relatedness',
      'related share',
      'same-category share',
      'two-tower backfill k',
    ],
    ({ seed, endOfVideo: v }) => [
      seed,
      v.users,
      f3(v.ndcg10),
      f3(v.relatedOnlyNdcg10),
      f3(v.relatedness),
      f3(v.relatedOnlyRelatedness),
      f3(v.relatedShare),
      f3(v.sameCategoryShare),
      v.backfillK,
    ],
  );
  table(
    "Search (the most recent watched item's category and topic words as the query)",
    [
      'seed',
      'users',
      'NDCG@10 (matching items)',
      'query top-10 NDCG@10',
      'match share',
      'query top-10 match share',
      'matching items per query',
      'two-tower backfill k',
    ],
    ({ seed, search: q }) => [
      seed,
      q.users,
      f3(q.ndcg10),
      f3(q.queryOnlyNdcg10),
      f3(q.matchShare),
      f3(q.queryOnlyMatchShare),
      f1(q.matchingItems),
      q.backfillK,
    ],
  );
  table('AUC per head on the held-out window (fine / degraded)', ['seed', 'ctr', 'watch', 'report', 'satisfaction', 'coarse'], (e) => {
    const h = (k: string) => `${f3(e.aucByHead[k] ?? Number.NaN)} / ${f3(e.degradedAucByHead[k] ?? Number.NaN)}`;
    return [e.seed, h('ctr'), h('watch'), h('report'), h('satisfaction'), f3(e.coarseAuc)];
  });
  table(
    'Slate health (full pipeline) and drift gate',
    [
      'seed',
      'diversity',
      'distinct categories',
      'creator entropy (nats)',
      'distinct creators',
      'cold-item share',
      'max PSI',
      'promoted',
      'train s (wall / CPU)',
      'eval s',
    ],
    (e) => {
      const s = e.slateHealth;
      return [
        e.seed,
        f3(s.diversity),
        f3(s.distinctCategories),
        f3(s.creatorEntropy),
        s.distinctCreators,
        f3(s.coldItemShare),
        f3(e.drift.maxPsi),
        e.drift.promoted ? 'yes' : 'no',
        `${f1(e.trainSeconds)} / ${f1(e.trainCpuSeconds)}`,
        f1(e.evalSeconds),
      ];
    },
  );
  const y = (b: boolean) => (b ? 'pass' : 'FAIL');
  table(
    'Targets',
    ['seed', 'NDCG ≥ 0.8×oracle', 'NDCG ≥ 1.5×popularity', 'recall ≥ 2×popularity', 'degraded ≥ 0.7×full', 'degraded > popularity'],
    (e) => {
      const p = checkTargets(e).pass;
      return [e.seed, y(p.oracle80), y(p.popularity150), y(p.recall2x), y(p.degraded70), y(p.degradedAbovePopularity)];
    },
  );
  lines.push(`Pipeline composition: ${evals[0]?.composition ?? ''}`, '');
  return lines.join('\n');
}
