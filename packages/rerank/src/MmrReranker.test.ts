import { isRecSpineError } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { cand, ids, makeCtx, vec } from '../test/fixtures.js';
import { dot, inverseNorm } from './internal/dot.js';
import { MmrReranker } from './MmrReranker.js';

// A(1,0) s=1, B(1,0) s=0.9 (a near-duplicate of A), C(0,1) s=0.5.
// rel = min-max of scores: A=1, B=0.8, C=0.
const abc = () => [
  cand('A', 1, { embedding: vec(1, 0) }),
  cand('B', 0.9, { embedding: vec(2, 0) }), // same direction as A, different norm
  cand('C', 0.5, { embedding: vec(0, 1) }),
];

describe('MmrReranker', () => {
  describe('rerank', () => {
    it('picks the diverse item over the near-duplicate (hand-computed, λ = 0.5)', () => {
      // p0: A (0.5·1). p1: B = 0.5·0.8 − 0.5·cos(A,B)=1 → −0.1; C = 0.5·0 − 0.5·0 = 0 → C. p2: B.
      const out = new MmrReranker({ lambda: 0.5 }).rerank(makeCtx(), abc(), 3);
      expect(ids(out)).toEqual(['A', 'C', 'B']);
    });

    it('keeps the input order with λ = 1 and at λ = 0.9 when the gap is large enough', () => {
      expect(ids(new MmrReranker({ lambda: 1 }).rerank(makeCtx(), abc(), 3))).toEqual(['A', 'B', 'C']);
      // λ=0.9: B = 0.72 − 0.1 = 0.62 ; C = 0 − 0 = 0 → B
      expect(ids(new MmrReranker({ lambda: 0.9 }).rerank(makeCtx(), abc(), 3))).toEqual(['A', 'B', 'C']);
    });

    it('fills only `limit` positions by MMR and keeps the reserve in input order', () => {
      const cs = [
        cand('A', 1, { embedding: vec(1, 0) }),
        cand('B', 0.9, { embedding: vec(1, 0) }),
        cand('C', 0.8, { embedding: vec(1, 0) }),
        cand('D', 0.0, { embedding: vec(0, 1) }),
      ];
      // limit 2, λ=0.5: p0 A; p1: B=0.5·0.9−0.5=−0.05, C=0.5·0.8−0.5=−0.1, D=0 → D; reserve B, C.
      expect(ids(new MmrReranker({ lambda: 0.5 }).rerank(makeCtx(), cs, 2))).toEqual(['A', 'D', 'B', 'C']);
    });

    it('reads λ from ctx.params.mmrLambda', () => {
      const out = new MmrReranker({ lambda: 0.5 }).rerank(makeCtx({ params: { mmrLambda: 1 } }), abc(), 3);
      expect(ids(out)).toEqual(['A', 'B', 'C']);
    });

    it('rejects a bad ctx.params.mmrLambda with RECSPINE_ERR_RERANK_PARAM', () => {
      const mmr = new MmrReranker();
      for (const bad of [2, -0.1, 'x', Number.NaN]) {
        try {
          mmr.rerank(makeCtx({ params: { mmrLambda: bad } }), abc(), 3);
          expect.unreachable();
        } catch (e) {
          expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_PARAM');
        }
      }
    });

    it('treats items without (or with mismatched) embeddings as similar to nothing', () => {
      const cs = [
        cand('A', 1, { embedding: vec(1, 0) }),
        cand('B', 0.9, { embedding: vec(1, 0) }),
        cand('N', 0.2), // no meta
        cand('W', 0.1, { embedding: vec(1, 0, 0) }), // wrong dimension → missing
      ];
      // λ=0.5, rel: A=1, B=8/9, N=1/9, W=0. p1: B = 0.444−0.5 <0 ; N = 0.0556; W = 0 → N. p2: B=−0.056, W=0 → W.
      expect(ids(new MmrReranker({ lambda: 0.5 }).rerank(makeCtx(), cs, 4))).toEqual(['A', 'N', 'W', 'B']);
    });

    it('returns a permutation of its input and reuses its scratch across calls of different sizes', () => {
      const mmr = new MmrReranker({ lambda: 0.3 });
      for (const n of [50, 5, 120]) {
        const cs = Array.from({ length: n }, (_, i) => cand(`i${i}`, n - i, { embedding: vec(Math.cos(i), Math.sin(i), i % 3) }));
        const out = mmr.rerank(makeCtx(), cs, 10);
        expect(new Set(ids(out))).toEqual(new Set(ids(cs)));
        expect(out).toHaveLength(n);
      }
    });
  });

  describe('constructor', () => {
    it('rejects λ outside [0, 1] with RECSPINE_ERR_RERANK_CONFIG naming the field', () => {
      try {
        new MmrReranker({ lambda: 1.5 });
        expect.unreachable();
      } catch (e) {
        expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_CONFIG');
        expect(isRecSpineError(e) && e.field).toBe('lambda');
      }
    });
  });
});

