import { describe, expect, it } from 'vitest';
import { SizingFlagError, applySizingFlags } from './applySizingFlags.js';
import { STEADY_STATE } from './SizingInputs.js';

describe('applySizingFlags', () => {
  describe('applySizingFlags', () => {
    it('overrides slot QPS, candidate counts and scalar inputs', () => {
      const r = applySizingFlags(STEADY_STATE, { 'qps-search': '1_000', 'coarse-keep': '120', spike: '3', quantization: 'i8' });
      expect(r.slots['search']?.qps).toBe(1000);
      expect(Object.values(r.slots).every((s) => s.coarseKeep === 120)).toBe(true);
      expect(r.spikeFactor).toBe(3);
      expect(r.quantization).toBe('i8');
      expect(STEADY_STATE.slots['search']?.qps).not.toBe(1000); // the preset is not mutated
    });
    it.each([
      [{ 'qps-sidebar': '10' }, /no slot "sidebar"/],
      [{ spike: 'lots' }, /--spike: expected a non-negative number/],
      [{ 'cold-share': '1.5' }, /--cold-share: expected a share/],
      [{ quantization: 'f8' }, /--quantization/],
      [{ 'coarse-keep': '2000' }, /exceeds retrieved/],
      [{ headroom: '0.5' }, /--headroom: must be ≥ 1/],
      [{ frobnicate: '1' }, /--frobnicate: unknown flag/],
    ])('rejects %o with a message naming the flag', (flags, msg) => {
      expect(() => applySizingFlags(STEADY_STATE, flags)).toThrow(SizingFlagError);
      expect(() => applySizingFlags(STEADY_STATE, flags)).toThrow(msg);
    });
  });
});
