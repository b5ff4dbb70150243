import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FeatureAssembler, defineSpec, fitNormalisation } from './FeatureSpec.js';
import { fineSpec } from './featureSets.js';

const spec = defineSpec(
  't',
  [
    { kind: 'numeric', ref: { entity: 'item', feature: 'n' }, transform: 'log1p', name: 'n', group: 'stats' },
    {
      kind: 'ratio',
      num: { entity: 'item', feature: 'c' },
      den: { entity: 'item', feature: 'n' },
      prior: 0.5,
      strength: 2,
      name: 'ctr',
      group: 'stats',
    },
    { kind: 'onehot', ref: { entity: 'user', feature: 'region' }, value: 'r1', name: 'region=r1', group: 'profile' },
    { kind: 'dot', left: { entity: 'user', feature: 'v' }, right: { entity: 'item', feature: 'v' }, name: 'dot', group: 'profile' },
    { kind: 'missing', group: 'stats', name: 'missing:stats' },
  ],
  ['y'],
);

describe('FeatureAssembler', () => {
  describe('assemble', () => {
    it('computes each column kind and sets no indicator when nothing is missing', () => {
      const out = new Float32Array(spec.width);
      new FeatureAssembler(spec).assemble(
        { user: { region: 'r1', v: Float32Array.of(1, 2) }, item: { n: 3, c: 1, v: Float32Array.of(3, 4) }, context: {}, candidate: {} },
        out,
        0,
      );
      expect(out[0]).toBeCloseTo(Math.log1p(3), 6);
      expect(out[1]).toBeCloseTo((1 + 1) / (3 + 2), 6);
      expect(out[2]).toBe(1);
      expect(out[3]).toBe(11);
      expect(out[4]).toBe(0);
    });
    it('turns an absent feature into the default and sets its group indicator', () => {
      const fitted = { ...spec, columns: spec.columns.map((c) => (c.name === 'n' ? { ...c, mean: 2, std: 4, default: 2 } : c)) };
      const out = new Float32Array(spec.width);
      new FeatureAssembler(fitted).assemble({ user: { region: 'r0' }, item: { c: 1 }, context: {}, candidate: {} }, out, 0);
      expect(out[0]).toBe(0); // default == mean → 0 after normalisation
      expect(out[4]).toBe(1);
    });
    it('drops a whole group on request (training augmentation), including already-written columns', () => {
      const out = new Float32Array(spec.width);
      new FeatureAssembler(spec).assemble(
        { user: { region: 'r1' }, item: { n: 3, c: 1 }, context: {}, candidate: {} },
        out,
        0,
        new Set(['stats']),
      );
      expect(out[0]).toBe(0);
      expect(out[1]).toBe(0);
      expect(out[2]).toBe(1);
      expect(out[4]).toBe(1);
    });
    it('always writes finite values, whatever subset of features is present (property)', () => {
      const s = fineSpec({ dim: 4, categories: 3, regions: 2, languages: 2, devices: 2, ageBands: 2 });
      const asm = new FeatureAssembler(s);
      const vec = fc.float32Array({ minLength: 4, maxLength: 4, noNaN: true, noDefaultInfinity: true, min: -10, max: 10 });
      fc.assert(
        fc.property(
          fc.record(
            { region: fc.constantFrom('r0', 'r1'), language: fc.constantFrom('l0', 'l1'), history_pool: vec, history_len: fc.nat(20) },
            { requiredKeys: [] },
          ),
          fc.record(
            {
              content: vec,
              impressions: fc.nat(1000),
              clicks: fc.nat(10),
              watch_sum: fc.float({ min: 0, max: 10, noNaN: true }),
              published_at_ms: fc.nat(),
            },
            { requiredKeys: [] },
          ),
          (user, item) => {
            const out = new Float32Array(s.width);
            asm.assemble({ user, item, context: { now_ms: 1e12 }, candidate: {} }, out, 0);
            return out.every(Number.isFinite);
          },
        ),
      );
    });
  });
});

describe('fitNormalisation', () => {
  it('standardises numeric columns and leaves one-hots alone', () => {
    const raw = Float32Array.of(1, 0, 1, 0, 0, 3, 0, 0, 0, 0);
    const fitted = fitNormalisation(spec, raw, 2);
    expect(fitted.columns[0]).toMatchObject({ mean: 2, std: 1, default: 2 });
    expect(fitted.columns[2]).toMatchObject({ mean: 0, std: 1, default: 0 });
  });
});
