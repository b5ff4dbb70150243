import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { StaticSource, TeeMetricsSink, createRecommender } from '@recspine/core';
import { FeaturesErrors } from '@recspine/features';
import { PrometheusMetricsSink } from '@recspine/core/prometheus';
import { AdmissionController } from './AdmissionController.js';
import { buildApp, type ServerDeps, type WorkerDashboard } from './app.js';
import { DashboardSink } from './DashboardSink.js';
import { Experiments, bucket } from './Experiments.js';
import { ImpressionLogger } from './ImpressionLogger.js';

function deps(over: Partial<ServerDeps> = {}): ServerDeps {
  const registry = new Registry();
  const dashboard = new DashboardSink(1000);
  const recommender = createRecommender({
    slaMs: 50,
    budgets: { retrieval: 10, coarse: 5, features: 10, fine: 10, rerank: 5 },
    metrics: new TeeMetricsSink([new PrometheusMetricsSink({ registry }), dashboard]),
    slots: {
      homepage: { sources: [new StaticSource('popular', ['a', 'b', 'c'])], coarseKeep: 10 },
      'end-of-video': { sources: [new StaticSource('related', ['d', 'e'])], coarseKeep: 10 },
      search: { sources: [new StaticSource('query', ['f'])], coarseKeep: 10 },
    },
  });
  const published: unknown[] = [];
  return {
    recommender,
    experiments: new Experiments({
      name: 'exp1',
      holdbackFraction: 0.01,
      holdback: { params: { policy: 'baseline' } },
      arms: [
        { name: 'control', weight: 1 },
        { name: 'treatment', weight: 1, coarseKeep: { homepage: 5 }, params: { mmrLambda: 0.5 } },
      ],
    }),
    admission: new AdmissionController({ maxInFlight: 100, maxLoopDelayMs: 1e9 }),
    dashboard,
    impressions: new ImpressionLogger(undefined),
    registry,
    budgets: { homepage: { retrieval: 10 } },
    publishEvents: async (events) => {
      published.push(...events);
      return { accepted: events.length, rejected: [] };
    },
    deleteUser: async () => ({ deletedKeys: 3 }),
    readiness: async () => ({ models: { ok: true }, index: { ok: true } }),
    ...over,
  };
}

