import type { Candidate, FeatureBatch, FeatureRow, Ranker, ScoreBatch, StageContext } from '@recspine/core';
import { objectiveValue } from '../../world/GroundTruth.js';
import type { RawRows } from '../../train/FeatureSpec.js';
import type { OnnxModel } from '../OnnxModel.js';
import type { EvalWorld } from './EvalWorld.js';
import { USER_EMBEDDING_STATE } from './TwoTowerSource.js';

/**
 * Local ranker adapter over an exported model. `fine` reads the online feature batch; `degraded`
 * and `coarse` read only what exists without the feature store: request context, the in-process
 * catalog and the two-tower score (user embedding from `ctx.state` · item embedding).
 * Multi-task outputs are combined as `ctr · (watch + ½ satisfaction − 3 report)`.
 */
export class OnnxRanker implements Ranker {
  constructor(
    readonly name: string,
    private readonly kind: 'fine' | 'degraded' | 'coarse',
    private readonly model: OnnxModel,
    private readonly w: EvalWorld,
  ) {}

  async score(ctx: StageContext, cands: readonly Candidate[], feats: FeatureBatch): Promise<ScoreBatch> {
    const c = ctx.request.context;
    const context: FeatureRow = {
      ...(c?.region === undefined ? {} : { region: c.region }),
      ...(c?.device === undefined ? {} : { device: c.device }),
      ...(c?.language === undefined ? {} : { language: c.language }),
      now_ms: c?.nowMs ?? Date.now(),
    };
    const u = ctx.state.get(USER_EMBEDDING_STATE) as Float32Array | undefined;
    const rows: RawRows[] = cands.map((cand, k) => {
      const i = this.w.indexOf(cand.itemId);
      if (this.kind === 'fine') return { user: feats.user, item: feats.items[k] ?? {}, context, candidate: {} };
      const emb = cand.meta?.embedding;
      let candidate: FeatureRow = {};
      if (u !== undefined && emb !== undefined) {
        let s = 0;
        for (let d = 0; d < u.length; d++) s += (u[d] as number) * (emb[d] as number);
        candidate = { tt_score: s };
      }
      return { user: {}, item: i < 0 ? {} : (this.w.catalogRows[i] as FeatureRow), context, candidate };
    });
    const out = await this.model.run(rows);
    if (this.kind === 'coarse') return { scores: out['score'] as Float32Array, modelVersion: this.w.manifest.version };
    const ctr = out['ctr'] as Float32Array;
    const watch = out['watch'] as Float32Array;
    const report = out['report'] as Float32Array;
    const sat = out['satisfaction'] as Float32Array;
    const scores = Float64Array.from(ctr, (p, k) => objectiveValue(p, watch[k] as number, report[k] as number, sat[k] as number));
    return { scores, heads: { ctr, watch, report, satisfaction: sat }, modelVersion: this.w.manifest.version };
  }
}
