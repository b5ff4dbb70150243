import type { Candidate } from '@recspine/core';
import { describe, expect, it } from 'vitest';
import { SourcePriorityGate } from './SourcePriorityGate.js';

const cand = (itemId: string, sources: string[], sourceScores: number[]): Candidate =>
  ({ itemId, sources, sourceScores, score: 0, retrievalScore: 0 }) as unknown as Candidate;

describe('SourcePriorityGate', () => {
  // chain order: a personal favourite first, then a weak query match, a strong one, backfill, a strong one
  const slate = () => [
    cand('fav', ['twoTower'], [0.9]),
    cand('weak', ['query', 'twoTower'], [2, 0.5]),
    cand('strong1', ['query'], [9]),
    cand('back', ['twoTower'], [0.8]),
    cand('strong2', ['twoTower', 'query'], [0.4, 10]),
  ];
  const ids = (cs: Candidate[]) => cs.map((c) => c.itemId);

  it('puts the context source first, keeping the chain order within each part', () => {
    expect(ids(new SourcePriorityGate('query').rerank(undefined, slate()))).toEqual(['weak', 'strong1', 'strong2', 'fav', 'back']);
  });

  it('with minRelativeScore, puts the strong matches (≥ that share of the best) before the weak ones', () => {
    const gate = new SourcePriorityGate('query', { minRelativeScore: 0.8 });
    expect(ids(gate.rerank(undefined, slate()))).toEqual(['strong1', 'strong2', 'weak', 'fav', 'back']);
    // 0.1 × 10 = 1 ≤ 2: every query item is strong, the one-tier order again
    expect(ids(new SourcePriorityGate('query', { minRelativeScore: 0.1 }).rerank(undefined, slate()))).toEqual([
      'weak',
      'strong1',
      'strong2',
      'fav',
      'back',
    ]);
  });

  it('refuses a share outside [0, 1]', () => {
    expect(() => new SourcePriorityGate('query', { minRelativeScore: 1.5 })).toThrow(/minRelativeScore/);
    expect(() => new SourcePriorityGate('query', { minRelativeScore: -0.1 })).toThrow(/minRelativeScore/);
  });
});
