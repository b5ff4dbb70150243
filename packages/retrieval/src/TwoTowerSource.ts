import type { FeatureRow, RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import type { AnnSearcher } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import type { UserEncoder } from './UserEncoder.js';

/** The key under which the user embedding is left in `ctx.state` (the coarse ranker reuses it). */
export const USER_EMBEDDING_STATE_KEY = 'userEmbedding';

/** Options of a {@link TwoTowerSource}. */
export interface TwoTowerSourceOptions {
  /** Default `two-tower`. */
  readonly name?: string;
  /** Reads the user's online features (e.g. the features package's store). */
  readonly userFeatures: (ctx: StageContext, userId: string) => Promise<FeatureRow | undefined>;
  readonly encoder: UserEncoder;
  /** The item index: an `IndexManager` (versioned), an `AnnIndex` or an `AnnWorkerPool`. */
  readonly index: AnnSearcher;
  /** Optional pre-filter per request, e.g. region restrictions. Return undefined for none. */
  readonly predicate?: (ctx: StageContext) => ((itemId: string) => boolean) | undefined;
}

/**
 * Two-tower retrieval: user features → user tower → ANN search over item embeddings.
 *
 * - No user id, no features, or a row the encoder finds empty: returns `[]` at once, so the
 *   cold-start sources carry the slot.
 * - Leaves the user embedding in `ctx.state.get('userEmbedding')` (a `Float32Array`) for the
 *   coarse ranker.
 * - Stops between steps once `ctx.signal` fired; the search itself cannot be interrupted.
 *
 * @example
 * ```ts
 * const twoTower = new TwoTowerSource({
 *   userFeatures: (ctx, userId) => store.getUser(userId, ctx.signal),
 *   encoder: await OnnxUserTower.create({ model, features }),
 *   index: manager,
 * });
 * ```
 */
export class TwoTowerSource implements RetrievalSource {
  readonly name: string;
  private readonly o: TwoTowerSourceOptions;

  constructor(options: TwoTowerSourceOptions) {
    if (
      typeof options?.userFeatures !== 'function' ||
      typeof options.encoder?.encode !== 'function' ||
      typeof options.index?.search !== 'function'
    ) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'two-tower source needs userFeatures, encoder and index', {
        stage: 'retrieval/two-tower',
      });
    }
    this.name = options.name ?? 'two-tower';
    this.o = options;
  }

  async retrieve(ctx: StageContext, k: number): Promise<RetrievedItem[]> {
    const userId = ctx.request.userId;
    if (userId === undefined || k <= 0) return [];
    const row = await this.o.userFeatures(ctx, userId);
    if (row === undefined || ctx.signal.aborted) return [];
    const vec = await this.o.encoder.encode(row);
    if (vec === undefined || ctx.signal.aborted) return [];
    ctx.state.set(USER_EMBEDDING_STATE_KEY, vec);
    const predicate = this.o.predicate?.(ctx);
    const hits = await this.o.index.search(vec, k, predicate === undefined ? undefined : { predicate });
    const out = new Array<RetrievedItem>(hits.length);
    for (let i = 0; i < hits.length; i++) out[i] = hits[i] as RetrievedItem;
    return out;
  }
}
