import type { FeatureBatch, FeatureFetcher, RecRequest, StageContext } from '@recspine/core';
import type { FeatureStore } from './FeatureStore.js';

/** Options of {@link StoreFeatureFetcher}. */
export interface StoreFeatureFetcherOptions {
  /** Stage name used in metrics and errors. Default `features`. */
  readonly name?: string;
  /** The creator of an item, e.g. `(id) => catalog.get(id)?.creatorId`. Saves the dependent creator read. */
  readonly creatorOf?: (itemId: string) => string | undefined;
  /**
   * The raw context record decoded by the schema's context groups. Default: the request's
   * `region`, `device`, `language`, its `attributes`, and `hour_of_day` (UTC, from `nowMs`).
   */
  readonly contextOf?: (request: RecRequest) => Readonly<Record<string, unknown>>;
}

/**
 * Core's `FeatureFetcher` on top of a {@link FeatureStore}: one batched read per request, group
 * sub-deadlines capped by the stage's remaining budget, and the stage's `AbortSignal` passed
 * down (the read rejects when it fires). A store that is down as a whole rejects, so the runner
 * takes its degraded-model path; one slow group only lands in `missingGroups`.
 *
 * @example
 * ```ts
 * const features = new StoreFeatureFetcher(store, { creatorOf: (id) => catalog.get(id)?.creatorId });
 * createRecommender({ ..., shared: { features, fine, degraded } });
 * ```
 */
export class StoreFeatureFetcher implements FeatureFetcher {
  readonly name: string;
  private readonly creatorOf: ((itemId: string) => string | undefined) | undefined;
  private readonly contextOf: (request: RecRequest) => Readonly<Record<string, unknown>>;

  constructor(
    private readonly store: FeatureStore,
    opts: StoreFeatureFetcherOptions = {},
  ) {
    this.name = opts.name ?? 'features';
    this.creatorOf = opts.creatorOf;
    this.contextOf = opts.contextOf ?? defaultContext;
  }

  fetch(ctx: StageContext, userId: string | undefined, itemIds: readonly string[]): Promise<FeatureBatch> {
    const creatorOf = this.creatorOf;
    return this.store.read(
      {
        userId,
        itemIds,
        ...(creatorOf === undefined ? {} : { creatorIds: itemIds.map((id) => creatorOf(id)) }),
        context: this.contextOf(ctx.request),
        ...(ctx.request.context?.nowMs === undefined ? {} : { nowMs: ctx.request.context.nowMs }),
      },
      { signal: ctx.signal, maxGroupTimeoutMs: Math.max(1, ctx.remainingMs()) },
    );
  }
}

function defaultContext(request: RecRequest): Readonly<Record<string, unknown>> {
  const c = request.context;
  const now = c?.nowMs ?? Date.now();
  return {
    ...c?.attributes,
    ...(c?.region === undefined ? {} : { region: c.region }),
    ...(c?.device === undefined ? {} : { device: c.device }),
    ...(c?.language === undefined ? {} : { language: c.language }),
    hour_of_day: new Date(now).getUTCHours(),
  };
}
