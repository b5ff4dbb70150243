import type { RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import { topK } from '../metrics.js';
import type { OnnxModel } from '../OnnxModel.js';
import type { EvalWorld } from './EvalWorld.js';
import type { UserFeatureSource } from './UserFeatureSource.js';

/** Key under which the two-tower source leaves the user embedding in `ctx.state` (coarse and degraded read it). */
export const USER_EMBEDDING_STATE = 'twoTower.userEmbedding';

/**
 * Local two-tower retrieval adapter: user tower (ONNX) on the user's profile + pooled recent
 * history, then **exact** inner-product search over the exported item embeddings (the reference
 * the ANN index is measured against). Skips unpublished items.
 */
export class TwoTowerSource implements RetrievalSource {
  readonly name = 'two-tower';
  constructor(
    private readonly w: EvalWorld,
    private readonly userTower: OnnxModel,
    private readonly users: UserFeatureSource,
  ) {}

  async embed(userId: string): Promise<Float32Array> {
    const user = this.users.userRow(userId);
    const out = await this.userTower.run([{ user, item: {}, context: {}, candidate: {} }]);
    return Float32Array.from(out['embedding'] as Float32Array);
  }

  async retrieve(ctx: StageContext, k: number): Promise<readonly RetrievedItem[]> {
    const userId = ctx.request.userId;
    if (userId === undefined) return [];
    const u = await this.embed(userId);
    ctx.state.set(USER_EMBEDDING_STATE, u);
    const nowMs = ctx.request.context?.nowMs ?? Date.now();
    const scores = scoreAll(this.w.itemEmbeddings, u);
    return topK(scores, k, (i) => this.w.published(i, nowMs)).map((i) => ({ itemId: this.w.ids[i] as string, score: scores[i] as number }));
  }
}

/** Inner product of `u` with every row of `E` ([n × d]). */
export function scoreAll(E: Float32Array, u: Float32Array): Float32Array {
  const d = u.length;
  const n = E.length / d;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * d;
    for (let k = 0; k < d; k++) s += (E[o + k] as number) * (u[k] as number);
    out[i] = s;
  }
  return out;
}
