import { afterAll, describe, expect, it } from 'vitest';
import { DashboardSink } from './DashboardSink.js';

type Summary = { count: number; p50: number; p99: number };
type Snap = {
  workers?: number;
  slots: Record<
    string,
    {
      stages: Record<string, { total: Summary; budgetMs?: number }>;
      request: { total: Summary };
      sources: Record<string, { calls: number; inSlate: number; timeouts: number }>;
    }
  >;
  timeline: { t: number; requests: number; tiers: Record<string, number> }[];
  degradationModes: Record<string, number>;
  breakers: Record<string, { state: string; transitions: number }>;
};

describe('DashboardSink across workers', () => {
  const a = new DashboardSink(60_000);
  const b = new DashboardSink(60_000);
  afterAll(() => {
    a.close();
    b.close();
  });

  it('merges exported states: latencies over every request, counters summed, the worst breaker', () => {
    // worker a: 100 fast requests; worker b: 100 slow ones — the merged p50/p99 must see both
    for (let i = 0; i < 100; i++) {
      a.request('homepage', 2);
      a.stage('homepage', 'retrieval', 1);
      a.source('homepage', 'popular', 1, 'ok', 10, 2);
      b.request('homepage', 40);
      b.stage('homepage', 'retrieval', 30);
      b.source('homepage', 'popular', 30, i < 5 ? 'timeout' : 'ok', 10, 2);
    }
    b.degradation('homepage', { mode: 'source_timeout', tier: 'drop_source', stage: 'retrieval/popular' });
    a.breaker('features', 'closed');
    b.breaker('features', 'open');

    const budgets = { homepage: { retrieval: 35 } };
    const m = JSON.parse(JSON.stringify(DashboardSink.mergeExported([a.exportState(), b.exportState()], budgets))) as Snap;
    expect(m.workers).toBe(2);
    const home = m.slots['homepage'];
    expect(home?.request.total.count).toBe(200);
    expect(home?.request.total.p50).toBeGreaterThanOrEqual(1.9);
    expect(home?.request.total.p50).toBeLessThanOrEqual(2.1);
    expect(home?.request.total.p99).toBeGreaterThanOrEqual(39);
    expect(home?.stages['retrieval']?.total.count).toBe(200);
    expect(home?.stages['retrieval']?.budgetMs).toBe(35);
    expect(home?.sources['popular']).toMatchObject({ calls: 200, inSlate: 400, timeouts: 5 });
    expect(m.timeline.reduce((s, x) => s + x.requests, 0)).toBe(200);
    expect(m.timeline.reduce((s, x) => s + (x.tiers['drop_source'] ?? 0), 0)).toBe(1);
    expect(m.degradationModes['source_timeout→drop_source']).toBe(1);
    expect(m.breakers['features']).toMatchObject({ state: 'open', transitions: 2 });

    // one worker's own snapshot sees only its half
    const own = JSON.parse(JSON.stringify(a.snapshot(budgets))) as Snap;
    expect(own.slots['homepage']?.request.total.count).toBe(100);
    expect(own.slots['homepage']?.request.total.p99).toBeLessThan(3);
  });
});