describe('buildApp', () => {
  const app = buildApp(deps());
  afterAll(() => app.close());

  describe('POST /v1/recommend/:slot', () => {
    it('serves a slate with the debug block and the arm', async () => {
      const r = await app.inject({ method: 'POST', url: '/v1/recommend/homepage', payload: { userId: 'u1', limit: 2 } });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.items.map((i: { itemId: string }) => i.itemId)).toEqual(['a', 'b']);
      expect(['control', 'treatment', 'holdback']).toContain(body.arm);
      expect(body.debug.timings.stages.retrieval).toBeGreaterThanOrEqual(0);
      expect(body.debug.sources.popular).toMatchObject({ status: 'ok', retrieved: 3, inSlate: 2 });
      expect(body.debug.worker).toBe(process.pid); // which node:cluster worker answered
    });

    it('omits the debug block when asked', async () => {
      const r = await app.inject({ method: 'POST', url: '/v1/recommend/homepage', payload: { limit: 1, debug: false } });
      expect(r.json().debug).toBeUndefined();
    });

    it.each([
      [{ limit: 0 }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ userId: 'bad id!' }, 'userId'],
      [{ unknown: 1 }, 'unknown'],
      [{ context: { region: 5 } }, 'context.region'],
    ])('rejects %j with a coded 400 naming %s', async (payload, field) => {
      const r = await app.inject({ method: 'POST', url: '/v1/recommend/homepage', payload });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'RECSPINE_ERR_INVALID_REQUEST', field });
    });

    it('needs the just-watched item for end-of-video and a query for search', async () => {
      const a = await app.inject({ method: 'POST', url: '/v1/recommend/end-of-video', payload: {} });
      expect(a.json()).toMatchObject({ code: 'RECSPINE_ERR_INVALID_REQUEST', field: 'itemId' });
      const b = await app.inject({ method: 'POST', url: '/v1/recommend/search', payload: { query: '  ' } });
      expect(b.json()).toMatchObject({ code: 'RECSPINE_ERR_INVALID_REQUEST', field: 'query' });
    });

    it('answers an unknown slot with a coded 404', async () => {
      const r = await app.inject({ method: 'POST', url: '/v1/recommend/sidebar', payload: {} });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ code: 'RECSPINE_ERR_UNKNOWN_SLOT', field: 'slot' });
    });

    it('rejects an oversized body with 413 and a truncated one with a coded 400', async () => {
      const big = await app.inject({
        method: 'POST',
        url: '/v1/recommend/homepage',
        headers: { 'content-type': 'application/json' },
        payload: `{"query":"${'x'.repeat(70_000)}"}`,
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().code).toBe('RECSPINE_ERR_BODY_TOO_LARGE');
      const cut = await app.inject({
        method: 'POST',
        url: '/v1/recommend/homepage',
        headers: { 'content-type': 'application/json' },
        payload: '{"userId":"u1","lim',
      });
      expect(cut.statusCode).toBe(400);
      expect(cut.json().code).toBe('RECSPINE_ERR_MALFORMED_BODY');
    });

    it('sheds excess load with a fast 503 and Retry-After', async () => {
      const d = deps({ admission: new AdmissionController({ maxInFlight: 0, maxLoopDelayMs: 1e9, retryAfterSeconds: 2 }) });
      const shedApp = buildApp(d);
      const r = await shedApp.inject({ method: 'POST', url: '/v1/recommend/homepage', payload: {} });
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('2');
      expect(r.json()).toMatchObject({ code: 'RECSPINE_ERR_OVERLOADED', reason: 'in_flight' });
      expect(d.admission.shed.in_flight).toBe(1);
      // Shedding comes first, before the body is read: a malformed body is shed, not parsed.
      const bad = await shedApp.inject({
        method: 'POST',
        url: '/v1/recommend/homepage',
        headers: { 'content-type': 'application/json' },
        payload: '{"userId":',
      });
      expect(bad.statusCode).toBe(503);
      expect(bad.json()).toMatchObject({ code: 'RECSPINE_ERR_OVERLOADED' });
      await shedApp.close();
    });

    it('releases the admission slot of every answered request, rejected ones included', async () => {
      const d = deps({ admission: new AdmissionController({ maxInFlight: 1, maxLoopDelayMs: 1e9 }) });
      const one = buildApp(d);
      const bad = await one.inject({ method: 'POST', url: '/v1/recommend/homepage', payload: { limit: 'many' } });
      expect(bad.statusCode).toBe(400);
      const unknown = await one.inject({ method: 'POST', url: '/v1/recommend/nope', payload: {} });
      expect(unknown.statusCode).toBe(404);
      const ok = await one.inject({ method: 'POST', url: '/v1/recommend/homepage', payload: { userId: 'u1' } });
      expect(ok.statusCode).toBe(200);
      expect(d.admission.admitted).toBe(3);
      expect(d.admission.current.inFlight).toBe(0);
      expect(d.admission.shed.in_flight).toBe(0);
      await one.close();
    });
  });

  describe('concurrency', () => {
    it('runs at most `concurrency` recommendations at once, queues the rest FIFO, and counts the wait against the SLA', async () => {
      const d = deps();
      const rec = d.recommender;
      let inFlight = 0;
      let maxInFlight = 0;
      const startedAts: (number | undefined)[] = [];
      const gated = Object.assign(Object.create(rec) as typeof rec, {
        recommend: async (r: Parameters<typeof rec.recommend>[0], o?: Parameters<typeof rec.recommend>[1]) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          startedAts.push(o?.startedAt);
          await new Promise((resolve) => setTimeout(resolve, 25));
          inFlight--;
          return rec.recommend(r, o);
        },
      });
      const app2 = buildApp({ ...d, recommender: gated, concurrency: 2 });
      const t0 = performance.now();
      const rs = await Promise.all(
        Array.from({ length: 6 }, (_, i) => app2.inject({ method: 'POST', url: '/v1/recommend/homepage', payload: { userId: `u${i}` } })),
      );
      expect(rs.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(maxInFlight).toBe(2);
      // three waves of 25 ms: the gate really queued
      expect(performance.now() - t0).toBeGreaterThanOrEqual(70);
      // every call carried the time its request arrived, before the queue
      for (const s of startedAts) expect(s).toBeGreaterThanOrEqual(t0 - 1);
      expect(
        Math.max(...rs.map((r) => (r.json() as { debug: { timings: { totalMs: number } } }).debug.timings.totalMs)),
      ).toBeGreaterThanOrEqual(45);
      await app2.close();
    });
  });

  describe('router errors', () => {
    it('codes a path parameter over the length limit and a badly encoded URL', async () => {
      const long = await app.inject({ method: 'POST', url: `/v1/recommend/${'s'.repeat(500)}`, payload: {} });
      expect(long.statusCode).toBe(414);
      expect(long.json()).toMatchObject({ code: 'RECSPINE_ERR_INVALID_REQUEST', field: 'url' });
      const bad = await app.inject({ method: 'POST', url: '/v1/recommend/%zz', payload: {} });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'RECSPINE_ERR_MALFORMED_BODY' });
    });
  });

  describe('POST /v1/events', () => {
    it('answers 503 + Retry-After with the code when the event spill is full', async () => {
      const full = buildApp(
        deps({
          publishEvents: async () => {
            throw FeaturesErrors.create('RECSPINE_ERR_EVENTS_SPILL_FULL', 'spill full');
          },
        }),
      );
      const r = await full.inject({ method: 'POST', url: '/v1/events', payload: { events: [{ type: 'watch' }] } });
      expect(r.statusCode).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
      expect(r.json()).toMatchObject({ code: 'RECSPINE_ERR_EVENTS_SPILL_FULL' });
      const other = buildApp(
        deps({
          publishEvents: async () => {
            throw new Error('boom');
          },
        }),
      );
      const o = await other.inject({ method: 'POST', url: '/v1/events', payload: { events: [] } });
      expect(o.statusCode).toBe(500);
      expect(o.json()).toMatchObject({ code: 'RECSPINE_ERR_INTERNAL' });
      await Promise.all([full.close(), other.close()]);
    });
  });

  describe('other endpoints', () => {
    it('accepts events, deletes users, reports health, readiness and metrics', async () => {
      const ev = await app.inject({ method: 'POST', url: '/v1/events', payload: { events: [{ type: 'watch' }] } });
      expect(ev.statusCode).toBe(202);
      expect(ev.json()).toEqual({ accepted: 1, rejected: [] });
      const del = await app.inject({ method: 'DELETE', url: '/v1/users/u1' });
      expect(del.json()).toEqual({ userId: 'u1', deletedKeys: 3 });
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.json()).toMatchObject({ ready: true });
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/recspine_stage_seconds_bucket/);
      expect(metrics.body).toMatch(
        /recspine_http_recommend_seconds_count\{slot="homepage",arm="(control|treatment|holdback)",degraded="false"\}/,
      );
      expect(metrics.headers['x-recspine-metrics-scope']).toBe('server'); // one process: its registry is the server's
      const dash = await app.inject({ method: 'GET', url: '/v1/dashboard' });
      expect(Object.keys(dash.json().slots)).toContain('homepage');
    });

    it("draws every worker's dashboard when it can gather them, and its own when it cannot", async () => {
      const one = new DashboardSink(60_000);
      const two = new DashboardSink(60_000);
      one.request('homepage', 3);
      two.request('homepage', 5);
      two.request('homepage', 7);
      const workers: WorkerDashboard[] = [
        { sink: one.exportState(), breakers: [{ name: 'features', state: 'closed' }] },
        { sink: two.exportState(), breakers: [{ name: 'features', state: 'open' }] },
      ];
      const agg = buildApp(deps({ gather: async (kind) => (kind === 'dashboard' ? workers : []) }));
      const d = (await agg.inject({ method: 'GET', url: '/v1/dashboard' })).json();
      expect(d).toMatchObject({ scope: 'server', workers: 2, breakers: [{ name: 'features', state: 'open' }] });
      expect(d.slots.homepage.request.total.count).toBe(3);
      await agg.close();
      for (const gather of [() => Promise.reject(new Error('primary gone')), async () => []]) {
        const lone = buildApp(deps({ gather }));
        const l = (await lone.inject({ method: 'GET', url: '/v1/dashboard' })).json();
        expect(l.scope).toBe('worker'); // its own panels, not an empty merge of nobody's
        expect(l.workers).toBeUndefined();
        await lone.close();
      }
      one.close();
      two.close();
    });

    it("serves the cluster's aggregated metrics in a worker, and this worker's own if the primary does not answer", async () => {
      const agg = buildApp(deps({ clusterMetrics: async () => 'every_worker_total 9\n' }));
      const a = await agg.inject({ method: 'GET', url: '/metrics' });
      expect(a.body).toBe('every_worker_total 9\n');
      expect(a.headers['x-recspine-metrics-scope']).toBe('server');
      await agg.close();
      const lone = buildApp(deps({ clusterMetrics: () => Promise.reject(new Error('primary gone')) }));
      await lone.inject({ method: 'POST', url: '/v1/recommend/homepage', payload: { limit: 1 } });
      const b = await lone.inject({ method: 'GET', url: '/metrics' });
      expect(b.statusCode).toBe(200);
      expect(b.headers['x-recspine-metrics-scope']).toBe('worker');
      expect(b.body).toMatch(/recspine_stage_seconds_bucket/);
      await lone.close();
    });

    it('reports not ready with 503 when a dependency check fails', async () => {
      const a = buildApp(deps({ readiness: async () => ({ redis: { ok: false, detail: 'ECONNREFUSED' } }) }));
      const r = await a.inject({ method: 'GET', url: '/readyz' });
      expect(r.statusCode).toBe(503);
      await a.close();
    });
  });
});

