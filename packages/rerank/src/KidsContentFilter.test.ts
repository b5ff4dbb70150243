import { describe, expect, it } from 'vitest';
import { cand, makeCtx } from '../test/fixtures.js';
import { KidsContentFilter } from './KidsContentFilter.js';

const kids = makeCtx({ context: { attributes: { kids: true } } });
const adult = makeCtx();

describe('KidsContentFilter', () => {
  describe('allows', () => {
    it('rejects kids-restricted items in a kids context only', () => {
      const f = new KidsContentFilter();
      const restricted = cand('r', 1, { kidsRestricted: true });
      const ok = cand('ok', 1, { kidsRestricted: false });
      expect(f.allows(kids, restricted)).toBe(false);
      expect(f.allows(kids, ok)).toBe(true);
      expect(f.allows(adult, restricted)).toBe(true);
    });

    it('fails closed on missing metadata in a kids context by default, configurably', () => {
      expect(new KidsContentFilter().allows(kids, cand('x', 1))).toBe(false);
      expect(new KidsContentFilter().allows(adult, cand('x', 1))).toBe(true);
      expect(new KidsContentFilter({ onMissingMeta: 'allow' }).allows(kids, cand('x', 1))).toBe(true);
    });

    it('treats an unset flag per onMissingFlag (allow by default)', () => {
      expect(new KidsContentFilter().allows(kids, cand('x', 1, { category: 'toys' }))).toBe(true);
      expect(new KidsContentFilter({ onMissingFlag: 'reject' }).allows(kids, cand('x', 1, { category: 'toys' }))).toBe(false);
    });

    it('uses a custom kids-context predicate', () => {
      const f = new KidsContentFilter({ isKidsContext: (ctx) => ctx.request.context?.device === 'kids-tablet' });
      expect(f.allows(makeCtx({ context: { device: 'kids-tablet' } }), cand('r', 1, { kidsRestricted: true }))).toBe(false);
      expect(f.allows(kids, cand('r', 1, { kidsRestricted: true }))).toBe(true);
    });
  });
});
