import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { FeatureSchema } from './FeatureSchema.js';
import { FeaturesErrors } from './errors.js';
import { RedisBackend } from './internal/RedisBackend.js';
import { StoreEngine, type HashSnapshotMode, type StoreEngineOptions } from './internal/StoreEngine.js';

/** Options of {@link RedisFeatureStore}. */
export interface RedisFeatureStoreOptions extends StoreEngineOptions {
  /**
   * An ioredis client (`Redis` or `Cluster`) to use; the store does not close it. Batch reads
   * pipeline explicitly (one pipeline per node per read); `enableAutoPipelining` still helps
   * writes.
   */
  readonly client?: Redis | Cluster;
  /** Single node to connect to when no client is given. Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Cluster seed nodes; when set (and no client), the store creates an ioredis `Cluster`. */
  readonly clusterNodes?: readonly ClusterNode[];
  /** Extra ioredis options for a client the store creates. */
  readonly redisOptions?: RedisOptions;
  readonly clusterOptions?: ClusterOptions;
  /**
   * Packed snapshots of hot item/creator hash groups (e.g. `item_stream`), so a batch reads them
   * with one `MGET` instead of one `HMGET` per item. The write script refreshes a record's
   * snapshot atomically with every update of its hash (`<key>~p`, same hash tag).
   * - `'read'` (default): writes refresh snapshots, reads use them; a row without a usable
   *   snapshot is read from the hash (a second round trip, `stats().snapshotFallbacks`).
   * - `'write'`: writes refresh snapshots, reads use `HMGET`. Rolling upgrade from a release
   *   without snapshots: deploy every writer with `'write'` first (older writers update hashes
   *   without refreshing snapshots, which would leave them stale), then switch readers to `'read'`.
   * - `'off'`: neither.
   */
  readonly hashSnapshots?: HashSnapshotMode;
  /**
   * Redis Cluster: how a packed group's records are read.
   * - `'script'` (default): one read-only script call per master node for every key that node
   *   serves, whatever their slots (Redis ≥ 7, `allow-cross-slot-keys`). A stale slot map falls
   *   back to `'slot'` for that read; a Redis that cannot run it turns it off for good.
   * - `'slot'`: one `MGET` per hash slot — with the `{id}` hash tag, one per item.
   */
  readonly clusterReads?: 'script' | 'slot';
}

/** `value` when it is one of `allowed`, else `RECSPINE_ERR_FEATURES_BAD_VALUE` naming the option. */
function choice<T extends string>(field: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value))
    throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `${field} must be ${allowed.join('|')}, got ${String(value)}`, {
      field,
    });
  return value;
}

/**
 * The feature store on Redis (single node) or Redis Cluster, via ioredis.
 *
 * - A batch read issues its commands (one `MGET` for a packed group, one `HMGET` per record for
 *   a hash group) in a single tick; they go out as one explicit pipeline, one round trip. On a
 *   cluster, a packed group is one read-only script call per master node (`clusterReads`), and
 *   the commands are flushed as one pipeline per master node, all nodes in parallel.
 * - Records decode straight into the batch's columns (`batch.columns`); row objects are built
 *   only if `batch.items` is read.
 * - Each group races its own sub-deadline; a late group is reported missing (`timeout`).
 * - Mutations on hash groups run as one Lua script per record (atomic, idempotent with guards);
 *   packed groups are written with one `SET`. For hot item/creator hash groups the script also
 *   refreshes a packed snapshot of the record, which reads fetch with one `MGET` per batch
 *   (`hashSnapshots`).
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
    // Options are checked before a client is created (a refused store opens no connection).
    const mode = choice('hashSnapshots', opts.hashSnapshots ?? 'read', ['off', 'write', 'read'] as const);
    const clusterReads = choice('clusterReads', opts.clusterReads ?? 'script', ['script', 'slot'] as const);
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
    super(schema, new RedisBackend(client, owns, clusterReads === 'script'), opts, mode);
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
