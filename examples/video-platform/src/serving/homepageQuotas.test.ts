import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKFILL_K, DEFAULT_HOMEPAGE_QUOTAS, backfillKOf, homepageQuotasOf } from './buildVideoRecommender.js';

describe('homepage quotas', () => {
  it('default to about 1 000 candidates into coarse rank', () => {
    const q = homepageQuotasOf({});
    expect(q).toEqual(DEFAULT_HOMEPAGE_QUOTAS);
    expect(q.twoTower + q.popular + q.fresh + q.coldStart).toBe(1000);
  });

  it('apply partial overrides, and retrieveK sets two-tower and popularity both', () => {
    expect(homepageQuotasOf({ homepageQuotas: { fresh: 300 } })).toEqual({ ...DEFAULT_HOMEPAGE_QUOTAS, fresh: 300 });
    expect(homepageQuotasOf({ homepageQuotas: { twoTower: 50, coldStart: 0 }, retrieveK: 800 })).toEqual({
      twoTower: 800,
      popular: 800,
      fresh: DEFAULT_HOMEPAGE_QUOTAS.fresh,
      coldStart: 0,
    });
  });

  it('refuse a negative or fractional quota, naming it', () => {
    expect(() => homepageQuotasOf({ homepageQuotas: { popular: -1 } })).toThrow(/popular/);
    expect(() => homepageQuotasOf({ retrieveK: 10.5 })).toThrow(/twoTower/);
  });
});

describe('end-of-video and search backfill k', () => {
  it('default to 500 / 100 two-tower items behind the context source, with partial overrides', () => {
    expect(backfillKOf({})).toEqual({ endOfVideo: 500, search: 100 });
    expect(backfillKOf({ backfillK: { search: 100 } })).toEqual({ ...DEFAULT_BACKFILL_K, search: 100 });
  });

  it('refuse zero, negative or fractional k, naming the slot', () => {
    expect(() => backfillKOf({ backfillK: { endOfVideo: 0 } })).toThrow(/endOfVideo/);
    expect(() => backfillKOf({ backfillK: { search: 2.5 } })).toThrow(/search/);
  });
});
