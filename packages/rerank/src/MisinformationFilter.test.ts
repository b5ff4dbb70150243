import { isRecSpineError } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { cand, makeCtx } from '../test/fixtures.js';
import { MisinformationFilter } from './MisinformationFilter.js';

describe('MisinformationFilter', () => {
  describe('allows', () => {
    it('rejects labelled items and fails open on missing metadata by default', () => {
      const f = new MisinformationFilter();
      expect(f.allows(makeCtx(), cand('m', 1, { misinformation: true }))).toBe(false);
      expect(f.allows(makeCtx(), cand('ok', 1, { misinformation: false }))).toBe(true);
      expect(f.allows(makeCtx(), cand('unknown', 1))).toBe(true);
      expect(new MisinformationFilter({ onMissingMeta: 'reject' }).allows(makeCtx(), cand('unknown', 1))).toBe(false);
    });
  });

  describe('constructor', () => {
    it('rejects an unknown onMissingMeta value', () => {
      try {
        new MisinformationFilter({ onMissingMeta: 'maybe' as 'allow' });
        expect.unreachable();
      } catch (e) {
        expect(isRecSpineError(e) && e.code).toBe('RECSPINE_ERR_RERANK_CONFIG');
        expect(isRecSpineError(e) && e.field).toBe('onMissingMeta');
      }
    });
  });
});
