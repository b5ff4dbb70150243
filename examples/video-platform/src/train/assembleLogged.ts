import type { Candidate, FeatureBatch, MissingReason, StageContext } from '@recspine/core';
import type { FeatureAssemblerSpec } from '@recspine/rank';
import { FeatureAssembler } from '@recspine/rank';
import type { WorldData } from '../world/WorldData.js';
import type { Norms } from './featureSets.js';
import { USER_EMBEDDING_STATE, ZSCORED } from './featureSets.js';

/** What the logged rows are assembled from besides the world: the two-tower outputs, when trained. */
export interface LoggedEmbeddings {
  /** User embedding of every logged session (`[sessions × dim]`), from its served features. */
  readonly session?: Float32Array;
  /** Item-tower embedding of every item (`[items × dim]`). */
  readonly item?: Float32Array;
  readonly dim: number;
}

const NEVER = new AbortController().signal;

/** A stage context for an offline (logged) request. */
export function offlineCtx(request: StageContext['request'], state: Map<string, unknown>): StageContext {
  return {
    request,
    requestId: 'offline',
    stage: 'offline',
    signal: NEVER,
    deadlineAt: Number.POSITIVE_INFINITY,
    remainingMs: () => Number.POSITIVE_INFINITY,
    state,
    params: {},
  };
}

/**
 * Assembles logged impressions into a model's input matrix **through the rank package's
 * `FeatureAssembler`** — the exact code that builds serving inputs. Each logged session is
 * replayed as a request: its served user row and served item rows form the `FeatureBatch`, its
 * items become candidates with their catalog `ItemMeta` (counters as served then) and item-tower
 * embedding, the request context carries region/device/language/nowMs, and `ctx.state` holds the
 * session's user embedding. `rows` are impression indices in increasing order; consecutive rows of
 * one session are assembled as one batch. `drop(session)` lists feature groups to mark missing for
 * that request (missing-feature augmentation: the same path as a group timing out at serving).
 */
export function assembleLogged(
  spec: FeatureAssemblerSpec,
  data: WorldData,
  emb: LoggedEmbeddings,
  rows: Int32Array,
  drop?: (session: number) => ReadonlySet<string> | undefined,
): { X: Float32Array; width: number; columns: readonly string[] } {
  const asm = new FeatureAssembler(spec);
  const W = asm.width;
  const X = new Float32Array(rows.length * W);
  const imp = data.impressions;
  const E = emb.dim;
  let j = 0;
  while (j < rows.length) {
    const s = imp.session[rows[j] as number] as number;
    let end = j + 1;
    while (end < rows.length && imp.session[rows[end] as number] === s) end++;
    const items = [];
    const cands: Candidate[] = [];
    const ids: string[] = [];
    for (let k = j; k < end; k++) {
      const r = rows[k] as number;
      const i = imp.item[r] as number;
      ids.push(`v${i}`);
      items.push(data.itemRowOfImpression(r));
      const meta = data.catalogMeta(
        i,
        imp.itemImps[r] as number,
        imp.itemClicks[r] as number,
        imp.itemWatch[r] as number,
        emb.item?.subarray(i * E, (i + 1) * E),
      );
      cands.push({ itemId: `v${i}`, score: 0, retrievalScore: 0, sources: [], sourceScores: [], meta });
    }
    const dropped = drop?.(s);
    const missingGroups = new Map<string, MissingReason>();
    if (dropped) for (const g of dropped) missingGroups.set(g, 'timeout');
    const u = data.sessions.user[s] as number;
    const batch: FeatureBatch = { userId: `u${u}`, itemIds: ids, user: data.userRowOfSession(s), items, missingGroups };
    const state = new Map<string, unknown>();
    if (emb.session) state.set(USER_EMBEDDING_STATE, emb.session.subarray(s * E, (s + 1) * E));
    const ctx = offlineCtx({ slot: 'logged', userId: `u${u}`, limit: end - j, context: data.contextOfSession(s) }, state);
    const lease = asm.assemble({ batch, candidates: cands, ctx });
    X.set(lease.data, j * W);
    lease.release();
    j = end;
  }
  return { X, width: W, columns: asm.columns };
}

/**
 * Assembles catalog items (the split snapshot: item rows and `ItemMeta`, request time = the split)
 * through the rank `FeatureAssembler`, in chunks of the spec's `maxBatch`. Used for the item tower.
 */
export function assembleCatalog(
  spec: FeatureAssemblerSpec,
  data: WorldData,
  items: Int32Array,
): { X: Float32Array; width: number; columns: readonly string[] } {
  const asm = new FeatureAssembler(spec);
  const W = asm.width;
  const X = new Float32Array(items.length * W);
  const ctx = offlineCtx({ slot: 'catalog', limit: 1, context: { nowMs: data.ms(data.manifest.splitS) } }, new Map());
  for (let j = 0; j < items.length; j += spec.maxBatch) {
    const chunk = items.subarray(j, Math.min(items.length, j + spec.maxBatch));
    const ids = Array.from(chunk, (i) => `v${i}`);
    const rows = Array.from(chunk, (i) => data.itemRowAtSplit(i));
    const cands: Candidate[] = Array.from(chunk, (i) => ({
      itemId: `v${i}`,
      score: 0,
      retrievalScore: 0,
      sources: [],
      sourceScores: [],
      meta: data.catalogMetaAtSplit(i),
    }));
    const batch: FeatureBatch = { userId: undefined, itemIds: ids, user: {}, items: rows, missingGroups: new Map() };
    const lease = asm.assemble({ batch, candidates: cands, ctx });
    X.set(lease.data, j * W);
    lease.release();
  }
  return { X, width: W, columns: asm.columns };
}

/** The z-score of every {@link ZSCORED} feature present in `columns`, over the first `rows` rows of `X`. */
export function normsFromMatrix(X: Float32Array, width: number, columns: readonly string[], rows: number): Norms {
  const out: Record<string, { mean: number; std: number }> = {};
  for (const name of ZSCORED) {
    const j = columns.indexOf(name);
    if (j < 0) continue;
    let s = 0;
    let s2 = 0;
    for (let r = 0; r < rows; r++) {
      const v = X[r * width + j] as number;
      s += v;
      s2 += v * v;
    }
    const mean = s / Math.max(1, rows);
    const std = Math.sqrt(Math.max(0, s2 / Math.max(1, rows) - mean * mean));
    out[name] = { mean, std: std > 1e-6 ? std : 1 };
  }
  return out;
}

/**
 * Fits the z-score of every {@link ZSCORED} numeric feature a spec has, on (up to `max`) logged
 * rows assembled without normalisation. Returns the norms to build the final spec with.
 */
export function fitNorms(
  specOf: (norms?: Norms) => FeatureAssemblerSpec,
  data: WorldData,
  emb: LoggedEmbeddings,
  rows: Int32Array,
  max = 50_000,
): Norms {
  const take = Math.min(rows.length, max);
  const stride = rows.length / take;
  // Sample whole stretches so sessions stay together (the order must stay increasing).
  const sample = Int32Array.from({ length: take }, (_, k) => rows[Math.floor(k * stride)] as number);
  const { X, width, columns } = assembleLogged(specOf(undefined), data, emb, sample);
  return normsFromMatrix(X, width, columns, take);
}
