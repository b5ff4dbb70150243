import { describe, expect, it } from 'vitest';
import { cand, makeCtx, vec } from '../test/fixtures.js';
import { computeSlateMetrics } from './computeSlateMetrics.js';
import { InMemorySlateMetricsSink } from './InMemorySlateMetricsSink.js';
import { SlateMetricsReporter } from './SlateMetricsReporter.js';

describe('computeSlateMetrics', () => {
  it('computes diversity, creator entropy, coverage and exploration share (hand-computed)', () => {
    const slate = [
      cand('a', 3, { creatorId: 'x', category: 'music', embedding: vec(1, 0) }),
      cand('b', 2, { creatorId: 'x', category: 'news', embedding: vec(0, 1) }),
      cand('c', 1, { creatorId: 'y', category: 'music', embedding: vec(1, 0) }, { explore: { policy: 'thompson', propensity: 0.5 } }),
      cand('d', 0, { creatorId: 'z' }),
    ];
    const pool = [...slate, cand('e', 0, { category: 'sports' }), cand('f', 0, { category: 'games' })];
    const m = computeSlateMetrics(slate, { pool });
    // pairs: a-b 1, a-c 0, b-c 1 → 2/3
    expect(m.intraListDiversity).toBeCloseTo(2 / 3, 12);
    // creators x:2, y:1, z:1 → H = 1.5 bits
    expect(m.creatorEntropy).toBeCloseTo(1.5, 12);
    expect(m.distinctCreators).toBe(3);
    expect(m.distinctCategories).toBe(2);
    expect(m.categoryCoverage).toBeCloseTo(2 / 4, 12);
    expect(m.explorationShare).toBeCloseTo(1 / 4, 12);
    expect(m.size).toBe(4);
  });

  it('looks metadata up for response items and handles empty or embedding-less slates', () => {
    const metas = new Map([
      ['a', { creatorId: 'x' }],
      ['b', { creatorId: 'x' }],
    ]);
    const m = computeSlateMetrics([{ itemId: 'a' }, { itemId: 'b' }], { metaOf: (id) => metas.get(id) });
    expect(m.creatorEntropy).toBe(0);
    expect(m.intraListDiversity).toBeUndefined();
    expect(m.categoryCoverage).toBeUndefined();
    expect(computeSlateMetrics([]).explorationShare).toBe(0);
  });
});

describe('SlateMetricsReporter', () => {
  describe('rerank', () => {
    it('reports the first `limit` items to the sink under the slot and returns its input unchanged', () => {
      const sink = new InMemorySlateMetricsSink();
      const rep = new SlateMetricsReporter({ sink });
      const cs = [cand('a', 2, { creatorId: 'x' }), cand('b', 1, { creatorId: 'y' }), cand('c', 0, { creatorId: 'z' })];
      const out = rep.rerank(makeCtx({ slot: 'search' }), cs, 2);
      expect(out).toBe(cs);
      const s = sink.summary('search');
      expect(s?.slates).toBe(1);
      expect(s?.meanSize).toBe(2);
      expect(s?.meanCreatorEntropy).toBeCloseTo(1, 12);
      expect(sink.summary('homepage')).toBeUndefined();
    });

    it('swallows and counts sink failures', () => {
      const rep = new SlateMetricsReporter({
        sink: {
          slate: () => {
            throw new Error('x');
          },
        },
      });
      const cs = [cand('a', 1)];
      expect(rep.rerank(makeCtx(), cs, 1)).toBe(cs);
      expect(rep.failedReports).toBe(1);
    });
  });
});
