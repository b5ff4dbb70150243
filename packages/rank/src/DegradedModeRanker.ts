import { RankErrors } from './errors.js';
import { MultiTaskRanker, type MultiTaskRankerOptions } from './MultiTaskRanker.js';

/**
 * The degraded-mode ranker: a {@link MultiTaskRanker} on a model whose feature spec uses **no
 * online features**, only what the request and the in-process caches carry (candidate retrieval
 * scores and sources, item metadata and embeddings, request context, per-request state such as
 * the user embedding). Core's runner selects it (`shared.degraded`) when the feature store is
 * unhealthy and hands it an empty feature batch.
 *
 * The model must be trained on inputs with the online features taken away: a full-input model
 * served on deprived inputs behaves in undefined ways. Construction enforces the serving half of
 * that contract: a spec that reads `user` or `item` features is refused.
 *
 * @example
 * ```ts
 * const degraded = new DegradedModeRanker({ model: degradedRegistry, assembler: degradedAssembler, heads: { ctr: { weight: 1 } } });
 * createRecommender({ ..., shared: { features, fine, degraded } });
 * ```
 */
export class DegradedModeRanker extends MultiTaskRanker {
  constructor(options: MultiTaskRankerOptions) {
    if (options.assembler.usesOnlineFeatures) {
      throw RankErrors.create(
        'RECSPINE_ERR_RANK_FEATURE_SPEC',
        'a degraded-mode feature spec must not read online features (from: user | item); use candidate, context and state only',
        { field: 'assembler' },
      );
    }
    super({ ...options, name: options.name ?? 'degraded' });
  }
}
