import type { Candidate, FeatureBatch, Ranker, ScoreBatch, StageContext } from '@recspine/core';
import { VideoPlatformErrors } from '../errors.js';

/** What {@link FaultInjectingRanker} does to each call: pass through, throw, or hang until the stage deadline. */
export type RankerFault = 'none' | 'throw' | 'hang';

/**
 * A pass-through decorator around a ranker whose failure mode an operator can switch at run time
 * (game days: "the fine ranker throws or hangs"). `throw` rejects with a coded error; `hang` never
 * resolves on its own and settles only when the stage's abort signal fires (as a wedged model
 * server would look from the caller). With `none` it adds one property read per call.
 */
export class FaultInjectingRanker implements Ranker {
  readonly name: string;
  private mode: RankerFault = 'none';
  /** Calls that were failed on purpose, by fault. */
  readonly injected: Record<Exclude<RankerFault, 'none'>, number> = { throw: 0, hang: 0 };

  constructor(private readonly inner: Ranker) {
    this.name = inner.name;
  }

  get fault(): RankerFault {
    return this.mode;
  }

  setFault(mode: RankerFault): void {
    this.mode = mode;
  }

  score(ctx: StageContext, cands: readonly Candidate[], feats: FeatureBatch): Promise<ScoreBatch> | ScoreBatch {
    if (this.mode === 'none') return this.inner.score(ctx, cands, feats);
    if (this.mode === 'throw') {
      this.injected.throw++;
      return Promise.reject(
        VideoPlatformErrors.create('RECSPINE_ERR_VP_FAULT_INJECTED', `${this.name}: injected failure (game day)`, { stage: 'fine' }),
      );
    }
    this.injected.hang++;
    return new Promise<ScoreBatch>((_resolve, reject) => {
      const fail = (): void =>
        reject(
          VideoPlatformErrors.create('RECSPINE_ERR_VP_FAULT_INJECTED', `${this.name}: injected hang, aborted at the deadline`, {
            stage: 'fine',
          }),
        );
      if (ctx.signal.aborted) fail();
      else ctx.signal.addEventListener('abort', fail, { once: true });
    });
  }
}
