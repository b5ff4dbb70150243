import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isRecSpineError } from '@recspine/core';
import { STREAM_GROUPS } from '@recspine/features';
import type { VideoRecommender } from '../serving/index.js';
import type { FaultInjectingRanker, RankerFault } from './FaultInjectingRanker.js';
import type { LoadTrimmer } from './LoadTrimmer.js';
import { mulberry32 } from '../mulberry32.js';

/** What the operator endpoints act on. */
export interface AdminDeps {
  readonly vr: VideoRecommender;
  readonly fine: FaultInjectingRanker;
  readonly trimmer: LoadTrimmer;
  /** Fine model pushes by outcome; the routes count into it (and /metrics reads it). */
  readonly modelPushes: Record<'accepted' | 'refused', number>;
  /** Extra state (bus, spill, aggregator, store counters) for `GET /admin/state`. */
  readonly state: () => Record<string, unknown>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const id = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:@-]+$' } as const;

/** Rebuilds of the item index the game day asks for: the same vectors, or corrupted ones. */
export type RebuildKind = 'same' | 'shuffle' | 'noise';

/**
 * Operator endpoints for game days and deploy hooks, registered only with `--admin true`, and
 * answering loopback callers only (403 `RECSPINE_ERR_VP_ADMIN_FORBIDDEN` otherwise):
 *
 * - `GET  /admin/state`: fault, index state, fine model versions, quality factor and spike cap, bus/spill/aggregator/store counters;
 * - `POST /admin/faults/fine {mode: none|throw|hang}`: the fine ranker's injected failure;
 * - `POST /admin/index/rebuild {kind: same|shuffle|noise}`: a rebuild of the item index from the
 *   served embeddings (`shuffle` permutes rows between ids, `noise` replaces them with random
 *   vectors); the `IndexManager` validates it in shadow and swaps or refuses it;
 * - `POST /admin/index/rollback`: back to the previous index version (the time it took is returned);
 * - `POST /admin/models/fine {path, version}`: push a fine model file through the rank `ModelRegistry`
 *   (spec check + smoke test; 409 with the code when refused, the old version keeps serving);
 * - `POST /admin/spike {cap}`: the planned-spike ("Super Bowl") cap on the quality factor, at run time;
 * - `POST /admin/items/counters {itemIds}`: the streaming item counters (`*_total`) from the feature store.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { vr } = deps;
  app.register(
    async (scope) => {
      scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
        if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
          return reply
            .code(403)
            .send({ code: 'RECSPINE_ERR_VP_ADMIN_FORBIDDEN', category: 'client', message: 'admin endpoints are loopback-only' });
        }
        return undefined;
      });

      scope.get('/state', async () => ({
        fineFault: deps.fine.fault,
        faultsInjected: deps.fine.injected,
        index: vr.indexManager.state(),
        fineModels: vr.fineModels.describe(),
        modelPushes: deps.modelPushes,
        qualityFactor: deps.trimmer.qualityFactor,
        plannedCap: deps.trimmer.plannedCap,
        breakers: vr.recommender.breakers(),
        ...deps.state(),
      }));

      scope.post<{ Body: { mode: RankerFault } }>(
        '/faults/fine',
        {
          schema: {
            body: {
              type: 'object',
              required: ['mode'],
              additionalProperties: false,
              properties: { mode: { enum: ['none', 'throw', 'hang'] } },
            },
          },
        },
        async (req) => {
          deps.fine.setFault(req.body.mode);
          return { fineFault: deps.fine.fault };
        },
      );

      scope.post<{ Body: { kind: RebuildKind } }>(
        '/index/rebuild',
        {
          schema: {
            body: {
              type: 'object',
              required: ['kind'],
              additionalProperties: false,
              properties: { kind: { enum: ['same', 'shuffle', 'noise'] } },
            },
          },
        },
        async (req, reply) => {
          const { ids, vectors } = servedEmbeddings(vr, req.body.kind);
          const t0 = performance.now();
          try {
            const r = await vr.indexManager.rebuild({ ids, vectors, version: `${req.body.kind}-${Date.now()}` });
            const ms = performance.now() - t0;
            return r.accepted
              ? { accepted: true, version: r.version, ms }
              : reply
                  .code(409)
                  .send({ accepted: false, version: r.version, code: r.code, reason: r.reason, ms, serving: vr.indexManager.version });
          } catch (e) {
            return reply.code(409).send({ accepted: false, code: isRecSpineError(e) ? e.code : 'unknown', reason: (e as Error).message });
          }
        },
      );

      scope.post('/index/rollback', async (_req, reply) => {
        const t0 = performance.now();
        try {
          const version = vr.indexManager.rollback();
          return { version, ms: performance.now() - t0 };
        } catch (e) {
          return reply.code(409).send({ code: isRecSpineError(e) ? e.code : 'unknown', message: (e as Error).message });
        }
      });

      scope.post<{ Body: { path: string; version?: string } }>(
        '/models/fine',
        {
          schema: {
            body: {
              type: 'object',
              required: ['path'],
              additionalProperties: false,
              properties: { path: { type: 'string', minLength: 1, maxLength: 4096 }, version: id },
            },
          },
        },
        async (req, reply) => {
          try {
            const info = await vr.fineModels.load(req.body.path, req.body.version);
            deps.modelPushes.accepted++;
            return { accepted: true, serving: info.version };
          } catch (e) {
            deps.modelPushes.refused++;
            return reply.code(409).send({
              accepted: false,
              code: isRecSpineError(e) ? e.code : 'unknown',
              message: (e as Error).message,
              serving: vr.fineModels.version,
            });
          }
        },
      );

      scope.post<{ Body: { cap: number } }>(
        '/spike',
        {
          schema: {
            body: {
              type: 'object',
              required: ['cap'],
              additionalProperties: false,
              properties: { cap: { type: 'number', minimum: 0.1, maximum: 1 } },
            },
          },
        },
        async (req) => {
          deps.trimmer.setPlannedCap(req.body.cap);
          return { plannedCap: deps.trimmer.plannedCap, qualityFactor: deps.trimmer.qualityFactor };
        },
      );

      scope.post<{ Body: { itemIds: string[] } }>(
        '/items/counters',
        {
          schema: {
            body: {
              type: 'object',
              required: ['itemIds'],
              additionalProperties: false,
              properties: { itemIds: { type: 'array', maxItems: 5000, items: id } },
            },
          },
        },
        async (req) => {
          // Operator read: retry a group that missed its (serving-sized) read deadline a few times.
          let b = await vr.featureStore.read({ itemIds: req.body.itemIds, groups: [STREAM_GROUPS.item] });
          for (let i = 0; i < 5 && b.missingGroups.size > 0; i++)
            b = await vr.featureStore.read({ itemIds: req.body.itemIds, groups: [STREAM_GROUPS.item] });
          const totals = (row: Record<string, unknown> | undefined): Record<string, number> =>
            Object.fromEntries(Object.entries(row ?? {}).filter(([k, v]) => k.endsWith('_total') && typeof v === 'number')) as Record<
              string,
              number
            >;
          return {
            items: Object.fromEntries(
              req.body.itemIds.map((itemId, i) => [itemId, totals(b.items[i] as Record<string, unknown> | undefined)]),
            ),
            missingGroups: [...b.missingGroups.keys()],
          };
        },
      );
    },
    { prefix: '/admin' },
  );
}

/** The served item embeddings (from the catalog), optionally corrupted. */
function servedEmbeddings(vr: VideoRecommender, kind: RebuildKind): { ids: string[]; vectors: Float32Array } {
  const n = vr.world.nItems;
  const ids: string[] = [];
  let dims = 0;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const e = vr.catalog.get(`v${i}`)?.embedding;
    if (e === undefined) continue;
    ids.push(`v${i}`);
    rows.push(e);
    dims = e.length;
  }
  const vectors = new Float32Array(rows.length * dims);
  // Deterministic permutation / noise (mulberry32), so two game days corrupt the same way.
  const rand = mulberry32(0x5eed);
  const order = rows.map((_, i) => i);
  if (kind === 'shuffle') {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
  }
  for (let r = 0; r < rows.length; r++) {
    if (kind === 'noise') for (let d = 0; d < dims; d++) vectors[r * dims + d] = rand() * 2 - 1;
    else vectors.set(rows[order[r] as number] as Float32Array, r * dims);
  }
  return { ids, vectors };
}
