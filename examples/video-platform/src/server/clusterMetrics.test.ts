import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterGatherClient, clusterMetricsClient, serveClusterGather, serveClusterMetrics } from './clusterMetrics.js';

const next = (
  w: Worker,
  type: string,
): Promise<{ type: string; text?: string; error?: string; client?: boolean; values?: { pid: number; count: number }[] }> =>
  new Promise((resolve) => {
    const on = (m: { type: string }): void => {
      if (m.type !== type) return;
      w.off('message', on);
      resolve(m);
    };
    w.on('message', on);
  });

describe('cluster metrics (real node:cluster workers)', () => {
  const workers: Worker[] = [];
  afterAll(() => {
    for (const w of workers) w.process.kill('SIGKILL');
  });

  it("a worker's scrape returns every worker's series, counters summed and gauges by their aggregator", async () => {
    serveClusterMetrics();
    serveClusterGather();
    cluster.setupPrimary({
      exec: join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'metricsWorker.ts'),
      execArgv: ['--import', 'tsx'],
    });
    for (const count of [3, 4]) workers.push(cluster.fork({ COUNT: String(count) }));
    const ready = await Promise.all(workers.map((w) => next(w, 'ready')));
    expect(ready.map((r) => r.client)).toEqual([true, true]);

    const w0 = workers[0] as Worker;
    const scraped = next(w0, 'scraped');
    w0.send({ type: 'scrape' });
    const { text, error } = await scraped;
    expect(error).toBeUndefined();
    expect(text).toMatch(/^fixture_requests_total 7$/m); // 3 + 4: both workers, not the one asked
    expect(text).toMatch(/^fixture_breaker_state 4$/m); // max, not a sum

    // gather: every worker's value of a named state, whichever worker asks (the dashboard's path)
    const w1 = workers[1] as Worker;
    const gathered = next(w1, 'gathered');
    w1.send({ type: 'gather' });
    const g = await gathered;
    expect(g.error).toBeUndefined();
    expect(g.values?.map((v) => v.count).sort()).toEqual([3, 4]);
    expect(new Set(g.values?.map((v) => v.pid))).toEqual(new Set(workers.map((w) => w.process.pid)));
  }, 60_000);

  it('is off outside a cluster worker: the process registry is already the whole server', async () => {
    const registry = new Registry();
    new Counter({ name: 'solo_total', help: 'x', registers: [registry] }).inc(2);
    expect(clusterMetricsClient(registry)).toBeUndefined();
    expect(clusterGatherClient({ x: () => 1 })).toBeUndefined();
    expect(await registry.metrics()).toMatch(/^solo_total 2$/m);
  });
});
