import pLimit from 'p-limit';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HookHandlerDoneFunction,
} from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import { isRecSpineError, type BreakerSnapshot, type RecRequest, type RecResponse, type Recommender } from '@recspine/core';
import type { AdmissionController, ShedReason } from './AdmissionController.js';
import { BREAKER_RANK, DashboardSink, type DashboardState } from './DashboardSink.js';
import type { Experiments } from './Experiments.js';
import type { ServedFeatures } from '../serving/ServedFeatureTap.js';
import type { ImpressionLogger } from './ImpressionLogger.js';
import { recommendBodySchema, eventsBodySchema, userParamsSchema } from './schemas.js';

/** Result of posting events. */
export interface EventsResult {
  readonly accepted: number;
  readonly rejected: readonly { readonly index: number; readonly code: string; readonly message: string }[];
}

/** One dependency check for /readyz. */
export interface ReadyCheck {
  readonly ok: boolean;
  readonly detail?: string;
}

/** What the HTTP layer needs; the composition root (`compose.ts`) builds it. */
export interface ServerDeps {
  readonly recommender: Recommender;
  readonly experiments: Experiments;
  readonly admission: AdmissionController;
  readonly dashboard: DashboardSink;
  readonly impressions: ImpressionLogger;
  readonly registry: Registry;
  /** Budgets per slot (stage → ms, and `source:<name>` → ms) for the dashboard's Gantt. */
  readonly budgets: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly publishEvents: (events: readonly unknown[]) => Promise<EventsResult>;
  readonly deleteUser: (userId: string) => Promise<{ readonly deletedKeys: number }>;
  readonly readiness: () => Promise<Readonly<Record<string, ReadyCheck>>>;
  /** Extra JSON for the dashboard (breakers, index version, model versions, sample users…). */
  readonly status?: () => Record<string, unknown>;
  /** Serves the dashboard's HTML. */
  readonly dashboardHtml?: string;
  /** Include the debug block unless the request says `debug: false`. Default true. */
  readonly debugByDefault?: boolean;
  /** The model inputs per request (`ServedFeatureTap`), logged with the impressions. */
  readonly servedFeatures?: ServedFeatureSource;
  /** Largest body accepted, bytes. Default 64 KiB. */
  readonly bodyLimit?: number;
  /** Recommendations run at once; later ones queue FIFO, the wait counted against the SLA. 0 or absent = no limit. */
  readonly concurrency?: number;
  /**
   * The whole server's metrics when this process is one of several node:cluster workers
   * (`clusterMetricsClient`): `GET /metrics` serves them instead of this worker's own.
   */
  readonly clusterMetrics?: () => Promise<string>;
  /**
   * Every node:cluster worker's value of a named state (`clusterGatherClient`); with it,
   * `GET /v1/dashboard` draws every worker's requests instead of this worker's.
   */
  readonly gather?: (kind: string) => Promise<readonly unknown[]>;
}

/** What each worker gives for the cluster dashboard (`gather('dashboard')`). */
export interface WorkerDashboard {
  readonly sink: DashboardState;
  readonly breakers: readonly BreakerSnapshot[];
}

/** Where the impression log gets the served features of a request (the serving module's `ServedFeatureTap`). */
export interface ServedFeatureSource {
  take(requestId: string, itemIds: readonly string[]): ServedFeatures | undefined;
}

/** Stable error codes of the HTTP layer (beside the SDK's). */
export const HTTP_ERRORS = {
  invalid: 'RECSPINE_ERR_INVALID_REQUEST',
  unknownSlot: 'RECSPINE_ERR_UNKNOWN_SLOT',
  tooLarge: 'RECSPINE_ERR_BODY_TOO_LARGE',
  malformed: 'RECSPINE_ERR_MALFORMED_BODY',
  overloaded: 'RECSPINE_ERR_OVERLOADED',
  notFound: 'RECSPINE_ERR_NOT_FOUND',
  internal: 'RECSPINE_ERR_INTERNAL',
} as const;

interface RecommendBody {
  userId?: string;
  requestId?: string;
  limit?: number;
  query?: string;
  itemId?: string;
  context?: { region?: string; device?: string; language?: string };
  debug?: boolean;
}

