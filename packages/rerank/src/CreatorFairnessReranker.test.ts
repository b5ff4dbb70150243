import { isRecSpineError } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { cand, ids, makeCtx } from '../test/fixtures.js';
import { CreatorFairnessReranker } from './CreatorFairnessReranker.js';
import type { ExposureStore } from './ExposureStore.js';
import { InMemoryExposureStore } from './InMemoryExposureStore.js';

const NOW = 1_000_000;
const ctx = (params: Record<string, unknown> = {}) => makeCtx({ context: { nowMs: NOW }, params, limit: 1 });
const three = () => [cand('A', 1, { creatorId: 'c1' }), cand('B', 0.8, { creatorId: 'c2' }), cand('C', 0, { creatorId: 'c3' })];

describe('CreatorFairnessReranker', () => {
  describe('rerank', () => {
    it('discounts a recently exposed creator (hand-computed)', () => {
      const store = new InMemoryExposureStore();
      store.record('c1', NOW, 5);
      // rel A=1, B=0.8, C=0. A: 1 − 0.5·5/(5+5) = 0.75 < B: 0.8 → B wins the slate of one.
      const fair = new CreatorFairnessReranker({ store, strength: 0.5, halfSaturation: 5, recordOnServe: false });
      expect(ids(fair.rerank(ctx(), three(), 1))).toEqual(['B', 'A', 'C']);
    });

    it('keeps the best item when the exposure is too small to flip it', () => {
      const store = new InMemoryExposureStore();
      store.record('c1', NOW, 1); // A: 1 − 0.5·1/6 = 0.9167 > 0.8
      const fair = new CreatorFairnessReranker({ store, strength: 0.5, halfSaturation: 5, recordOnServe: false });
      expect(ids(fair.rerank(ctx(), three(), 1))).toEqual(['A', 'B', 'C']);
    });

    it('records the served creator and rotates creators across consecutive requests', () => {
      const store = new InMemoryExposureStore({ halfLifeMs: 3_600_000 });
      const fair = new CreatorFairnessReranker({ store, strength: 0.5, halfSaturation: 1 });
      const served: string[] = [];
      for (let r = 0; r < 4; r++) served.push((fair.rerank(ctx(), three(), 1)[0] as { itemId: string }).itemId);
      // r0: A (no exposure). r1: A = 1 − 0.5·1/2 = 0.75 < B 0.8 → B. r2: A 0.75, B 0.8−0.25=0.55 → A.
      // r3: A: E=2 → 1 − 0.5·2/3 = 0.667; B: 0.55 → A.
      expect(served).toEqual(['A', 'B', 'A', 'A']);
      expect(store.exposure('c1', NOW)).toBeCloseTo(3, 12);
      expect(store.exposure('c2', NOW)).toBeCloseTo(1, 12);
    });

    it('spreads creators within a longer slate', () => {
      const store = new InMemoryExposureStore();
      const cs = [cand('A1', 1, { creatorId: 'a' }), cand('A2', 0.95, { creatorId: 'a' }), cand('B1', 0.8, { creatorId: 'b' })];
      // After A1, a's local E = 1: A2 = 0.95·… rel: A1=1, A2=0.75, B1=0 → A2 = 0.75 − 0.5·1/2 = 0.5 > B1 = 0 → A2.
      // With halfSaturation 0.1: A2 = 0.75 − 0.5·1/1.1 = 0.295 > 0 still. Use strength 1: 0.75 − 1/1.1 = −0.16 < 0 → B1.
      const fair = new CreatorFairnessReranker({ store, strength: 1, halfSaturation: 0.1, recordOnServe: false });
      expect(ids(fair.rerank(ctx(), cs, 2))).toEqual(['A1', 'B1', 'A2']);
    });

    it('reads strength from ctx.params.fairnessStrength', () => {
      const store = new InMemoryExposureStore();
      store.record('c1', NOW, 5);
      const fair = new CreatorFairnessReranker({ store, strength: 0.5, halfSaturation: 5, recordOnServe: false });
      expect(ids(fair.rerank(ctx({ fairnessStrength: 0 }), three(), 1))[0]).toBe('A');
    });

    it('wraps a failing store in RECSPINE_ERR_RERANK_EXPOSURE_STORE', () => {
      const store: ExposureStore = {
        exposure: () => {
          throw new Error('down');
        },
        record: () => {},
      };
      try {
        new CreatorFairnessReranker({ store }).rerank(ctx(), three(), 1);
        expect.unreachable();
      } catch (e) {
        expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_EXPOSURE_STORE');
        expect(isRecSpineError(e) && e.category).toBe('dependency');
      }
    });
  });
});
