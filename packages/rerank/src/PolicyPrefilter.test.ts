import type { PolicyFilter } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { cand, ids, makeCtx } from '../test/fixtures.js';
import { MisinformationFilter } from './MisinformationFilter.js';
import { PolicyPrefilter } from './PolicyPrefilter.js';

describe('PolicyPrefilter', () => {
  describe('rerank', () => {
    it('removes every candidate some filter rejects, keeping order; a throwing filter rejects', () => {
      const throwing: PolicyFilter = {
        name: 'throws-on-t',
        allows: (_ctx, c) => {
          if (c.itemId === 't') throw new Error('x');
          return true;
        },
      };
      const pre = new PolicyPrefilter([new MisinformationFilter(), throwing]);
      const cs = [cand('a', 4), cand('m', 3, { misinformation: true }), cand('t', 2), cand('b', 1)];
      expect(ids(pre.rerank(makeCtx(), cs, 10))).toEqual(['a', 'b']);
    });
  });
});
