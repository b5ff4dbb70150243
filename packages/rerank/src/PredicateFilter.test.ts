import { describe, expect, it } from 'vitest';
import { cand, makeCtx } from '../test/fixtures.js';
import { PredicateFilter } from './PredicateFilter.js';

describe('PredicateFilter', () => {
  describe('allows', () => {
    it('keeps exactly the candidates the predicate returns true for, and rejects when it throws', () => {
      const f = new PredicateFilter('even', (_ctx, c) => {
        if (c.itemId === 'boom') throw new Error('x');
        return Number(c.itemId) % 2 === 0;
      });
      expect(f.name).toBe('even');
      expect(f.allows(makeCtx(), cand('2', 1))).toBe(true);
      expect(f.allows(makeCtx(), cand('3', 1))).toBe(false);
      expect(f.allows(makeCtx(), cand('boom', 1))).toBe(false);
    });
  });
});
