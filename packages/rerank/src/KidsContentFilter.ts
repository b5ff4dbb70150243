import type { Candidate, PolicyFilter, StageContext } from '@recspine/core';
import { onMissing, type OnMissing } from './internal/policy.js';
import { configCheck } from './internal/validate.js';

/** Options of {@link KidsContentFilter}. */
export interface KidsContentFilterOptions {
  /** Filter name. Default `kids-content`. */
  readonly name?: string;
  /**
   * Whether the request is a kids' context. Default: `request.context.attributes.kids === true`.
   */
  readonly isKidsContext?: (ctx: StageContext) => boolean;
  /** In a kids' context, an item without metadata is `reject`ed (default: fail closed) or `allow`ed. */
  readonly onMissingMeta?: OnMissing;
  /**
   * In a kids' context, an item whose metadata does not set `kidsRestricted` is `allow`ed
   * (default: the flag marks restricted items only) or `reject`ed (catalogs that vet every item).
   */
  readonly onMissingFlag?: OnMissing;
}

/**
 * Removes kids-restricted items (`meta.kidsRestricted === true`) from kids' contexts. Outside a
 * kids' context it allows everything.
 *
 * **Fail closed by default**: in a kids' context an item with no metadata is rejected, since the
 * filter cannot prove it is suitable (`onMissingMeta: 'allow'` changes that). If
 * `isKidsContext` throws, the core runner treats the item as rejected as well.
 *
 * @example
 * ```ts
 * createRecommender({ ..., shared: { policy: [new KidsContentFilter(), new RegionRestrictionFilter()] } });
 * rec.recommend({ slot: 'homepage', limit: 20, context: { attributes: { kids: true } } });
 * ```
 */
export class KidsContentFilter implements PolicyFilter {
  readonly name: string;
  private readonly isKids: (ctx: StageContext) => boolean;
  private readonly allowMissingMeta: boolean;
  private readonly allowMissingFlag: boolean;

  constructor(options: KidsContentFilterOptions = {}) {
    this.name = options.name ?? 'kids-content';
    configCheck(options.isKidsContext === undefined || typeof options.isKidsContext === 'function', 'isKidsContext', 'must be a function');
    this.isKids = options.isKidsContext ?? defaultIsKids;
    this.allowMissingMeta = onMissing(options.onMissingMeta, 'reject', 'onMissingMeta');
    this.allowMissingFlag = onMissing(options.onMissingFlag, 'allow', 'onMissingFlag');
  }

  allows(ctx: StageContext, c: Candidate): boolean {
    if (this.isKids(ctx) !== true) return true;
    const meta = c.meta;
    if (meta === undefined || meta === null) return this.allowMissingMeta;
    const f = meta.kidsRestricted;
    if (f === undefined) return this.allowMissingFlag;
    return f === false;
  }
}

function defaultIsKids(ctx: StageContext): boolean {
  return ctx.request.context?.attributes?.['kids'] === true;
}