describe('MmrReranker (lazy greedy)', () => {
  describe('rerank', () => {
    it('picks exactly what the eager textbook MMR picks (1000 random cases)', async () => {
      const fc = (await import('fast-check')).default;
      const eager = (cs: ReturnType<typeof cand>[], limit: number, lambda: number): string[] => {
        const n = cs.length;
        const dim = cs.find((c) => c.meta?.embedding)?.meta?.embedding?.length ?? 0;
        const raw = cs.map((c) => {
          const e = c.meta?.embedding;
          return e && e.length === dim && inverseNorm(e) > 0 ? e : undefined;
        });
        const cosine = (i: number, j: number): number =>
          dot(raw[i] as Float32Array, raw[j] as Float32Array, dim) *
          inverseNorm(raw[i] as Float32Array) *
          inverseNorm(raw[j] as Float32Array);
        const lo = Math.min(...cs.map((c) => c.score));
        const hi = Math.max(...cs.map((c) => c.score));
        const rel = cs.map((c) => (hi > lo ? (c.score - lo) / (hi - lo) : 1));
        const maxSim = new Array<number>(n).fill(0);
        const picked: number[] = [];
        while (picked.length < Math.min(limit, n)) {
          let best = -1;
          let bestV = -Infinity;
          for (let i = 0; i < n; i++) {
            if (picked.includes(i)) continue;
            const v = lambda * (rel[i] as number) - (1 - lambda) * (maxSim[i] as number);
            if (v > bestV) {
              bestV = v;
              best = i;
            }
          }
          picked.push(best);
          for (let i = 0; i < n; i++) {
            if (!raw[i] || !raw[best] || picked.includes(i)) continue;
            const cos = cosine(i, best);
            if (cos > (maxSim[i] as number)) maxSim[i] = cos;
          }
        }
        return [...picked.map((i) => cs[i]?.itemId as string), ...cs.filter((_, i) => !picked.includes(i)).map((c) => c.itemId)];
      };
      const mmr = new MmrReranker();
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              score: fc.integer({ min: 0, max: 6 }),
              emb: fc.option(fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 6, maxLength: 6 }), { nil: undefined, freq: 6 }),
            }),
            { maxLength: 40 },
          ),
          fc.integer({ min: 1, max: 20 }),
          fc.constantFrom(0, 0.25, 0.5, 0.7, 0.9),
          (specs, limit, lambda) => {
            const cs = specs.map((s, i) => cand(`i${i}`, s.score, s.emb ? { embedding: Float32Array.from(s.emb) } : undefined));
            if (cs.length <= 1) return;
            expect(ids(mmr.rerank(makeCtx({ params: { mmrLambda: lambda } }), cs.slice(), limit))).toEqual(eager(cs, limit, lambda));
          },
        ),
        { numRuns: 1000 },
      );
    });
  });
});
