import { isRecSpineError } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { cand, ids, makeCtx } from '../test/fixtures.js';
import { CapReranker } from './CapReranker.js';

const byCreator = (spec: string) => spec.split(' ').map((t, i) => cand(t, 100 - i, { creatorId: t[0] as string }));

describe('CapReranker', () => {
  describe('rerank', () => {
    it('pushes items down just far enough to hold ≤ 1 per creator in any 2 slots (hand-computed)', () => {
      // creators: a1 a2 a3 b1 c1 → a1 b1 a2 c1 a3
      const out = new CapReranker({ rules: [{ by: 'creator', maxPerWindow: 1, window: 2 }] }).rerank(
        makeCtx(),
        byCreator('a1 a2 a3 b1 c1'),
        5,
      );
      expect(ids(out)).toEqual(['a1', 'b1', 'a2', 'c1', 'a3']);
    });

    it('drops what cannot be placed (overflow: drop), so every window holds', () => {
      // ≤ 1 per creator in any 3: a1, then a2 is blocked (a1 in window) → b1; at position 2 the
      // window is {a1, b1, ·}: a2 is still blocked and nothing else is left → a2 is dropped.
      const out = new CapReranker({ rules: [{ by: 'creator', maxPerWindow: 1, window: 3 }] }).rerank(makeCtx(), byCreator('a1 a2 b1'), 3);
      expect(ids(out)).toEqual(['a1', 'b1']);
    });

    it('appends the unplaceable items at the end with overflow: append', () => {
      const out = new CapReranker({ rules: [{ by: 'creator', maxPerWindow: 1, window: 3 }], overflow: 'append' }).rerank(
        makeCtx(),
        byCreator('a1 a2 b1'),
        3,
      );
      expect(ids(out)).toEqual(['a1', 'b1', 'a2']);
    });

    it('allows N per window: ≤ 2 per creator in any 3', () => {
      // a1 a2 a3 b1 → a1 a2 b1 a3 (a3 at pos 3: window {a2,b1,a3} has 2 a's: ok)
      const out = new CapReranker({ rules: [{ by: 'creator', maxPerWindow: 2, window: 3 }] }).rerank(
        makeCtx(),
        byCreator('a1 a2 a3 b1'),
        4,
      );
      expect(ids(out)).toEqual(['a1', 'a2', 'b1', 'a3']);
    });

    it('holds several rules at once (creator and category)', () => {
      const cs = [
        cand('x1', 9, { creatorId: 'x', category: 'music' }),
        cand('y1', 8, { creatorId: 'y', category: 'music' }),
        cand('z1', 7, { creatorId: 'z', category: 'news' }),
        cand('x2', 6, { creatorId: 'x', category: 'news' }),
      ];
      // creator ≤1/2, category ≤1/2: x1; y1 music blocked (music in window) → z1; then y1 (music ok? window {z1} → yes; creator y ok) → y1; x2 news: window {y1} fine → x2.
      const out = new CapReranker({
        rules: [
          { by: 'creator', maxPerWindow: 1, window: 2 },
          { by: 'category', maxPerWindow: 1, window: 2 },
        ],
      }).rerank(makeCtx(), cs, 4);
      expect(ids(out)).toEqual(['x1', 'z1', 'y1', 'x2']);
    });

    it('never caps items whose key is undefined, and accepts a key function', () => {
      const cs = [cand('n1', 3), cand('n2', 2), cand('n3', 1)];
      expect(ids(new CapReranker({ rules: [{ by: 'creator', maxPerWindow: 1, window: 3 }] }).rerank(makeCtx(), cs, 3))).toEqual([
        'n1',
        'n2',
        'n3',
      ]);
      const byParity = new CapReranker({ rules: [{ by: (c) => String(Number(c.itemId.slice(1)) % 2), maxPerWindow: 1, window: 2 }] });
      expect(ids(byParity.rerank(makeCtx(), [cand('n1', 3), cand('n3', 2), cand('n2', 1)], 3))).toEqual(['n1', 'n2', 'n3']);
    });
  });

  describe('constructor', () => {
    it('rejects empty rules and non-integer windows', () => {
      for (const opts of [{ rules: [] }, { rules: [{ by: 'creator' as const, maxPerWindow: 1, window: 2.5 }] }]) {
        try {
          new CapReranker(opts);
          expect.unreachable();
        } catch (e) {
          expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_CONFIG');
        }
      }
    });
  });
});
