import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry, collectDefaultMetrics, Counter, Gauge } from 'prom-client';
import { TeeMetricsSink } from '@recspine/core';
import { PrometheusMetricsSink } from '@recspine/core/prometheus';
import type { EventBus, RecEvent } from '@recspine/features';
import { InProcessEventBus, ItemCounters, KafkaEventBus, SpillingEventBus, StreamAggregator, validateEvent } from '@recspine/features';
import { ServedFeatureTap, buildVideoRecommender, type VideoRecommender } from '../serving/index.js';
import type { WorldPreset } from '../world/WorldConfig.js';
import { AdmissionController } from './AdmissionController.js';
import { registerAdminRoutes } from './AdminRoutes.js';
import { buildApp, type EventsResult, type ReadyCheck, type WorkerDashboard } from './app.js';
import { clusterGatherClient, clusterMetricsClient } from './clusterMetrics.js';
import type { ServerConfig } from './config.js';
import { DashboardSink } from './DashboardSink.js';
import { Experiments } from './Experiments.js';
import { FaultInjectingRanker } from './FaultInjectingRanker.js';
import { ImpressionLogger } from './ImpressionLogger.js';
import { LoadTrimmer } from './LoadTrimmer.js';
import { registerOpsMetrics } from './opsMetrics.js';

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly vr: VideoRecommender;
  readonly bus: EventBus;
  readonly aggregator: StreamAggregator;
  readonly trimmer: LoadTrimmer;
  /** Drains in-flight requests, flushes logs, commits offsets (closes the consumer), closes stores. */
  close(): Promise<void>;
}

/** Stage budgets of the server, ms. */
export const SERVER_BUDGETS = { retrieval: 20, coarse: 8, features: 15, fine: 15, rerank: 10 } as const;

/** The default experiment: control vs a treatment that trades relevance for diversity, plus a 1 % long-term holdback. */
export const DEFAULT_EXPERIMENT = {
  name: 'homepage-diversity-2026q4',
  holdbackFraction: 0.01,
  holdback: { params: { mmrLambda: 1, exploreFraction: 0 } },
  arms: [
    { name: 'control', weight: 1 },
    { name: 'more-diverse', weight: 1, params: { mmrLambda: 0.7 } },
  ],
} as const;

