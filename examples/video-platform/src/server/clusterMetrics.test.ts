import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterMetricsClient, serveClusterMetrics } from './clusterMetrics.js';

const next = (w: Worker, type: string): Promise<{ type: string; text?: string; error?: string; client?: boolean }> =>
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
  }, 60_000);

  it('is off outside a cluster worker: the process registry is already the whole server', async () => {
    const registry = new Registry();
    new Counter({ name: 'solo_total', help: 'x', registers: [registry] }).inc(2);
    expect(clusterMetricsClient(registry)).toBeUndefined();
    expect(await registry.metrics()).toMatch(/^solo_total 2$/m);
  });
});
