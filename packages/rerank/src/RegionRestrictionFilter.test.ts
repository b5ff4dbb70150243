import { describe, expect, it } from 'vitest';
import { cand, makeCtx } from '../test/fixtures.js';
import { RegionRestrictionFilter } from './RegionRestrictionFilter.js';

const inRegion = (r: string | undefined) => makeCtx(r === undefined ? {} : { context: { region: r } });

describe('RegionRestrictionFilter', () => {
  describe('allows', () => {
    const f = new RegionRestrictionFilter();
    it('rejects items blocked in the request region (case-insensitively)', () => {
      const c = cand('b', 1, { blockedRegions: ['de', 'FR'] });
      expect(f.allows(inRegion('DE'), c)).toBe(false);
      expect(f.allows(inRegion('fr'), c)).toBe(false);
      expect(f.allows(inRegion('US'), c)).toBe(true);
    });

    it('allows items with allowedRegions only in those regions; an empty list allows nowhere', () => {
      const c = cand('a', 1, { allowedRegions: ['US', 'CA'] });
      expect(f.allows(inRegion('US'), c)).toBe(true);
      expect(f.allows(inRegion('DE'), c)).toBe(false);
      expect(f.allows(inRegion('US'), cand('n', 1, { allowedRegions: [] }))).toBe(false);
    });

    it('applies both lists together', () => {
      const c = cand('x', 1, { allowedRegions: ['US', 'CA'], blockedRegions: ['CA'] });
      expect(f.allows(inRegion('CA'), c)).toBe(false);
      expect(f.allows(inRegion('US'), c)).toBe(true);
    });

    it('on a request without region: rejects restricted items, allows unrestricted ones (default)', () => {
      expect(f.allows(inRegion(undefined), cand('b', 1, { blockedRegions: ['DE'] }))).toBe(false);
      expect(f.allows(inRegion(undefined), cand('u', 1, { blockedRegions: [] }))).toBe(true);
      expect(
        new RegionRestrictionFilter({ onUnknownRegion: 'allow' }).allows(inRegion(undefined), cand('b', 1, { blockedRegions: ['DE'] })),
      ).toBe(true);
    });

    it('fails closed on missing metadata by default, configurably', () => {
      expect(f.allows(inRegion('US'), cand('m', 1))).toBe(false);
      expect(new RegionRestrictionFilter({ onMissingMeta: 'allow' }).allows(inRegion('US'), cand('m', 1))).toBe(true);
    });
  });
});
