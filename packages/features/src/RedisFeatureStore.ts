import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { FeatureSchema } from './FeatureSchema.js';
import { RedisBackend } from './internal/RedisBackend.js';
import { StoreEngine, type StoreEngineOptions } from './internal/StoreEngine.js';

/** Options of {@link RedisFeatureStore}. */
export interface RedisFeatureStoreOptions extends StoreEngineOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`) to use; the store does not close it. Enable
   * `enableAutoPipelining` on it: the one-round-trip batch read depends on it.
   */
  readonly client?: Redis | Cluster;
  /** Single node to connect to when no client is given. Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Cluster seed nodes; when set (and no client), the store creates an ioredis `Cluster`. */
  readonly clusterNodes?: readonly ClusterNode[];
  /** Extra ioredis options for a client the store creates. */
  readonly redisOptions?: RedisOptions;
  readonly clusterOptions?: ClusterOptions;
}

/**
 * The feature store on Redis (single node) or Redis Cluster, via ioredis.
 *
 * - A batch read issues one command per feature group (one `MGET` for a packed group, one
 *   `HMGET` per record for a hash group) in a single tick; ioredis auto-pipelining sends them as
 *   one round trip. On a cluster, packed keys are grouped by hash slot and the groups are fetched
 *   in parallel, one pipeline per node.
 * - Each group races its own sub-deadline; a late group is reported missing (`timeout`).
 * - Mutations on hash groups run as one Lua script per record (atomic, idempotent with guards);
 *   packed groups are written with one `SET`.
 * - All groups of one entity share a hash tag (`{id}`), so `deleteEntity` is one `DEL`.
 *
 * @example
 * ```ts
 * const store = new RedisFeatureStore(schema, { url: 'redis://127.0.0.1:6379' });
 * const cluster = new RedisFeatureStore(schema, { clusterNodes: [{ host: '127.0.0.1', port: 7101 }] });
 * const batch = await store.read({ userId: 'u1', itemIds }, { signal: ctx.signal });
 * ```
 */
export class RedisFeatureStore extends StoreEngine {
  readonly name: string;
  /** The ioredis client in use. */
  readonly client: Redis | Cluster;

  constructor(schema: FeatureSchema, opts: RedisFeatureStoreOptions = {}) {
    let client = opts.client;
    const owns = client === undefined;
    if (client === undefined) {
      client =
        opts.clusterNodes !== undefined
          ? new Cluster([...opts.clusterNodes], {
              enableAutoPipelining: true,
              ...opts.clusterOptions,
              redisOptions: { maxRetriesPerRequest: 2, ...opts.clusterOptions?.redisOptions },
            })
          : new Redis(opts.url ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true, maxRetriesPerRequest: 2, ...opts.redisOptions });
    }
    super(schema, new RedisBackend(client, owns), opts);
    this.client = client;
    this.name = client instanceof Cluster ? 'redis-cluster' : 'redis';
    // Connection errors surface as failed reads/writes (coded errors); without a listener
    // ioredis would also print them as "Unhandled error event".
    if (owns) client.on('error', () => undefined);
  }

  /**
   * Resolves once the client is connected (and, on a cluster, knows the slot map). Call it at
   * start-up: the first read of a cold client otherwise spends its group deadlines connecting.
   */
  async ready(): Promise<void> {
    const c = this.client;
    if (c.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const ok = (): void => {
          c.off('error', fail);
          resolve();
        };
        const fail = (e: unknown): void => {
          c.off('ready', ok);
          reject(e instanceof Error ? e : new Error(String(e)));
        };
        c.once('ready', ok);
        c.once('error', fail);
        if (c.status === 'wait') void c.connect().catch(fail);
      });
    }
    await c.ping();
    // warm every master's connection (cluster reads go straight to the nodes)
    if (c instanceof Cluster) await Promise.all(c.nodes('master').map((n) => n.ping()));
  }
}
