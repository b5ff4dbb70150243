import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Command, type Cluster, type Redis } from 'ioredis';
import type { MutationResult } from '../FeatureStore.js';
import { AUX_FIELD, keyStrings, type Backend, type EncodedMutation, type KeyList } from './Backend.js';
import { APPLY_MULTI_LUA, APPLY_PLAIN_LUA, APPLY_SNAPSHOT_LUA } from './redisScripts.js';

type Client = (Redis | Cluster) & {
  rsApply(key: string, ...args: (string | Buffer | number)[]): Promise<number>;
  rsApplySnap(key: string, snapKey: string, ...args: (string | Buffer | number)[]): Promise<number>;
  /** `APPLY_MULTI_LUA`: numKeys, keys, then ARGV. */
  rsApplyMulti(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number[]>;
};

/**
 * Hash mutations per `APPLY_MULTI_LUA` call. Bounds how long one call runs inside Redis (which
 * serves nothing else meanwhile): ~64 records of ~50–100 µs each.
 */
const MULTI_MAX_RECORDS = 64;

/**
 * Cluster reads of packed records: one script call per master node reads every key of the batch
 * that the node owns, whatever their slots. `MGET` needs all its keys in one slot, and the `{id}`
 * hash tag puts every item in its own slot, so a 200-item group was ~200 per-slot `MGET`s (one
 * `Command`, promise and reply each). Redis ≥ 7 lets a script with the `allow-cross-slot-keys`
 * flag read keys of several slots as long as the node serves them; the keys go in ARGV because
 * declared KEYS of several slots are refused at routing (CROSSSLOT), and `GET` in a loop because
 * a multi-slot `MGET` is refused inside a script too (both checked against Redis 7.0). `no-writes`
 * lets it run on replicas. A key the node no longer serves (resharding) fails the call with
 * "non local key": that read falls back to per-slot `MGET`s and the slot map is refreshed; any
 * other script failure (e.g. a Redis < 7 that cannot parse the flags) turns the script path off
 * for this backend.
 */
const CROSS_SLOT_GET_LUA = `#!lua flags=allow-cross-slot-keys,no-writes
local out = {}
for i = 1, #ARGV do out[i] = redis.call('GET', ARGV[i]) end
return out`;
const CROSS_SLOT_GET_SHA = createHash('sha1').update(CROSS_SLOT_GET_LUA).digest('hex');

interface Queued {
  readonly slot: number;
  readonly cmd: 'mgetBuffer' | 'hmgetBuffer' | 'raw' | 'nodeGet';
  /** For `raw`: empty (the command is in `raw`). */
  readonly args: readonly string[];
  readonly raw?: Command;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** `keys` with the client's `keyPrefix` (script ARGV is not prefixed by ioredis, unlike keys). */
function prefixed(keys: readonly string[], keyPrefix: string | undefined): string[] {
  return keyPrefix ? keys.map((k) => keyPrefix + k) : (keys as string[]);
}

/**
 * Redis / Redis Cluster backend.
 *
 * Reads issued in one tick (every group of a batch read) are queued here and flushed per node as
 * one corked burst of commands (see `send`): one write and one round trip per node, while each
 * group keeps its own promise (and so its own sub-deadline). On a single node the `MGET`s of
 * packed and snapshot groups are RESP-encoded here from the key head/tail and the ids
 * (`encodeMget`), without building key strings.
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
    crossSlotScript = true,
  ) {
    this.crossSlotScript = crossSlotScript;
    this.client = client as Client;
    this.cluster = 'nodes' in client && typeof (client as Cluster).nodes === 'function' && (client as Cluster).isCluster === true;
    this.rawMget = !this.cluster && !(client as Redis).options.keyPrefix;
    if (typeof this.client.rsApply !== 'function') client.defineCommand('rsApply', { numberOfKeys: 1, lua: APPLY_PLAIN_LUA });
    if (typeof this.client.rsApplySnap !== 'function') client.defineCommand('rsApplySnap', { numberOfKeys: 2, lua: APPLY_SNAPSHOT_LUA });
    if (typeof this.client.rsApplyMulti !== 'function') client.defineCommand('rsApplyMulti', { lua: APPLY_MULTI_LUA });
  }

  private queue: Queued[] = [];
  private nodeByKey = new Map<string, Redis>();

  private enqueue<T>(slot: number, cmd: Queued['cmd'], args: readonly string[], raw?: Command): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(() => this.flush());
      this.queue.push({ slot, cmd, args, raw, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /**
   * Raw-encoded `MGET` only on a single node whose client adds no `keyPrefix` of its own (the raw
   * bytes bypass ioredis's argument handling, which is where that prefix is applied).
   */
  private readonly rawMget: boolean;

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
    if (!this.cluster) return this.send(this.client as Redis, q);
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
    for (const [node, items] of byNode) this.send(node, items);
  }

  /**
   * Sends one node's queued reads: each as its own ioredis `Command` with the socket corked, so
   * the tick's commands leave in one write (one round trip) without a `Pipeline` — whose `exec`
   * joins Buffer-encoded commands with a `Buffer.concat` copy, collects the replies into another
   * array and, measured with `--trace-gc-nvp` on `bench/fetch.ts`, left ~2 MB promoted to the old
   * generation per scavenge (vs ~8 kB this way), i.e. 3–10 ms scavenges and regular full GCs in
   * the read path's tail. Each command's own promise settles its read.
   */
  private send(node: Redis, items: readonly Queued[]): void {
    const stream = node.status === 'ready' ? node.stream : undefined;
    // What ioredis's command methods apply to a client's keys (Command applies it when given).
    const keyPrefix = node.options.keyPrefix;
    stream?.cork();
    try {
      for (const it of items) {
        const cmd =
          it.cmd === 'raw'
            ? (it.raw as Command)
            : it.cmd === 'nodeGet'
              ? new Command('evalsha', [CROSS_SLOT_GET_SHA, '0', ...prefixed(it.args, keyPrefix)], { replyEncoding: null })
              : new Command(it.cmd === 'mgetBuffer' ? 'mget' : 'hmget', it.args as string[], { replyEncoding: null, keyPrefix });
        (cmd.promise as Promise<unknown>).then(it.resolve, (err: unknown) => {
          if (this.cluster && err instanceof Error && /^(MOVED|ASK)/.test(err.message)) void (this.client as Cluster).refreshSlotsCache();
          it.reject(err);
        });
        void node.sendCommand(cmd);
      }
    } finally {
      stream?.uncork();
    }
  }

  /** Cluster: whether packed reads go through {@link CROSS_SLOT_GET_LUA} (off after it failed for good). */
  private crossSlotScript: boolean;
  /** Cluster reads by script call / fallbacks to per-slot `MGET`s (diagnostics; tests read them). */
  readonly clusterReadStats = { scriptCalls: 0, fallbacks: 0, scriptDisabled: false };

  getPacked(keys: readonly string[]): Promise<(Buffer | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    if (!this.cluster) return this.enqueue<(Buffer | null)[]>(0, 'mgetBuffer', keys);
    return this.crossSlotScript ? this.getPackedByNode(keys) : this.getPackedBySlot(keys);
  }

  /** Cluster: one {@link CROSS_SLOT_GET_LUA} call per master node, all nodes in parallel. */
  private getPackedByNode(keys: readonly string[]): Promise<(Buffer | null)[]> {
    const slots = (this.client as Cluster).slots;
    const byNode = new Map<string, { slot: number; idx: number[] }>();
    for (let i = 0; i < keys.length; i++) {
      const slot = calculateSlot(keys[i] as string);
      const node = slots[slot]?.[0] ?? '';
      const g = byNode.get(node);
      if (g === undefined) byNode.set(node, { slot, idx: [i] });
      else g.idx.push(i);
    }
    const out: (Buffer | null)[] = new Array(keys.length);
    const parts: Promise<void>[] = [];
    for (const { slot, idx } of byNode.values()) {
      const ks = idx.map((i) => keys[i] as string);
      this.clusterReadStats.scriptCalls++;
      const call = this.enqueue<(Buffer | null)[]>(slot, 'nodeGet', ks).catch((e: unknown) => this.nodeGetFailed(e, ks, slot));
      parts.push(
        call.then((vals) => {
          for (let j = 0; j < idx.length; j++) out[idx[j] as number] = vals[j] ?? null;
        }),
      );
    }
    return Promise.all(parts).then(() => out);
  }

  /**
   * A failed per-node script read: NOSCRIPT (first call on that node, or after a restart) loads
   * the script with `EVAL` and is done; "non local key" (resharding) refreshes the slot map and
   * reads those keys by slot; anything else turns the script path off for good (e.g. a Redis < 7
   * that does not know the flags) and reads by slot.
   */
  private nodeGetFailed(e: unknown, ks: readonly string[], slot: number): Promise<(Buffer | null)[]> {
    const node = this.nodeFor(slot);
    const msg = e instanceof Error ? e.message : String(e);
    if (/^NOSCRIPT/.test(msg) && node !== undefined) {
      const load = new Command('eval', [CROSS_SLOT_GET_LUA, '0', ...prefixed(ks, node.options.keyPrefix)], { replyEncoding: null });
      void node.sendCommand(load);
      return (load.promise as Promise<(Buffer | null)[]>).catch((e2: unknown) =>
        /^NOSCRIPT/.test(e2 instanceof Error ? e2.message : '') ? this.fallBack(e2, ks) : this.nodeGetFailed(e2, ks, slot),
      );
    }
    return this.fallBack(e, ks);
  }

  private fallBack(e: unknown, ks: readonly string[]): Promise<(Buffer | null)[]> {
    const msg = e instanceof Error ? e.message : String(e);
    this.clusterReadStats.fallbacks++;
    if (/non local key|MOVED|ASK|CLUSTERDOWN/i.test(msg)) {
      // The slot map is stale: refresh it first, or the per-slot reads go to the same wrong node
      // (the group's sub-deadline still bounds the whole read).
      return new Promise<void>((resolve) => (this.client as Cluster).refreshSlotsCache(() => resolve())).then(() =>
        this.getPackedBySlot(ks),
      );
    }
    this.crossSlotScript = false;
    this.clusterReadStats.scriptDisabled = true;
    return this.getPackedBySlot(ks);
  }

  /** Cluster: one `MGET` per hash slot (MGET only works within one slot), all in parallel. */
  private getPackedBySlot(keys: readonly string[]): Promise<(Buffer | null)[]> {
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

  getPackedList(keys: KeyList): Promise<(Buffer | null)[]> {
    if (keys.ids.length === 0) return Promise.resolve([]);
    if (!this.rawMget) return this.getPacked(keyStrings(keys));
    return this.enqueue<(Buffer | null)[]>(0, 'raw', [], new RawCommand(encodeMget(keys)));
  }

  getHash(keys: readonly string[], fields: readonly string[]): Promise<(Buffer | null)[][]> {
    if (!this.cluster) return Promise.all(keys.map((k) => this.enqueue<(Buffer | null)[]>(0, 'hmgetBuffer', [k, ...fields])));
    return Promise.all(keys.map((k) => this.enqueue<(Buffer | null)[]>(calculateSlot(k), 'hmgetBuffer', [k, ...fields])));
  }

  async getAux(key: string): Promise<string | undefined> {
    const v = await this.client.hget(key, AUX_FIELD);
    return v ?? undefined;
  }

  /**
   * Packed records: one `SET` each. Hash records on a single node: grouped into `APPLY_MULTI_LUA`
   * calls of up to {@link MULTI_MAX_RECORDS} records that share a snapshot spec (or have none);
   * records keep their order within a call and calls go out in order on the one connection, so
   * mutations of one record apply in the order given. On a cluster one script call per record
   * (`APPLY_PLAIN_LUA` / `APPLY_SNAPSHOT_LUA`): a script's keys must share a slot, so the records
   * of a batch (one per entity, spread over the slots) would rarely share a call, and ioredis's
   * cluster auto-pipelining routes a command by a fixed key position, which a variable key count
   * does not have.
   */
  async apply(muts: readonly EncodedMutation[]): Promise<MutationResult[]> {
    const out = new Array<MutationResult>(muts.length);
    const work: Promise<void>[] = [];
    const groups = new Map<Buffer | string, number[]>();
    for (let i = 0; i < muts.length; i++) {
      const m = muts[i] as EncodedMutation;
      if (m.encoding === 'packed' || this.cluster) {
        work.push(this.applyOne(m).then((r) => void (out[i] = r)));
        continue;
      }
      const gk: Buffer | string = m.snapshot?.spec ?? '';
      let list = groups.get(gk);
      if (list === undefined || list.length >= MULTI_MAX_RECORDS) {
        if (list !== undefined) work.push(this.applyMulti(muts, list, out));
        list = [];
        groups.set(gk, list);
      }
      list.push(i);
    }
    for (const list of groups.values()) work.push(this.applyMulti(muts, list, out));
    await Promise.all(work);
    return out;
  }

  private async applyMulti(muts: readonly EncodedMutation[], idx: readonly number[], out: MutationResult[]): Promise<void> {
    const snap = (muts[idx[0] as number] as EncodedMutation).snapshot;
    const keys: string[] = [];
    const args: (string | Buffer | number)[] = [snap === undefined ? '' : specText(snap.spec)];
    for (const i of idx) {
      const m = muts[i] as EncodedMutation;
      keys.push(m.key);
      if (snap !== undefined) keys.push((m.snapshot as { key: string }).key);
      const a = applyArgs(m);
      args.push(a.length, ...a);
    }
    const res = await this.client.rsApplyMulti(keys.length, ...keys, ...args);
    idx.forEach((i, k) => {
      const r = res[k];
      out[i] = r === 1 ? 'applied' : r === 0 ? 'skipped' : 'conflict';
    });
  }

  private async applyOne(m: EncodedMutation): Promise<MutationResult> {
    if (m.encoding === 'packed') {
      if (m.ttlMs > 0) await this.client.set(m.key, m.packed as Buffer, 'PX', m.ttlMs);
      else await this.client.set(m.key, m.packed as Buffer);
      return 'applied';
    }
    const args = applyArgs(m);
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

/**
 * A command whose RESP bytes are encoded here rather than by ioredis. ioredis builds a command's
 * request by string concatenation of every argument (then UTF-8 encodes the joined string on
 * write); for a batch read's `MGET` of 200 keys that, plus building the 200 key strings, was
 * ~40 % of the bytes allocated per read and ~10 % of its CPU (`--cpu-prof` / sampling heap
 * profile of `bench/fetch.ts`). `encodeMget` writes the keys straight into one buffer from the
 * group's key head/tail and the ids. The reply path (parsing, `replyEncoding: null` → Buffers,
 * errors, offline queue, reconnects) is ioredis's own: only `toWritable` is replaced.
 */
class RawCommand extends Command {
  constructor(private readonly bytes: Buffer) {
    super('mget', [], { replyEncoding: null });
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

function writeDecimal(buf: Buffer, off: number, n: number): number {
  if (n < 10) {
    buf[off] = 48 + n;
    return off + 1;
  }
  let digits = 0;
  for (let x = n; x > 0; x = Math.floor(x / 10)) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    buf[off + i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return off + digits;
}

/** `s` as bytes when every char is ASCII (one byte per char), else `undefined`. */
function asciiBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return undefined;
    out[i] = c;
  }
  return out;
}

/**
 * RESP encoding of `MGET head+id+tail …` (exported for tests). ASCII ids (the usual case) are
 * copied char by char and their length is their byte length: for keys of ~20–50 bytes a JS loop
 * costs less than the `Buffer#write` / `Buffer#copy` / `Buffer.byteLength` calls into C++ it
 * replaces (three per key, ~0.1 ms of a 200-item read's CPU in `--cpu-prof`). Other ids take the
 * `Buffer#write` path.
 */
export function encodeMget(keys: KeyList): Buffer {
  const { ids } = keys;
  const head = asciiBytes(keys.head) ?? Buffer.from(keys.head, 'utf8');
  const tail = asciiBytes(keys.tail) ?? Buffer.from(keys.tail, 'utf8');
  const hn = head.length;
  const tn = tail.length;
  const fixed = hn + tn;
  let size = 24;
  // Upper bound: 3 UTF-8 bytes per UTF-16 unit, up to 10 length digits plus "$\r\n\r\n".
  for (let i = 0; i < ids.length; i++) size += fixed + 3 * (ids[i] as string).length + 16;
  const buf = slab(size);
  buf[0] = 0x2a; // '*'
  let off = writeDecimal(buf, 1, ids.length + 1);
  off += buf.write('\r\n$4\r\nMGET\r\n', off, 'latin1');
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    const n = id.length;
    let ascii = true;
    for (let k = 0; k < n; k++) {
      if (id.charCodeAt(k) >= 0x80) {
        ascii = false;
        break;
      }
    }
    buf[off++] = 0x24; // '$'
    off = writeDecimal(buf, off, fixed + (ascii ? n : Buffer.byteLength(id, 'utf8')));
    buf[off++] = 0x0d;
    buf[off++] = 0x0a;
    for (let k = 0; k < hn; k++) buf[off + k] = head[k] as number;
    off += hn;
    if (ascii) {
      for (let k = 0; k < n; k++) buf[off + k] = id.charCodeAt(k);
      off += n;
    } else off += buf.write(id, off, 'utf8');
    for (let k = 0; k < tn; k++) buf[off + k] = tail[k] as number;
    off += tn;
    buf[off++] = 0x0d;
    buf[off++] = 0x0a;
  }
  if (slabBuf !== undefined && buf.buffer === slabBuf.buffer) slabUsed += (off + 7) & ~7;
  return buf.subarray(0, off);
}

const SLAB_BYTES = 256 * 1024;
let slabBuf: Buffer | undefined;
let slabUsed = 0;

/**
 * Scratch space for encoded commands, carved from 256 KiB slabs (like Node's own 8 KiB Buffer
 * pool, which only serves allocations under 4 KiB): a batch read's `MGET` is ~10 KiB, and one
 * fresh ArrayBuffer per command adds enough external memory to trigger extra full GCs (measured:
 * 38 mark-compacts instead of 14 over 2 300 reads). A slab is never reused in place: carved
 * views keep it alive until the socket wrote them, then it is collected. The caller advances
 * `slabUsed` by what it wrote.
 */
function slab(size: number): Buffer {
  if (size > SLAB_BYTES / 4) return Buffer.allocUnsafe(size);
  if (slabBuf === undefined || slabUsed + size > SLAB_BYTES) {
    slabBuf = Buffer.allocUnsafe(SLAB_BYTES);
    slabUsed = 0;
  }
  return slabBuf.subarray(slabUsed, slabUsed + size);
}

const specTexts = new WeakMap<Buffer, string>();
/** `APPLY_MULTI_LUA`'s text form of a snapshot spec: the binary header as hex, the rest (UTF-8) as is. */
function specText(spec: Buffer): string {
  let t = specTexts.get(spec);
  if (t === undefined) specTexts.set(spec, (t = spec.toString('hex', 0, 7) + spec.toString('utf8', 7)));
  return t;
}

/** One hash mutation's script arguments (guard, TTL, aux, then the set / incr / decay lists), shared by the one-record and the batched scripts. */
function applyArgs(m: EncodedMutation): (string | Buffer | number)[] {
  const g = m.guard;
  return [
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
}
