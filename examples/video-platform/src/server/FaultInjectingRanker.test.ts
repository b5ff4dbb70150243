import { describe, expect, it } from 'vitest';
import type { Candidate, FeatureBatch, Ranker, StageContext } from '@recspine/core';
import { FaultInjectingRanker } from './FaultInjectingRanker.js';

const inner: Ranker = { name: 'fine', score: (_c, cands) => ({ scores: Float64Array.from(cands.map((_, i) => i)) }) };
const cands = [{ itemId: 'a' }, { itemId: 'b' }] as unknown as Candidate[];
const feats = {} as FeatureBatch;

describe('FaultInjectingRanker', () => {
  describe('score', () => {
    it('passes through without a fault', async () => {
      const r = new FaultInjectingRanker(inner);
      const ctx = { signal: new AbortController().signal } as unknown as StageContext;
      expect(Array.from((await r.score(ctx, cands, feats)).scores)).toEqual([0, 1]);
      expect(r.name).toBe('fine');
    });

    it('throws a coded error under `throw`', async () => {
      const r = new FaultInjectingRanker(inner);
      r.setFault('throw');
      const ctx = { signal: new AbortController().signal } as unknown as StageContext;
      await expect(r.score(ctx, cands, feats)).rejects.toMatchObject({ code: 'RECSPINE_ERR_VP_FAULT_INJECTED' });
      expect(r.injected.throw).toBe(1);
    });

    it('hangs under `hang` until the stage signal aborts', async () => {
      const r = new FaultInjectingRanker(inner);
      r.setFault('hang');
      const ac = new AbortController();
      const ctx = { signal: ac.signal } as unknown as StageContext;
      let settled = false;
      const p = Promise.resolve(r.score(ctx, cands, feats)).finally(() => (settled = true));
      await new Promise((res) => setTimeout(res, 20));
      expect(settled).toBe(false);
      ac.abort();
      await expect(p).rejects.toMatchObject({ code: 'RECSPINE_ERR_VP_FAULT_INJECTED' });
      r.setFault('none');
      expect(r.fault).toBe('none');
    });
  });
});
