import { Gauge, type Registry } from 'prom-client';

/** Counter-like values read at scrape time (each source keeps its own monotonic counts). */
export interface OpsSources {
  /** Requests shed by the admission controller, by reason. */
  readonly shed: () => Readonly<Record<string, number>>;
  /** Event bus counters (published, delivered, deadLettered, handlerFailures, and spill counters when spilling). */
  readonly bus: () => Readonly<Record<string, number>>;
  /** Stream aggregator counters (applied, duplicates, failedBatches…). */
  readonly aggregator: () => Readonly<Record<string, number>>;
  /** Feature store counters (groupTimeouts, groupErrors…): missing features under a slow store. */
  readonly featureStore: () => Readonly<Record<string, number>>;
  /** Item index lifecycle (swaps, refusals, rollbacks). */
  readonly index: () => Readonly<Record<string, number>>;
  /** Faults injected on purpose (game day), by kind. */
  readonly faults: () => Readonly<Record<string, number>>;
  /** Fine model pushes, by outcome (accepted / refused). */
  readonly modelPushes: () => Readonly<Record<string, number>>;
  /** Planned-spike cap (1 = off). */
  readonly plannedCap: () => number;
  /** The end-of-video related-list cache: hits, misses, bypassed, size. */
  readonly relatedCache?: () => Readonly<Record<string, number>>;
}

/**
 * The operational series a game day (and an on-call engineer) reads next to core's tier counters
 * and breaker states: shed counts, event bus and spill counters, dead letters, aggregator
 * duplicates, feature-store group timeouts, index swaps/refusals/rollbacks, model pushes, injected
 * faults and the planned-spike cap. Each is a gauge filled at scrape time from the component's
 * own counters (prom-client `collect`), so nothing on the request path changes.
 */
export function registerOpsMetrics(registry: Registry, src: OpsSources): void {
  const labelled = (name: string, help: string, label: string, read: () => Readonly<Record<string, number>>): void => {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        for (const [k, v] of Object.entries(read())) if (typeof v === 'number' && Number.isFinite(v)) this.set({ [label]: k }, v);
      },
    });
  };
  labelled('recspine_shed_total', 'Requests shed with 503 + Retry-After, by reason (monotonic)', 'reason', src.shed);
  labelled('recspine_event_bus', 'Event bus counters: published, delivered, deadLettered, handlerFailures, spill*', 'stat', src.bus);
  labelled('recspine_stream_aggregator', 'Stream aggregator counters: applied, duplicates, failedBatches…', 'stat', src.aggregator);
  labelled('recspine_feature_store', 'Feature store counters: reads, groupTimeouts, groupErrors…', 'stat', src.featureStore);
  labelled('recspine_index_lifecycle', 'Item index lifecycle: swaps, refusals, rollbacks', 'stat', src.index);
  labelled('recspine_faults_injected', 'Failures injected on purpose through /admin (game day)', 'fault', src.faults);
  labelled('recspine_model_pushes', 'Fine model pushes through the registry, by outcome', 'outcome', src.modelPushes);
  if (src.relatedCache !== undefined)
    labelled('recspine_related_cache', 'End-of-video related-list cache: hits, misses, bypassed, size', 'stat', src.relatedCache);
  new Gauge({
    name: 'recspine_planned_spike_cap',
    help: 'Planned-spike ("Super Bowl") cap on the quality factor (1 = off)',
    registers: [registry],
    aggregator: 'min', // across cluster workers: the tightest cap in force
    collect() {
      this.set(src.plannedCap());
    },
  });
}
