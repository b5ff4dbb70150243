import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { MutationResult } from '../FeatureStore.js';
import { AUX_FIELD, type Backend, type EncodedMutation } from './Backend.js';
import { APPLY_PLAIN_LUA, APPLY_SNAPSHOT_LUA } from './redisScripts.js';

type Client = (Redis | Cluster) & {
  rsApply(key: string, ...args: (string | Buffer | number)[]): Promise<number>;
  rsApplySnap(key: string, snapKey: string, ...args: (string | Buffer | number)[]): Promise<number>;
};

interface Queued {
  readonly slot: number;
  readonly cmd: 'mgetBuffer' | 'hmgetBuffer';
  readonly args: readonly string[];
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Redis / Redis Cluster backend.
 *
 * Reads issued in one tick (every group of a batch read) are queued here and flushed as one
 * explicit pipeline per node: one write and one round trip per node, while each group keeps its
 * own promise (and so its own sub-deadline).
 *
 * Single node: the one pipeline goes to the client, so a batch read is one round trip even on a
 * caller-supplied client without `enableAutoPipelining`. Against ioredis auto-pipelining it
 * measured 8.0 vs 9.8 ms p50 for the 200 `HMGET`s of a hot hash group, and within noise on a
 * whole read (loaded machine, interleaved runs).
 *
 * Cluster: ioredis's cluster auto-pipelining measured 3–10× slower than explicit per-node
 * pipelines on this workload (200 single-key commands: ~10–25 ms vs ~1.5–3 ms), so reads issued in
 * one tick are queued here and flushed as one explicit pipeline per master node, all nodes in
 * parallel. Commands are grouped by hash slot (MGET only works within one slot). A MOVED/ASK
 * reply (resharding) fails that group (reported missing) and refreshes the slot map.
 */
export class RedisBackend implements Backend {
  private readonly client: Client;
  private readonly cluster: boolean;

  constructor(
    client: Redis | Cluster,
    private readonly ownsClient: boolean,
  ) {
    this.client = client as Client;
    this.cluster = 'nodes' in client && typeof (client as Cluster).nodes === 'function' && (client as Cluster).isCluster === true;
    if (typeof this.client.rsApply !== 'function') client.defineCommand('rsApply', { numberOfKeys: 1, lua: APPLY_PLAIN_LUA });
    if (typeof this.client.rsApplySnap !== 'function') client.defineCommand('rsApplySnap', { numberOfKeys: 2, lua: APPLY_SNAPSHOT_LUA });
  }

  private queue: Queued[] = [];
  private nodeByKey = new Map<string, Redis>();

  private enqueue<T>(slot: number, cmd: Queued['cmd'], args: readonly string[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(() => this.flush());
      this.queue.push({ slot, cmd, args, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private nodeFor(slot: number): Redis | undefined {
    if (!this.cluster) return this.client as Redis;
    const c = this.client as Cluster;
    const key = c.slots[slot]?.[0];
    if (key === undefined) return undefined;
    let n = this.nodeByKey.get(key);
    if (n === undefined) {
      this.nodeByKey = new Map(c.nodes('master').map((r) => [`${r.options.host ?? ''}:${r.options.port ?? ''}`, r]));
      n = this.nodeByKey.get(key);
    }
    return n;
  }

  private flush(): void {
    const q = this.queue;
    this.queue = [];
    const byNode = new Map<Redis, Queued[]>();
    for (const item of q) {
      const n = this.nodeFor(item.slot);
      if (n === undefined) {
        item.reject(new Error(`no node for slot ${item.slot}`));
        continue;
      }
      const list = byNode.get(n);
      if (list === undefined) byNode.set(n, [item]);
      else list.push(item);
    }
    for (const [node, items] of byNode) {
      const p = node.pipeline();
      for (const it of items) {
        if (it.cmd === 'mgetBuffer') p.mgetBuffer(...it.args);
        else p.hmgetBuffer(it.args[0] as string, ...it.args.slice(1));
      }
      p.exec().then(
        (res) => {
          items.forEach((it, i) => {
            const [err, val] = res?.[i] ?? [new Error('no reply'), null];
            if (err) {
              if (this.cluster && /^(MOVED|ASK)/.test(err.message)) void (this.client as Cluster).refreshSlotsCache();
              it.reject(err);
            } else it.resolve(val);
          });
        },
        (e: unknown) => {
          for (const it of items) it.reject(e);
        },
      );
    }
  }

  getPacked(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    if (!this.cluster) return this.enqueue<(Buffer | null)[]>(0, 'mgetBuffer', keys);
    // Cluster: MGET only works within one slot, so group the keys by slot and fetch the groups
    // in parallel (auto-pipelining batches them per node).
    const bySlot = new Map<number, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const s = calculateSlot(keys[i] as string);
      const list = bySlot.get(s);
      if (list === undefined) bySlot.set(s, [i]);
      else list.push(i);
    }
    const out: (Buffer | null)[] = new Array(keys.length);
    const parts: Promise<void>[] = [];
    for (const [slot, idx] of bySlot) {
      parts.push(
        this.enqueue<(Buffer | null)[]>(
          slot,
          'mgetBuffer',
          idx.map((i) => keys[i] as string),
        ).then((vals) => {
          for (let j = 0; j < idx.length; j++) out[idx[j] as number] = vals[j] ?? null;
        }),
      );
    }
    return Promise.all(parts).then(() => out);
  }

  getHash(keys: readonly string[], fields: readonly string[]): Promise<(Buffer | null)[][]> {
    if (!this.cluster) return Promise.all(keys.map((k) => this.enqueue<(Buffer | null)[]>(0, 'hmgetBuffer', [k, ...fields])));
    return Promise.all(keys.map((k) => this.enqueue<(Buffer | null)[]>(calculateSlot(k), 'hmgetBuffer', [k, ...fields])));
  }

  async getAux(key: string): Promise<string | undefined> {
    const v = await this.client.hget(key, AUX_FIELD);
    return v ?? undefined;
  }

  apply(muts: readonly EncodedMutation[]): Promise<MutationResult[]> {
    return Promise.all(muts.map((m) => this.applyOne(m)));
  }

  private async applyOne(m: EncodedMutation): Promise<MutationResult> {
    if (m.encoding === 'packed') {
      if (m.ttlMs > 0) await this.client.set(m.key, m.packed as Buffer, 'PX', m.ttlMs);
      else await this.client.set(m.key, m.packed as Buffer);
      return 'applied';
    }
    const g = m.guard;
    const args: (string | Buffer | number)[] = [
      g?.stream ?? '',
      g?.seq ?? 0,
      g?.fromSeq ?? 0,
      m.ttlMs,
      m.aux === undefined ? '0' : '1',
      m.aux ?? '',
      m.set.length / 2,
      ...m.set,
      m.incr.length / 2,
      ...m.incr,
      m.decay.length / 4,
      ...m.decay,
    ];
    const sn = m.snapshot;
    const r = sn === undefined ? await this.client.rsApply(m.key, ...args) : await this.client.rsApplySnap(m.key, sn.key, ...args, sn.spec);
    return r === 1 ? 'applied' : r === 0 ? 'skipped' : 'conflict';
  }

  async del(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.client.del(...keys);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => undefined);
  }
}
