import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * `/metrics` of a server with several node:cluster workers: the whole server's series, not the
 * answering worker's. node:cluster hands each connection to one worker, so without this a scrape
 * reads whichever worker took it — counters that jump between workers' values and a histogram of
 * half the traffic.
 *
 * prom-client's `AggregatorRegistry` does the aggregation (counters and histograms summed, gauges
 * by their `aggregator`: sum unless the metric says otherwise); it must run in the primary, which
 * serves no HTTP here. So a worker that gets `GET /metrics` asks the primary over the cluster IPC
 * channel, the primary collects every worker's registry (prom-client's own request/response
 * messages) and sends the text back. Hand-written: this relay is the only part prom-client lacks.
 */
const REQ = 'recspine:cluster-metrics:req';
const RES = 'recspine:cluster-metrics:res';

interface MetricsRequest {
  readonly type: typeof REQ;
  readonly id: number;
}
interface MetricsResponse {
  readonly type: typeof RES;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

const isRequest = (m: unknown): m is MetricsRequest => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === REQ;
const isResponse = (m: unknown): m is MetricsResponse => typeof m === 'object' && m !== null && (m as { type?: unknown }).type === RES;

/** Primary: answer the workers' requests for the aggregated metrics. Call once, before forking. */
export function serveClusterMetrics(): void {
  const agg = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, msg: unknown) => {
    if (!isRequest(msg)) return;
    const reply = (r: Omit<MetricsResponse, 'type' | 'id'>): void => {
      if (worker.isConnected()) worker.send({ type: RES, id: msg.id, ...r });
    };
    agg.clusterMetrics().then(
      (text) => reply({ text }),
      (e: unknown) => reply({ error: e instanceof Error ? e.message : String(e) }),
    );
  });
}

/**
 * Worker: make `registry` the one the primary aggregates, and return a function that fetches the
 * whole server's metrics text through the primary (rejects after `timeoutMs`). `undefined` when
 * this process is not a cluster worker (then `registry.metrics()` is already the whole server).
 */
export function clusterMetricsClient(registry: Registry, timeoutMs = 5_000): (() => Promise<string>) | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // installs prom-client's worker listener, which answers the primary's collection
  let seq = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  process.on('message', (msg: unknown) => {
    if (!isResponse(msg)) return;
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.text !== undefined) p.resolve(msg.text);
    else p.reject(new Error(`cluster metrics: ${msg.error ?? 'no text'}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = ++seq;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`cluster metrics: the primary did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      process.send?.({ type: REQ, id } satisfies MetricsRequest);
    });
}

const GATHER_REQ = 'recspine:cluster-gather:req';
const GATHER_ASK = 'recspine:cluster-gather:ask';
const GATHER_ANS = 'recspine:cluster-gather:ans';
const GATHER_RES = 'recspine:cluster-gather:res';

interface GatherMsg {
  readonly type: string;
  readonly id: number;
  readonly kind: string;
  readonly value?: unknown;
  readonly values?: readonly unknown[];
  readonly error?: string;
}
const isGather = (m: unknown, type: string): m is GatherMsg =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;

/**
 * Primary: relay "gather" requests. A worker asks for `kind`; the primary asks every connected
 * worker (the asker included) for its value of `kind` and sends the list back. For state that is
 * not a Prometheus registry (the dashboard's histograms and counters). Gives up on a worker after
 * `timeoutMs` and answers with what it has.
 */
export function serveClusterGather(timeoutMs = 2_000): void {
  let seq = 0;
  const open = new Map<number, { values: unknown[]; pending: Set<number>; done: () => void }>();
  cluster.on('message', (worker: Worker, msg: unknown) => {
    if (isGather(msg, GATHER_ANS)) {
      const o = open.get(msg.id);
      if (o === undefined || !o.pending.delete(worker.id)) return;
      if (msg.error === undefined) o.values.push(msg.value);
      if (o.pending.size === 0) o.done();
      return;
    }
    if (!isGather(msg, GATHER_REQ)) return;
    const id = ++seq;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected());
    const o = { values: [] as unknown[], pending: new Set(workers.map((w) => w.id)), done: () => undefined as void };
    const timer = setTimeout(() => o.done(), timeoutMs);
    o.done = (): void => {
      clearTimeout(timer);
      open.delete(id);
      if (worker.isConnected()) worker.send({ type: GATHER_RES, id: msg.id, kind: msg.kind, values: o.values });
    };
    open.set(id, o);
    for (const w of workers) w.send({ type: GATHER_ASK, id, kind: msg.kind });
    if (workers.length === 0) o.done();
  });
}

/**
 * Worker side of {@link serveClusterGather}: answer the primary's asks with `providers[kind]()`, and
 * return `gather(kind)`, every worker's value (rejects after `timeoutMs`). `undefined` outside a
 * cluster worker.
 */
export function clusterGatherClient(
  providers: Readonly<Record<string, () => unknown>>,
  timeoutMs = 5_000,
): ((kind: string) => Promise<readonly unknown[]>) | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  let seq = 0;
  const pending = new Map<number, { resolve: (v: readonly unknown[]) => void; timer: NodeJS.Timeout }>();
  process.on('message', (msg: unknown) => {
    if (isGather(msg, GATHER_ASK)) {
      const provide = providers[msg.kind];
      let answer: GatherMsg;
      try {
        answer =
          provide === undefined
            ? { type: GATHER_ANS, id: msg.id, kind: msg.kind, error: `no provider for ${msg.kind}` }
            : { type: GATHER_ANS, id: msg.id, kind: msg.kind, value: provide() };
      } catch (e) {
        answer = { type: GATHER_ANS, id: msg.id, kind: msg.kind, error: e instanceof Error ? e.message : String(e) };
      }
      process.send?.(answer);
      return;
    }
    if (!isGather(msg, GATHER_RES)) return;
    const p = pending.get(msg.id);
    if (p === undefined) return;
    pending.delete(msg.id);
    clearTimeout(p.timer);
    p.resolve(msg.values ?? []);
  });
  return (kind) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`cluster gather ${kind}: the primary did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, { resolve, timer });
      process.send?.({ type: GATHER_REQ, id, kind } satisfies GatherMsg);
    });
}
