import type { Candidate, PolicyFilter, StageContext } from '@recspine/core';
import { onMissing, type OnMissing } from './internal/policy.js';

/** Options of {@link MisinformationFilter}. */
export interface MisinformationFilterOptions {
  /** Filter name. Default `misinformation`. */
  readonly name?: string;
  /** An item without metadata is `allow`ed (default: fail open) or `reject`ed. */
  readonly onMissingMeta?: OnMissing;
}

/**
 * Removes items labelled as misinformation (`meta.misinformation === true`), on every request.
 *
 * **Fail open by default** for items without metadata: misinformation labels mark the few items
 * reviewers flagged, so an unknown item is unlabelled rather than suspect, and rejecting every
 * uncatalogued item would empty slates during catalog lag. Set `onMissingMeta: 'reject'` where the
 * catalog is authoritative.
 *
 * @example
 * ```ts
 * createRecommender({ ..., shared: { policy: [new MisinformationFilter()] } });
 * ```
 */
export class MisinformationFilter implements PolicyFilter {
  readonly name: string;
  private readonly allowMissingMeta: boolean;

  constructor(options: MisinformationFilterOptions = {}) {
    this.name = options.name ?? 'misinformation';
    this.allowMissingMeta = onMissing(options.onMissingMeta, 'allow', 'onMissingMeta');
  }

  allows(_ctx: StageContext, c: Candidate): boolean {
    const meta = c.meta;
    if (meta === undefined || meta === null) return this.allowMissingMeta;
    return meta.misinformation !== true;
  }
}
