import type { FeatureSchema } from './FeatureSchema.js';
import { MemoryBackend } from './internal/MemoryBackend.js';
import { StoreEngine, type StoreEngineOptions } from './internal/StoreEngine.js';

/** Options of {@link InMemoryFeatureStore}. */
export interface InMemoryFeatureStoreOptions extends StoreEngineOptions {
  /** Clock for TTLs (tests). Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * The embedded feature store: same schema, encoding, mutation semantics (guards, increments,
 * decayed counters, TTLs) and missing-mask as {@link RedisFeatureStore}, held in process memory.
 * The default for the demo and for unit tests; the baseline of the fetch benchmark.
 *
 * @example
 * ```ts
 * const store = new InMemoryFeatureStore(schema);
 * await store.write([{ entity: 'user', id: 'u1', group: 'user_profile', set: { age_bucket: '25-34' } }]);
 * const batch = await store.read({ userId: 'u1', itemIds: ['v1'] });
 * ```
 */
export class InMemoryFeatureStore extends StoreEngine {
  readonly name: string = 'memory';
  private readonly mem: MemoryBackend;

  constructor(schema: FeatureSchema, opts: InMemoryFeatureStoreOptions = {}) {
    const mem = new MemoryBackend(opts.clock);
    super(schema, mem, opts);
    this.mem = mem;
  }

  /** Every live storage key (for tests and privacy audits). */
  keys(): string[] {
    return this.mem.keys();
  }
}