/**
 * Composes the whole server from a {@link ServerConfig}: metrics (Prometheus + dashboard), the
 * recommender (the serving module, embedded or production), the event bus (in-process or Kafka)
 * and the stream aggregator that keeps features, popularity and exploration stats fresh, the
 * admission controller, the adaptive trimmer, experiments, the impression log, and the HTTP app.
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const registry = new Registry();
  // The event-loop lag series sample the loop every 100 ms (prom-client's default is 10 ms: a timer
  // wake-up of an idle worker 100 times a second, for a gauge scraped every 15 s or so).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  // a cluster worker serves the whole server's /metrics, aggregated by the primary (clusterMetrics.ts)
  const clusterMetrics = clusterMetricsClient(registry);
  const dashboard = new DashboardSink(5_000);
  const metrics = new TeeMetricsSink([new PrometheusMetricsSink({ registry }), dashboard]);
  let fineFaults: FaultInjectingRanker | undefined;
  // Captures the fine/degraded model inputs for the impression log (only when there is a log).
  const servedFeatures = new ServedFeatureTap(config.impressionLog !== '');
  const vr = await buildVideoRecommender({
    preset: config.preset as WorldPreset,
    mode: config.mode,
    // fail fast: a Redis outage shows as store errors → degraded model + breaker, not as timeouts
    redis: { url: config.redisUrl, failFast: true },
    metrics,
    slaMs: config.slaMs,
    // The server's share of a 100 ms p99 SLA (85 ms), split per DESIGN §1 and sized on this
    // machine's measured stage costs; the sum (68 ms) leaves slack for the finalize reserve.
    budgets: SERVER_BUDGETS,
    coarseKeep: config.coarseKeep,
    relatedCacheMs: config.relatedCacheMs,
    ...(config.retrieveK > 0 ? { retrieveK: config.retrieveK } : {}),
    servedFeatures,
    ...(config.items > 0 ? { items: config.items } : {}),
    ...(config.ann === 'auto' ? {} : { ann: config.ann }),
    log: (line) => console.log(line),
    // Half-open trials every `breakerHalfOpenMs`: full personalisation returns that soon after a dependency does.
    breakers: { default: { halfOpenAfterMs: config.breakerHalfOpenMs } },
    wrapFine: (fine) => (fineFaults = new FaultInjectingRanker(fine)),
  });
  const fine = fineFaults as FaultInjectingRanker;

  // ---- streaming: events → bus → aggregator → feature store, popularity, exploration stats ----
  // Production: Kafka behind a bounded on-disk spill, so the API keeps accepting events while the
  // broker is unreachable (drained in order when it is back; 503 + Retry-After when the spill is full).
  let spill: SpillingEventBus | undefined;
  const bus: EventBus =
    config.mode === 'production'
      ? (spill = new SpillingEventBus(
          new KafkaEventBus({
            brokers: config.kafkaBrokers,
            topic: config.kafkaTopic,
            partitions: config.kafkaPartitions,
            // one consumer group per topic, so servers on other topics of a shared broker never rebalance it
            ...(config.kafkaTopic === 'recspine.events' ? {} : { groupId: `recspine-aggregator.${config.kafkaTopic}` }),
            consumer: { maxWaitTimeInMs: config.kafkaMaxWaitMs },
            patchIdleLoop: config.kafkaIdlePatch,
          }),
          {
            // one spill per cluster worker (they share the port; a spill is locked by one process)
            dir:
              config.spillDir ||
              join(
                tmpdir(),
                `recspine-spill-${config.kafkaTopic}-${config.port}${process.env.RECSPINE_WORKER_INDEX ? `-w${process.env.RECSPINE_WORKER_INDEX}` : ''}`,
              ),
            maxBytes: config.spillMaxBytes,
            publishTimeoutMs: config.spillPublishTimeoutMs,
          },
        ))
      : new InProcessEventBus({ partitions: 4 });
  // Bus counters plus the spill's (for /metrics, the dashboard and /admin/state).
  const busStats = (): Record<string, number> => {
    const s = spill?.spillStats();
    return {
      ...bus.stats(),
      ...(s === undefined
        ? {}
        : {
            spillPendingEvents: s.pendingEvents,
            spillPendingBytes: s.pendingBytes,
            spillMaxBytes: config.spillMaxBytes,
            spilledEvents: s.spooledEvents,
            spillDrainedEvents: s.drainedEvents,
            spillRejectedEvents: s.rejectedEvents,
          }),
    };
  };
  const counters = new ItemCounters();
  const itemStats = vr.aggregatorSinks.itemStats;
  const aggregator = new StreamAggregator({
    store: vr.featureStore,
    categories: vr.world.categoryNames,
    counters,
    popularity: vr.aggregatorSinks.popularity,
    // Exploration counts for the Thompson sampler (in-process; anonymous aggregates). Fed only the
    // events the aggregator applied, so redeliveries and re-published (spilled) copies never
    // double count.
    onApplied: (events) => {
      for (const e of events) {
        if (e.type === 'impression') itemStats.record(e.itemId, 1, 0);
        else if (e.type === 'click') itemStats.record(e.itemId, 0, 1);
      }
    },
  });
  await bus.start();
  // attach() subscribes with onReassign, so cached user states are dropped on every rebalance
  await aggregator.attach(bus);

  const eventsAccepted = new Counter({ name: 'recspine_events_accepted_total', help: 'Events accepted by the API', registers: [registry] });
  const eventsRejected = new Counter({
    name: 'recspine_events_rejected_total',
    help: 'Events rejected by validation',
    labelNames: ['code'],
    registers: [registry],
  });
  const qf = new Gauge({
    name: 'recspine_quality_factor',
    help: 'Adaptive trimming quality factor (1 = full candidate counts)',
    registers: [registry],
    aggregator: 'average', // each worker trims on its own latency
  });

  const publishEvents = async (events: readonly unknown[]): Promise<EventsResult> => {
    const good: RecEvent[] = [];
    const rejected: { index: number; code: string; message: string }[] = [];
    events.forEach((raw, index) => {
      const v = validateEvent(raw);
      if (v.ok) good.push(v.event);
      else {
        rejected.push({ index, code: v.error.code, message: v.error.message });
        eventsRejected.inc({ code: v.error.code });
      }
    });
    if (good.length > 0) {
      await bus.publish(good);
      eventsAccepted.inc(good.length);
      // CCPA: an opt-out purges right away, not only when the aggregator gets to it.
      for (const e of good) if (e.type === 'opt_out') await aggregator.optOut(e.userId);
    }
    return { accepted: good.length, rejected };
  };

  // ---- load protection ----
  const admission = new AdmissionController({
    maxInFlight: config.maxInFlight,
    maxLoopDelayMs: config.maxLoopDelayMs,
    targetLatencyMs: config.admissionTargetMs,
    targetLoopDelayMs: config.admissionLoopDelayMs,
  });
  const baseKeep = Object.fromEntries(vr.slots.map((s) => [s, vr.recommender.getCoarseKeep(s)]));
  const trimmer = new LoadTrimmer(vr.recommender, () => dashboard.recentP99Ms(), {
    baseKeep,
    targetP99Ms: config.trimTargetP99Ms,
    plannedCap: config.plannedSpikeCap,
  });

  const experiments = new Experiments(DEFAULT_EXPERIMENT);
  const impressions = new ImpressionLogger(config.impressionLog || undefined);
  const budgets: Record<string, Record<string, number>> = {};
  for (const s of vr.slots) {
    budgets[s] = { ...vr.budgets };
    for (const spec of vr.config.slots[s]?.sources ?? []) {
      if ('source' in spec && spec.budgetMs !== undefined)
        (budgets[s] as Record<string, number>)[`source:${spec.source.name}`] = spec.budgetMs;
      else if ('source' in spec) (budgets[s] as Record<string, number>)[`source:${spec.source.name}`] = vr.budgets.retrieval;
    }
  }

  let ready = false;
  const modelPushes = { accepted: 0, refused: 0 };
  registerOpsMetrics(registry, {
    shed: () => admission.shed,
    bus: busStats,
    aggregator: () => ({ ...aggregator.stats() }),
    featureStore: () => ({ ...vr.featureStore.stats() }),
    relatedCache: () => ({ ...vr.relatedCacheStats() }),
    index: () => {
      const s = vr.indexManager.state();
      return { swaps: s.swaps, refusals: s.refusals, rollbacks: s.rollbacks, size: s.size };
    },
    faults: () => fine.injected,
    modelPushes: () => modelPushes,
    plannedCap: () => trimmer.plannedCap,
  });
  // a cluster worker draws every worker's dashboard: each answers the primary with its sink's state
  const gather = clusterGatherClient({
    dashboard: (): WorkerDashboard => ({ sink: dashboard.exportState(), breakers: vr.recommender.breakers() }),
  });
  const app = buildApp({
    concurrency: config.concurrency,
    recommender: vr.recommender,
    experiments,
    admission,
    dashboard,
    impressions,
    servedFeatures,
    registry,
    ...(clusterMetrics === undefined ? {} : { clusterMetrics }),
    ...(gather === undefined ? {} : { gather }),
    budgets,
    publishEvents,
    deleteUser: async (userId) => {
      await aggregator.deleteUser(userId);
      return { deletedKeys: 1 };
    },
    readiness: async (): Promise<Record<string, ReadyCheck>> => {
      const checks: Record<string, ReadyCheck> = {
        models: { ok: vr.versions.models !== '', detail: vr.versions.models },
        index: { ok: vr.indexManager.version !== undefined, detail: vr.indexManager.version ?? 'none' },
        server: { ok: ready },
      };
      try {
        await vr.featureStore.read({ userId: '__readyz__', itemIds: [] });
        checks.featureStore = { ok: true };
      } catch (e) {
        checks.featureStore = { ok: false, detail: (e as Error).message };
      }
      return checks;
    },
    status: () => {
      qf.set(trimmer.qualityFactor);
      return {
        mode: config.mode,
        items: vr.world.manifest.config.items,
        // the served catalog (padded: `--items`) and the world's users, ids `v<i>` / `u<i>` (the load generator draws from them)
        catalogItems: vr.world.nItems,
        worldUsers: vr.world.nUsers,
        qualityFactor: trimmer.qualityFactor,
        indexVersion: vr.indexManager.version,
        indexState: vr.indexManager.state(),
        modelVersions: vr.versions,
        sampleUsers: vr.sampleUsers.slice(0, 50).map((u) => u.userId),
        sampleItems: vr.sampleItems.slice(0, 50),
        sampleQueries: vr.sampleQueries.slice(0, 20),
        bus: busStats(),
        aggregator: aggregator.stats(),
        featureStoreStats: vr.featureStore.stats(),
        plannedCap: trimmer.plannedCap,
        fineFault: fine.fault,
        fineModel: vr.fineModels.version,
        modelPushes,
      };
    },
    dashboardHtml: readFileSync(join(import.meta.dirname, 'dashboard.html'), 'utf8'),
    debugByDefault: config.debugByDefault,
  });
  if (config.admin) {
    registerAdminRoutes(app, {
      vr,
      fine,
      trimmer,
      modelPushes,
      state: () => ({ bus: busStats(), aggregator: aggregator.stats(), featureStore: vr.featureStore.stats() }),
    });
  }
  // Warm up before declaring ready: the first requests pay for JIT compilation, ONNX session
  // first-run allocation and cold caches (tens of ms each). Not logged as impressions.
  const warm = vr.sampleUsers.slice(0, 20);
  for (let i = 0; i < 60; i++) {
    const u = warm[i % Math.max(1, warm.length)];
    const slot = vr.slots[i % vr.slots.length] as string;
    await vr.recommender
      .recommend({
        slot,
        limit: 10,
        ...(u ? { userId: u.userId, context: { ...u.context, itemId: vr.sampleItems[i % vr.sampleItems.length] ?? 'v0' } } : {}),
        ...(slot === 'search' ? { query: vr.sampleQueries[i % Math.max(1, vr.sampleQueries.length)] ?? 'music' } : {}),
      })
      .catch(() => undefined);
  }
  admission.resetWindow();
  dashboard.reset();
  trimmer.reset();
  collectStartupGarbage(config.items > 100_000 ? (line) => console.log(line) : () => undefined);
  await app.listen({ host: config.host, port: config.port });
  ready = true;
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host}:${port}`;

  return {
    url,
    vr,
    bus,
    aggregator,
    trimmer,
    close: async () => {
      ready = false;
      await app.close(); // stops accepting and waits for in-flight requests
      trimmer.close();
      admission.close();
      dashboard.close();
      await impressions.close();
      await bus.close(); // the consumer commits what the aggregator finished
      await vr.close();
    },
  };
}

/**
 * One full GC before the server listens. Building a large catalog (padding, seeding, the index,
 * the query index) leaves a few hundred MB of garbage in the old generation; left alone, the first
 * Mark-Compact under traffic collected it — measured at 1M items: 90–360 ms pauses ~1–2 min after
 * start (`--trace-gc`), failing the first load steps it landed in. `--expose-gc` is switched on
 * at run time (the flag only exposes `gc`; nothing else changes).
 */
function collectStartupGarbage(log: (line: string) => void): void {
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const after = process.memoryUsage().heapUsed;
  log(
    `start-up garbage collected: heap ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MB in ${(performance.now() - t0).toFixed(0)} ms`,
  );
}
