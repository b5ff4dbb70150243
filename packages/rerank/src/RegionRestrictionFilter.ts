import type { Candidate, PolicyFilter, StageContext } from '@recspine/core';
import { listHas, onMissing, type OnMissing } from './internal/policy.js';

/** Options of {@link RegionRestrictionFilter}. */
export interface RegionRestrictionFilterOptions {
  /** Filter name. Default `region-restriction`. */
  readonly name?: string;
  /** An item without metadata is `reject`ed (default: fail closed) or `allow`ed. */
  readonly onMissingMeta?: OnMissing;
  /**
   * A request without `context.region`: `reject` (default) rejects every item that carries a
   * region restriction (a non-empty `blockedRegions` or any `allowedRegions`), since the filter
   * cannot prove it may be shown; unrestricted items pass. `allow` lets restricted items through.
   */
  readonly onUnknownRegion?: OnMissing;
}

/**
 * Region restrictions (licensing, legal): rejects an item when the request's region
 * (`request.context.region`) is in `meta.blockedRegions`, or when `meta.allowedRegions` is set and
 * does not contain it (an empty `allowedRegions` allows nowhere). Region codes compare
 * ASCII-case-insensitively.
 *
 * **Fail closed by default** for items without metadata (new items not yet in the catalog stay
 * hidden until they are; a restriction is a legal obligation) and for restricted items on
 * requests without a region.
 *
 * @example
 * ```ts
 * const region = new RegionRestrictionFilter();
 * rec.recommend({ slot: 'homepage', limit: 20, context: { region: 'DE' } });
 * ```
 */
export class RegionRestrictionFilter implements PolicyFilter {
  readonly name: string;
  private readonly allowMissingMeta: boolean;
  private readonly allowUnknownRegion: boolean;

  constructor(options: RegionRestrictionFilterOptions = {}) {
    this.name = options.name ?? 'region-restriction';
    this.allowMissingMeta = onMissing(options.onMissingMeta, 'reject', 'onMissingMeta');
    this.allowUnknownRegion = onMissing(options.onUnknownRegion, 'reject', 'onUnknownRegion');
  }

  allows(ctx: StageContext, c: Candidate): boolean {
    const meta = c.meta;
    if (meta === undefined || meta === null) return this.allowMissingMeta;
    const blocked = meta.blockedRegions;
    const allowed = meta.allowedRegions;
    const restricted = (blocked !== undefined && blocked.length > 0) || allowed !== undefined;
    if (!restricted) return true;
    const region = ctx.request.context?.region;
    if (typeof region !== 'string' || region.length === 0) return this.allowUnknownRegion;
    if (blocked !== undefined && listHas(blocked, region)) return false;
    if (allowed !== undefined && !listHas(allowed, region)) return false;
    return true;
  }
}
