import type { PortfolioLedger } from './PortfolioLedger.js';

/** One row of the portfolio report: what one source earned in one slot against its budget. */
export interface PortfolioRow {
  readonly slot: string;
  readonly source: string;
  readonly requests: number;
  /** The source's sub-budget, when given. */
  readonly budgetMs: number | undefined;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Fraction of requests on which the source timed out / failed / was skipped by its open breaker. */
  readonly timeoutRate: number;
  readonly errorRate: number;
  readonly breakerOpenRate: number;
  readonly avgRetrieved: number;
  readonly avgInSlate: number;
  /** inSlate / retrieved: how much of what it fetches survives ranking. */
  readonly yield: number;
  /**
   * inSlate / slate items of the slot: the share of the slate this source contributed to. Items
   * found by several sources count for each, so shares can add up to more than 1.
   */
  readonly slateShare: number;
  /** `ok`, or why the source deserves a look: `earns-nothing`, `over-budget`, `times-out`, `errors`. */
  readonly verdict: 'ok' | 'earns-nothing' | 'over-budget' | 'times-out' | 'errors';
}

/** Options of {@link portfolioReport}. */
export interface PortfolioReportOptions {
  /** Sub-budgets by source name (ms), to compare p99 against. */
  readonly budgetsMs?: Readonly<Record<string, number>>;
  /** A slate share below this earns the verdict `earns-nothing` (a decommission candidate). Default 0.01. */
  readonly minSlateShare?: number;
  /** Timeout or error rates above this earn `times-out` / `errors`. Default 0.01. */
  readonly maxFailureRate?: number;
}

/**
 * Turns a {@link PortfolioLedger}'s tallies into a table of what each source earned against its
 * budget, most valuable first per slot. A source that earns nothing is a candidate for
 * decommissioning; one whose p99 exceeds its sub-budget is cut off on the tail.
 *
 * @example
 * ```ts
 * const rows = portfolioReport(ledger, { budgetsMs: { 'two-tower': 12, popular: 5 } });
 * console.log(formatPortfolioReport(rows));
 * ```
 */
export function portfolioReport(ledger: PortfolioLedger, options: PortfolioReportOptions = {}): PortfolioRow[] {
  const minShare = options.minSlateShare ?? 0.01;
  const maxFail = options.maxFailureRate ?? 0.01;
  const rows: PortfolioRow[] = [];
  for (const t of ledger.tallies()) {
    const slate = ledger.slate(t.slot);
    const n = Math.max(1, t.requests);
    const budgetMs = options.budgetsMs?.[t.source];
    const timeoutRate = t.statuses.timeout / n;
    const errorRate = t.statuses.error / n;
    const slateShare = slate.items === 0 ? 0 : t.inSlate / slate.items;
    let verdict: PortfolioRow['verdict'] = 'ok';
    if (slateShare < minShare) verdict = 'earns-nothing';
    else if (timeoutRate > maxFail) verdict = 'times-out';
    else if (errorRate > maxFail) verdict = 'errors';
    else if (budgetMs !== undefined && t.p99Ms > budgetMs) verdict = 'over-budget';
    rows.push({
      slot: t.slot,
      source: t.source,
      requests: t.requests,
      budgetMs,
      p50Ms: t.p50Ms,
      p99Ms: t.p99Ms,
      timeoutRate,
      errorRate,
      breakerOpenRate: t.statuses.breaker_open / n,
      avgRetrieved: t.retrieved / n,
      avgInSlate: t.inSlate / n,
      yield: t.retrieved === 0 ? 0 : t.inSlate / t.retrieved,
      slateShare,
      verdict,
    });
  }
  rows.sort((a, b) => (a.slot < b.slot ? -1 : a.slot > b.slot ? 1 : b.slateShare - a.slateShare));
  return rows;
}

/** Renders report rows as an aligned plain-text table. */
export function formatPortfolioReport(rows: readonly PortfolioRow[]): string {
  const head = [
    'slot',
    'source',
    'reqs',
    'budget',
    'p50ms',
    'p99ms',
    'timeout%',
    'err%',
    'retrieved',
    'inSlate',
    'yield%',
    'share%',
    'verdict',
  ];
  const body = rows.map((r) => [
    r.slot,
    r.source,
    String(r.requests),
    r.budgetMs === undefined ? '-' : String(r.budgetMs),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    (100 * r.timeoutRate).toFixed(1),
    (100 * r.errorRate).toFixed(1),
    r.avgRetrieved.toFixed(1),
    r.avgInSlate.toFixed(1),
    (100 * r.yield).toFixed(1),
    (100 * r.slateShare).toFixed(1),
    r.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
