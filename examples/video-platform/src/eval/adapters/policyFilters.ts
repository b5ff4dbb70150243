import type { PolicyFilter } from '@recspine/core';

/** Hard policy filters of the example, on catalog metadata and request context. */
export function policyFilters(ageBandOf: (userId: string | undefined) => string | undefined): PolicyFilter[] {
  return [
    { name: 'misinformation', allows: (_ctx, c) => c.meta?.misinformation !== true },
    { name: 'kids', allows: (ctx, c) => !(c.meta?.kidsRestricted === true && ageBandOf(ctx.request.userId) === 'a0') },
    {
      name: 'region',
      allows: (ctx, c) => {
        const r = ctx.request.context?.region;
        return r === undefined || !(c.meta?.blockedRegions ?? []).includes(r);
      },
    },
  ];
}