describe('Experiments', () => {
  describe('assign', () => {
    it('keeps a user in one arm, splits users by weight, and holds back about the configured share', () => {
      const ex = new Experiments({
        name: 'e',
        holdbackFraction: 0.01,
        holdback: {},
        arms: [
          { name: 'a', weight: 3 },
          { name: 'b', weight: 1, coarseKeep: { homepage: 150 } },
        ],
      });
      const counts: Record<string, number> = {};
      for (let i = 0; i < 20_000; i++) {
        const u = `user${i}`;
        const arm = ex.assign(u, 'homepage').arm;
        expect(ex.assign(u, 'homepage').arm).toBe(arm);
        counts[arm] = (counts[arm] ?? 0) + 1;
      }
      expect(counts.holdback! / 20_000).toBeGreaterThan(0.005);
      expect(counts.holdback! / 20_000).toBeLessThan(0.015);
      expect(counts.a! / (counts.a! + counts.b!)).toBeGreaterThan(0.72);
      expect(counts.a! / (counts.a! + counts.b!)).toBeLessThan(0.78);
      const b = [...Array(200).keys()].map((i) => `user${i}`).find((u) => ex.assign(u, 'homepage').arm === 'b')!;
      expect(ex.assign(b, 'homepage').overrides).toEqual({ arm: 'b', coarseKeep: 150 });
    });

    it('changes arms at run time without moving users in or out of the holdback', () => {
      const spec = { name: 'e', holdbackFraction: 0.05, holdback: {}, arms: [{ name: 'a', weight: 1 }] };
      const ex = new Experiments(spec);
      const held = [...Array(2000).keys()].map((i) => `u${i}`).filter((u) => ex.assign(u, 'homepage').arm === 'holdback');
      ex.update({
        ...spec,
        arms: [
          { name: 'x', weight: 1 },
          { name: 'y', weight: 1 },
        ],
      });
      for (const u of held) expect(ex.assign(u, 'homepage').arm).toBe('holdback');
      expect(bucket('e', 'u1')).toBe(bucket('e', 'u1'));
    });
  });
});