/** This process's pid, in a response's debug block (`debug.worker`): which node:cluster worker answered. */
const WORKER_PID = process.pid;
/**
 * Builds the fastify app: `POST /v1/recommend/:slot`, `POST /v1/events`, `DELETE /v1/users/:id`,
 * `GET /metrics`, `/healthz`, `/readyz`, and the dashboard (`GET /`, `GET /v1/dashboard`).
 *
 * Every request is validated (fastify's JSON schema for the wire format, then the SDK's own
 * request validation); every rejection carries a stable code and the field at fault. Excess load
 * is shed with a fast 503 and Retry-After before any work is done — before the body is even read.
 */
export function buildApp(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit ?? 64 * 1024,
    // Deep or huge JSON is rejected by the body limit and by the schema's additionalProperties.
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
    // Errors the router raises before any route runs (bad URL encoding, a path parameter over
    // `maxParamLength`): coded like every other rejection, not fastify's uncoded default body.
    frameworkErrors: (err, _req, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void (reply as unknown as FastifyReply).code(tooLong ? 414 : 400).send({
        code: tooLong ? HTTP_ERRORS.invalid : HTTP_ERRORS.malformed,
        category: 'client',
        field: 'url',
        message: err.message.slice(0, 200),
      });
    },
  });
  const slots = new Set(deps.recommender.slotNames);
  // Per experiment arm: latency and outcome, so every metric that matters can be split by arm.
  const byArm = new Histogram({
    name: 'recspine_http_recommend_seconds',
    help: 'HTTP recommend latency by slot, experiment arm and whether the response was degraded',
    labelNames: ['slot', 'arm', 'degraded'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.2, 0.5],
    registers: [deps.registry],
  });
  const debugDefault = deps.debugByDefault ?? true;
  // p-limit: a FIFO queue in front of the pipeline (see the `concurrency` config for why).
  const gate = deps.concurrency !== undefined && deps.concurrency > 0 ? pLimit(deps.concurrency) : undefined;

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.validation) {
      const v = err.validation[0];
      const path = v?.instancePath ? v.instancePath.slice(1).replace(/\//g, '.') : '';
      const missing = (v?.params as { missingProperty?: string; additionalProperty?: string } | undefined) ?? {};
      const field =
        [path, missing.missingProperty ?? missing.additionalProperty].filter(Boolean).join('.') || err.validationContext || 'body';
      return reply
        .code(400)
        .send({ code: HTTP_ERRORS.invalid, category: 'client', field, message: `${field} ${v?.message ?? 'is invalid'}` });
    }
    if (err.statusCode === 413) return reply.code(413).send({ code: HTTP_ERRORS.tooLarge, category: 'client', message: err.message });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ code: HTTP_ERRORS.malformed, category: 'client', message: err.message });
    }
    return reply.code(500).send({ code: HTTP_ERRORS.internal, category: 'server', message: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ code: HTTP_ERRORS.notFound, category: 'client', message: `no route ${req.method} ${req.url}` }),
  );

  // Load shedding runs first, in the route's onRequest hook: before the body is read, parsed or
  // validated, so a 503 costs the loop nothing but the headers. Its body is serialized once per
  // reason up front, and the shed path does no logging or metrics beyond a counter increment.
  const shedBodies = Object.fromEntries(
    (['in_flight', 'loop_delay', 'adaptive_limit'] as const).map((reason) => [
      reason,
      JSON.stringify({ code: HTTP_ERRORS.overloaded, category: 'server', reason, message: 'overloaded, retry later' }),
    ]),
  ) as Record<ShedReason, string>;
  const retryAfter = String(deps.admission.retryAfterSeconds);
  const admit = (_req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const shed = deps.admission.tryAdmit();
    if (shed !== undefined) {
      void reply.code(503).header('retry-after', retryAfter).type('application/json; charset=utf-8').send(shedBodies[shed]);
      return;
    }
    // Released when the response is done, whatever ended it (handler, validation error, aborted
    // connection): 'close' is emitted exactly once per response, keep-alive or not. (A request whose
    // client hung up is released while its work may still run: the hard cap bounds that case.)
    const admittedAt = performance.now();
    reply.raw.once('close', () => deps.admission.release(performance.now() - admittedAt));
    done();
  };

  app.post<{ Params: { slot: string }; Body: RecommendBody }>(
    '/v1/recommend/:slot',
    { schema: { body: recommendBodySchema }, onRequest: admit },
    async (req, reply) => {
      const slot = req.params.slot;
      if (!slots.has(slot)) {
        return reply
          .code(404)
          .send({ code: HTTP_ERRORS.unknownSlot, category: 'client', field: 'slot', message: `unknown slot '${slot.slice(0, 64)}'` });
      }
      const b = req.body ?? {};
      if (slot === 'end-of-video' && b.itemId === undefined) {
        return reply
          .code(400)
          .send({ code: HTTP_ERRORS.invalid, category: 'client', field: 'itemId', message: 'end-of-video needs the just-watched itemId' });
      }
      if (slot === 'search' && (b.query === undefined || b.query.trim() === '')) {
        return reply
          .code(400)
          .send({ code: HTTP_ERRORS.invalid, category: 'client', field: 'query', message: 'search needs a non-empty query' });
      }
      try {
        const assignment = deps.experiments.assign(b.userId, slot);
        const request: RecRequest = {
          slot,
          limit: b.limit ?? 20,
          ...(b.userId !== undefined ? { userId: b.userId } : {}),
          ...(b.query !== undefined ? { query: b.query } : {}),
          ...(b.requestId !== undefined ? { requestId: b.requestId } : {}),
          context: { ...b.context, ...(b.itemId !== undefined ? { itemId: b.itemId } : {}), nowMs: Date.now() },
          overrides: assignment.overrides,
        };
        const t0 = performance.now();
        const res =
          gate === undefined
            ? await deps.recommender.recommend(request)
            : await gate(() => deps.recommender.recommend(request, { startedAt: t0 }));
        byArm.observe({ slot, arm: assignment.arm, degraded: res.degraded.length > 0 ? 'true' : 'false' }, (performance.now() - t0) / 1000);
        logImpressions(deps.impressions, res, b.userId, deps.servedFeatures);
        return reply.send(render(res, b.debug ?? debugDefault));
      } catch (e) {
        if (isRecSpineError(e) && e.category === 'client') {
          return reply
            .code(e.code === HTTP_ERRORS.unknownSlot ? 404 : 400)
            .send({ code: e.code, category: 'client', field: e.field, message: e.message });
        }
        return reply.code(500).send({ code: HTTP_ERRORS.internal, category: 'server', message: 'internal error' });
      }
    },
  );

  app.post<{ Body: unknown }>('/v1/events', { schema: { body: eventsBodySchema } }, async (req, reply) => {
    const body = req.body as { events?: unknown[] } | unknown[];
    const events = Array.isArray(body) ? body : (body.events ?? []);
    let result: EventsResult;
    try {
      result = await deps.publishEvents(events);
    } catch (e) {
      // The event spill (Kafka down) is full: a fast, coded 503 the client retries, not a 500.
      if (isRecSpineError(e) && e.code === 'RECSPINE_ERR_EVENTS_SPILL_FULL') {
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ code: e.code, category: 'dependency', message: 'event buffer full while the event log is unreachable; retry later' });
      }
      throw e;
    }
    return reply.code(result.accepted > 0 || result.rejected.length === 0 ? 202 : 400).send(result);
  });

  app.delete<{ Params: { id: string } }>('/v1/users/:id', { schema: { params: userParamsSchema } }, async (req, reply) => {
    const r = await deps.deleteUser(req.params.id);
    return reply.send({ userId: req.params.id, ...r });
  });

  // `x-recspine-metrics-scope`: `server` (every worker, aggregated by the cluster primary) or
  // `worker` (this process only: a single-process server, or the primary did not answer in time).
  app.get('/metrics', async (req, reply) => {
    let text: string | undefined;
    if (deps.clusterMetrics !== undefined) {
      try {
        text = await deps.clusterMetrics();
      } catch (e) {
        req.log.warn({ err: e }, 'cluster metrics unavailable; serving this worker only');
      }
    }
    const scope = text !== undefined || deps.clusterMetrics === undefined ? 'server' : 'worker';
    return reply
      .header('content-type', deps.registry.contentType)
      .header('x-recspine-metrics-scope', scope)
      .send(text ?? (await deps.registry.metrics()));
  });
  // pid: which node:cluster worker answered (the load bench counts listening workers with it)
  app.get('/healthz', async () => ({ ok: true, pid: process.pid }));
  app.get('/readyz', async (_req, reply) => {
    const checks = await deps.readiness();
    const ready = Object.values(checks).every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  // With several workers the latency, source, tier and breaker panels are every worker's (the
  // primary gathers each one's HDR histograms and counters); admission, impressions and the
  // experiment are this worker's. `scope` says which.
  app.get('/v1/dashboard', async (req) => {
    let merged: { sink: Record<string, unknown>; breakers: readonly BreakerSnapshot[] } | undefined;
    if (deps.gather !== undefined) {
      try {
        const all = (await deps.gather('dashboard')) as readonly WorkerDashboard[];
        if (all.length === 0) throw new Error('no worker answered');
        const worst = new Map<string, BreakerSnapshot>();
        for (const b of all.flatMap((w) => w.breakers)) {
          const prev = worst.get(b.name);
          if (prev === undefined || BREAKER_RANK[b.state] > BREAKER_RANK[prev.state]) worst.set(b.name, b);
        }
        merged = {
          sink: DashboardSink.mergeExported(
            all.map((w) => w.sink),
            deps.budgets,
          ),
          breakers: [...worst.values()],
        };
      } catch (e) {
        req.log.warn({ err: e }, 'cluster dashboard unavailable; serving this worker only');
      }
    }
    return {
      ...(merged?.sink ?? deps.dashboard.snapshot(deps.budgets)),
      scope: merged !== undefined || deps.gather === undefined ? 'server' : 'worker',
      admission: { ...deps.admission.current, shed: deps.admission.shed, admitted: deps.admission.admitted },
      impressions: { written: deps.impressions.written, dropped: deps.impressions.dropped },
      breakers: merged?.breakers ?? deps.recommender.breakers(),
      experiment: deps.experiments.current,
      ...deps.status?.(),
    };
  });
  if (deps.dashboardHtml) {
    const html = deps.dashboardHtml;
    app.get('/', async (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(html));
  }
  return app;
}

function render(res: RecResponse, debug: boolean): Record<string, unknown> {
  const items = res.items.map((i) => ({
    itemId: i.itemId,
    position: i.position,
    score: i.score,
    ...(i.explore ? { explore: i.explore } : {}),
    ...(debug ? { sources: i.sources, heads: i.heads } : {}),
  }));
  const out: Record<string, unknown> = { requestId: res.requestId, slot: res.slot, arm: res.arm, items, degraded: res.degraded.length > 0 };
  if (debug) {
    out.debug = {
      timings: res.timings,
      sources: res.sources,
      degradation: res.degraded,
      orderedBy: res.orderedBy,
      modelVersions: res.modelVersions,
      candidateCounts: res.candidateCounts,
      explored: res.items.filter((i) => i.explore).map((i) => i.position),
      worker: WORKER_PID,
    };
  }
  return out;
}

function logImpressions(log: ImpressionLogger, res: RecResponse, userId: string | undefined, tap?: ServedFeatureSource): void {
  if (!log.enabled) return;
  const features = tap?.take(
    res.requestId,
    res.items.map((i) => i.itemId),
  );
  log.log({
    ts: Date.now(),
    requestId: res.requestId,
    userId,
    slot: res.slot,
    arm: res.arm,
    orderedBy: res.orderedBy,
    degraded: res.degraded.map((d) => `${d.mode}:${d.tier}`),
    items: res.items.map((i) => ({
      itemId: i.itemId,
      position: i.position,
      score: i.score,
      propensity: i.explore?.propensity ?? 1,
      explored: i.explore !== undefined,
      ...(i.heads ? { heads: i.heads } : {}),
    })),
    ...(features === undefined ? {} : { features }),
  });
}
