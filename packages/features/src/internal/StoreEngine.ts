import {
  columnarFeatureBatch,
  type FeatureBatch,
  type FeatureColumn,
  type FeatureRow,
  type FeatureValue,
  type MissingReason,
} from '@recspine/core';
import { LRUCache } from 'lru-cache';
import type { CompiledGroup, FeatureSchema, FeatureSpec, StoredEntity } from '../FeatureSchema.js';
import type {
  FeatureMutation,
  FeatureReadOptions,
  FeatureReadRequest,
  FeatureStore,
  FeatureStoreStats,
  MutationResult,
} from '../FeatureStore.js';
import { FeaturesErrors } from '../errors.js';
import type { Backend, EncodedMutation, KeyList } from './Backend.js';
import { checkValue, encodeHashField, encodePacked } from './codec.js';
import {
  allocGroupColumns,
  allocSnapshotColumns,
  cellValue,
  decodeHashColumns,
  decodePackedColumns,
  decodeSnapshotColumns,
  gatherColumns,
  snapshotSpec,
  type GroupColumns,
} from './columns.js';

/** Options shared by every store built on the engine. */
export interface StoreEngineOptions {
  /** Key prefix. Default `rs:f:`. */
  readonly keyPrefix?: string;
  /** Largest batch a read accepts. Default 1000. */
  readonly maxItems?: number;
  /**
   * Local LRU tier for cacheable groups (stable item/creator features): one LRU per cacheable
   * group, each bounded to `max` records. `false` disables it. Default `{ max: 100_000, ttlMs: 60_000 }`.
   */
  readonly cache?: false | { readonly max: number; readonly ttlMs: number };
}

/**
 * Packed snapshots of hot hash groups (see {@link StoreEngine}): `off` — none; `write` — every
 * hash write also refreshes the snapshot, reads still use `HMGET` (the first step of a rolling
 * upgrade, while older writers that do not refresh snapshots may still run); `read` — writes
 * refresh them and reads `MGET` them, falling back to `HMGET` for rows without a usable one.
 */
export type HashSnapshotMode = 'off' | 'write' | 'read';

const ENTITY_CODE: Record<StoredEntity, string> = { user: 'u', item: 'i', creator: 'c' };
/**
 * What the local cache tier holds per record: its raw bytes (a packed record, or a hash record's
 * HMGET reply), decoded on every hit exactly like a fetched record, or {@link NO_RECORD}.
 */
type CachedRecord = Buffer | readonly (Buffer | null)[] | typeof NO_RECORD;
/** Cached "no such record / malformed record" (the cache cannot hold `undefined`). */
const NO_RECORD: unique symbol = Symbol('no-record');
const MAX_ID = 512;

type Outcome = { ok: true } | { ok: false; reason: MissingReason };

/**
 * The read/write orchestration shared by the in-memory and Redis stores: request validation,
 * per-group sub-deadlines, the local cache tier, decoding into rows, creator joins, mutation
 * validation and encoding. Backends only move bytes.
 */
export abstract class StoreEngine implements FeatureStore {
  abstract readonly name: string;
  readonly schema: FeatureSchema;
  protected readonly backend: Backend;
  private readonly prefix: string;
  private readonly maxItems: number;
  /**
   * One LRU per cacheable group, keyed by the entity id itself: a composite `group\0id` key built
   * a new string per lookup, which the cache's map then had to flatten and hash — 2.7 % of the
   * video-platform server's CPU for ~300 lookups per request (profile at 200 QPS).
   */
  private readonly caches: Map<string, LRUCache<string, CachedRecord>> | undefined;
  private readonly counters = {
    reads: 0,
    cacheHits: 0,
    cacheMisses: 0,
    decodeErrors: 0,
    groupTimeouts: 0,
    groupErrors: 0,
    snapshotReads: 0,
    snapshotFallbacks: 0,
  };
  private readonly snapshots: HashSnapshotMode;

  protected constructor(schema: FeatureSchema, backend: Backend, opts: StoreEngineOptions = {}, snapshots: HashSnapshotMode = 'off') {
    this.schema = schema;
    this.snapshots = snapshots;
    this.backend = backend;
    this.prefix = opts.keyPrefix ?? 'rs:f:';
    this.maxItems = opts.maxItems ?? 1000;
    const c = opts.cache ?? { max: 100_000, ttlMs: 60_000 };
    if (c === false) this.caches = undefined;
    else {
      this.caches = new Map();
      for (const g of schema.groups) {
        // ttlResolution 0: lru-cache's default (1) caches `performance.now()` for 1 ms and arms a
        // 1 ms `setTimeout` to forget it each time it refreshes the clock — under load a timer
        // wake-up per millisecond of feature reads, most of them while the loop waits for Redis.
        // A `performance.now()` per lookup (tens of ns, ~600 per request) costs less.
        if (g.cacheable) this.caches.set(g.name, new LRUCache({ max: c.max, ttl: c.ttlMs, ttlAutopurge: false, ttlResolution: 0 }));
      }
    }
  }

  /** The storage key of one record. The `{id}` hash tag keeps all groups of one entity in one cluster slot. */
  key(entity: StoredEntity, id: string, group: string): string {
    return `${this.prefix}${ENTITY_CODE[entity]}:{${id}}:${group}`;
  }

  /** The keys of `ids`' records of group `g` (`suffix`: `~p` for snapshots), un-joined. */
  private keyList(g: CompiledGroup, ids: readonly string[], suffix = ''): KeyList {
    return { head: `${this.prefix}${ENTITY_CODE[g.entity as StoredEntity]}:{`, ids, tail: `}:${g.name}${suffix}` };
  }

  /** The key of a hash record's packed snapshot: same hash tag, so same slot as the record. */
  snapshotKey(entity: StoredEntity, id: string, group: string): string {
    return `${this.key(entity, id, group)}~p`;
  }

  /**
   * Hot item/creator hash groups get a packed snapshot: those are the groups read for a whole
   * batch (200 `HMGET`s → one `MGET`). User groups are one record per read, where a snapshot
   * would only add write cost; cacheable (all-stable) hash groups are served by the local cache.
   */
  private static snapshotted(g: CompiledGroup): boolean {
    return g.encoding === 'hash' && !g.cacheable && (g.entity === 'item' || g.entity === 'creator');
  }

  stats(): FeatureStoreStats {
    return { ...this.counters };
  }

  async read(req: FeatureReadRequest, opts: FeatureReadOptions = {}): Promise<FeatureBatch> {
    const { itemIds } = req;
    if (!Array.isArray(itemIds))
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', 'itemIds must be an array', { field: 'itemIds' });
    if (itemIds.length > this.maxItems)
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BATCH_TOO_LARGE', `${itemIds.length} items > maxItems ${this.maxItems}`, {
        field: 'itemIds',
      });
    const { signal } = opts;
    if (signal?.aborted)
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_ABORTED', 'read aborted before it started', { cause: signal.reason });
    this.counters.reads++;
    const now = req.nowMs ?? Date.now();
    const wanted = req.groups === undefined ? undefined : new Set(req.groups);
    for (const g of wanted ?? []) {
      if (this.schema.group(g) === undefined)
        throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_UNKNOWN_GROUP', `unknown group ${g}`, { field: 'groups' });
    }
    const use = (g: CompiledGroup): boolean => wanted === undefined || wanted.has(g.name);
    const cap = opts.maxGroupTimeoutMs ?? Infinity;
    const n = itemIds.length;
    const user: Record<string, FeatureValue> = {};
    const missing = new Map<string, MissingReason>();
    const outcomes: Promise<Outcome>[] = [];
    const groupsRun: string[] = [];
    // Decoded columns of every group that succeeded; only these reach the batch, so a late or
    // failed group writes nothing anywhere.
    const decoded = new Map<CompiledGroup, GroupColumns>();

    for (const g of this.schema.groupsOf('context')) if (use(g)) decodeContext(g, req.context, user);

    const run = (g: CompiledGroup, ids: readonly string[]): Promise<Outcome> => {
      groupsRun.push(g.name);
      const p = this.readGroup(g, ids, now, Math.min(g.timeoutMs, cap)).then((r): Outcome => {
        if (r.ok) {
          decoded.set(g, r.cols);
          return { ok: true };
        }
        missing.set(g.name, r.reason);
        return { ok: false, reason: r.reason };
      });
      outcomes.push(p);
      return p;
    };

    const userGroups = req.userId === undefined ? [] : this.schema.groupsOf('user').filter(use);
    for (const g of userGroups) void run(g, [req.userId as string]);
    let creatorSource: Promise<Outcome> | undefined;
    const from = this.schema.creatorIdFrom;
    const itemGroups: CompiledGroup[] = [];
    for (const g of this.schema.groupsOf('item')) {
      if (!use(g) && !(req.creatorIds === undefined && from?.group === g.name)) continue;
      itemGroups.push(g);
      const p = run(g, itemIds);
      if (from?.group === g.name) creatorSource = p;
    }

    const creatorGroups = n > 0 ? this.schema.groupsOf('creator').filter(use) : [];
    // Row i of the item columns takes creator record creatorPos[i] (−1: no creator).
    let creatorPos: Int32Array | undefined;
    if (creatorGroups.length > 0) {
      const runCreators = (creatorIds: readonly (string | undefined)[]): Promise<Outcome[]> => {
        const pos = new Int32Array(n).fill(-1);
        const unique: string[] = [];
        const seen = new Map<string, number>();
        for (let i = 0; i < n; i++) {
          const c = creatorIds[i];
          if (typeof c !== 'string' || c.length === 0) continue;
          let j = seen.get(c);
          if (j === undefined) {
            j = unique.length;
            seen.set(c, j);
            unique.push(c);
          }
          pos[i] = j;
        }
        creatorPos = pos;
        return Promise.all(creatorGroups.map((g) => run(g, unique)));
      };
      if (req.creatorIds !== undefined) void runCreators(req.creatorIds);
      else if (from !== undefined && creatorSource !== undefined) {
        // Dependent read: the creator ids come from an item group, so creators wait for it.
        const src = this.schema.group(from.group) as CompiledGroup;
        const fi = src.index.get(from.feature) as number;
        const dependent = creatorSource.then((o): Outcome | Promise<Outcome> => {
          const col = decoded.get(src)?.cols[fi];
          if (!o.ok || col === undefined || col.type !== 'category') {
            for (const g of creatorGroups) missing.set(g.name, 'skipped');
            return { ok: true };
          }
          const ids = col.values.map((v, i) => (col.present[i] === 1 ? v : undefined));
          return runCreators(ids).then(() => ({ ok: true }));
        });
        outcomes.push(dependent);
      } else for (const g of creatorGroups) missing.set(g.name, 'skipped');
    }

    // The dependent creator read (if any) is itself one of the outcomes and settles only after
    // the creator groups it started, so one wait covers everything.
    const all = Promise.all(outcomes);
    await (signal === undefined ? all : raceAbort(all, signal));
    // If every stored group failed with an error, the store as a whole is down: reject, so the
    // runner takes its degraded path and counts the failure against its breaker.
    if (groupsRun.length > 0 && groupsRun.every((g) => missing.get(g) === 'error'))
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_STORE_UNAVAILABLE', `${this.name}: every feature group failed`, {
        cause: this.lastError,
      });

    for (const g of userGroups) {
      const gc = decoded.get(g);
      if (gc === undefined) continue;
      for (let fi = 0; fi < gc.cols.length; fi++) {
        const v = cellValue(gc.cols[fi] as FeatureColumn, 0);
        if (v !== undefined) user[g.outputNames[fi] as string] = v;
      }
    }
    // Columns in schema order: item groups (only those the caller asked for), then creators.
    const columns = new Map<string, FeatureColumn>();
    for (const g of itemGroups) {
      const gc = decoded.get(g);
      if (gc === undefined || !use(g)) continue;
      for (let fi = 0; fi < gc.cols.length; fi++) columns.set(g.outputNames[fi] as string, gc.cols[fi] as FeatureColumn);
    }
    for (const g of creatorGroups) {
      const gc = decoded.get(g);
      if (gc === undefined || creatorPos === undefined) continue;
      const gathered = gatherColumns(g, gc, creatorPos, n);
      for (let fi = 0; fi < gathered.cols.length; fi++) columns.set(g.outputNames[fi] as string, gathered.cols[fi] as FeatureColumn);
    }
    return columnarFeatureBatch({ userId: req.userId, itemIds, user: user as FeatureRow, columns, missingGroups: missing });
  }

  private lastError: unknown;

  private async readGroup(
    g: CompiledGroup,
    ids: readonly string[],
    now: number,
    timeoutMs: number,
  ): Promise<{ ok: true; cols: GroupColumns } | { ok: false; reason: MissingReason }> {
    const m = ids.length;
    const cache = g.cacheable ? this.caches?.get(g.name) : undefined;
    // Cache hits hold the record's raw bytes; they decode like a fetched record (no network).
    let hits: (CachedRecord | undefined)[] | undefined;
    let missIdx: number[] | undefined;
    if (cache !== undefined) {
      hits = new Array<CachedRecord | undefined>(m);
      missIdx = [];
      for (let i = 0; i < m; i++) {
        const hit = cache.get(ids[i] as string);
        if (hit === undefined) missIdx.push(i);
        else hits[i] = hit;
      }
      this.counters.cacheHits += m - missIdx.length;
      this.counters.cacheMisses += missIdx.length;
    }
    let raw: (Buffer | null)[] | (Buffer | null)[][] = [];
    const fetchIds = missIdx === undefined ? ids : missIdx.map((i) => ids[i] as string);
    if (fetchIds.length > 0) {
      if (this.snapshots === 'read' && cache === undefined && StoreEngine.snapshotted(g))
        return this.readSnapshots(g, fetchIds, now, timeoutMs);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(resolve, timeoutMs, 'timeout');
      });
      const fetched =
        g.encoding === 'packed'
          ? this.backend.getPackedList(this.keyList(g, fetchIds))
          : this.backend.getHash(
              fetchIds.map((id) => this.key(g.entity as StoredEntity, id, g.name)),
              g.hashFields,
            );
      let got: (Buffer | null)[] | (Buffer | null)[][] | 'timeout';
      try {
        got = await Promise.race([fetched, timeout]);
      } catch (e) {
        this.lastError = e;
        this.counters.groupErrors++;
        return { ok: false, reason: 'error' };
      } finally {
        clearTimeout(timer);
      }
      if (got === 'timeout') {
        fetched.catch(() => undefined); // the late reply (or failure) is dropped
        this.counters.groupTimeouts++;
        return { ok: false, reason: 'timeout' };
      }
      raw = got;
    }
    const gc = allocGroupColumns(g, m);
    const packed = g.encoding === 'packed';
    let errors = 0;
    if (missIdx === undefined) {
      // No cache tier: record j is row j.
      if (packed) {
        const bufs = raw as (Buffer | null)[];
        for (let j = 0; j < m; j++) if (decodePackedColumns(g, bufs[j], gc, j) === 2) errors++;
      } else {
        const recs = raw as (Buffer | null)[][];
        for (let j = 0; j < m; j++) errors += decodeHashColumns(g, recs[j], now, gc, j);
      }
    } else {
      for (let i = 0; i < m; i++) {
        const hit = (hits as (CachedRecord | undefined)[])[i];
        if (hit === undefined || hit === NO_RECORD) continue;
        // Errors were counted when the record was fetched; a hit does not count them again.
        if (packed) decodePackedColumns(g, hit as Buffer, gc, i);
        else decodeHashColumns(g, hit as (Buffer | null)[], now, gc, i);
      }
      for (let j = 0; j < missIdx.length; j++) {
        const i = missIdx[j] as number;
        let keep: CachedRecord = NO_RECORD;
        if (packed) {
          const buf = (raw as (Buffer | null)[])[j];
          const st = decodePackedColumns(g, buf, gc, i);
          if (st === 2) errors++;
          // Own copy: a reply buffer can be a view into a much larger socket chunk.
          else if (st === 1) keep = Buffer.from(buf as Buffer);
        } else {
          const rec = (raw as (Buffer | null)[][])[j];
          errors += decodeHashColumns(g, rec, now, gc, i);
          if (rec !== undefined && rec.some((b) => b !== null)) keep = rec.map((b) => (b === null ? null : Buffer.from(b)));
        }
        (cache as LRUCache<string, CachedRecord>).set(fetchIds[j] as string, keep);
      }
    }
    this.counters.decodeErrors += errors;
    return { ok: true, cols: gc };
  }

  /**
   * A hot hash group through its packed snapshots: one `MGET`, decoded like a packed group, then
   * the decayed counters are decayed to `now` (as a hash read does). Rows whose snapshot is
   * absent or unusable (written by an older version, or another schema) are read from the hash
   * with `HMGET` in a second round trip (counted in `snapshotFallbacks`), inside the same deadline.
   */
  private async readSnapshots(
    g: CompiledGroup,
    ids: readonly string[],
    now: number,
    timeoutMs: number,
  ): Promise<{ ok: true; cols: GroupColumns } | { ok: false; reason: MissingReason }> {
    const m = ids.length;
    const spec = snapshotSpec(g);
    const entity = g.entity as StoredEntity;
    const work = async (): Promise<{ gc: GroupColumns; errors: number; fallbacks: number }> => {
      const snaps = await this.backend.getPackedList(this.keyList(g, ids, '~p'));
      const { gc, sc } = allocSnapshotColumns(g, spec, m);
      const fall: number[] = [];
      for (let j = 0; j < m; j++) if (decodeSnapshotColumns(g, spec, snaps[j], now, sc, j) !== 1) fall.push(j);
      let errors = 0;
      if (fall.length > 0) {
        const recs = await this.backend.getHash(
          fall.map((j) => this.key(entity, ids[j] as string, g.name)),
          g.hashFields,
        );
        for (let k = 0; k < fall.length; k++) errors += decodeHashColumns(g, recs[k], now, gc, fall[k] as number);
      }
      return { gc, errors, fallbacks: fall.length };
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, 'timeout');
    });
    const p = work();
    let got: Awaited<ReturnType<typeof work>> | 'timeout';
    try {
      got = await Promise.race([p, timeout]);
    } catch (e) {
      this.lastError = e;
      this.counters.groupErrors++;
      return { ok: false, reason: 'error' };
    } finally {
      clearTimeout(timer);
    }
    if (got === 'timeout') {
      p.catch(() => undefined);
      this.counters.groupTimeouts++;
      return { ok: false, reason: 'timeout' };
    }
    this.counters.snapshotReads += m - got.fallbacks;
    this.counters.snapshotFallbacks += got.fallbacks;
    this.counters.decodeErrors += got.errors;
    return { ok: true, cols: got.gc };
  }

  async write(mutations: readonly FeatureMutation[]): Promise<MutationResult[]> {
    if (!Array.isArray(mutations))
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', 'mutations must be an array', { field: 'mutations' });
    const encoded = mutations.map((m, i) => this.encode(m, i));
    if (encoded.length === 0) return [];
    for (const m of mutations) {
      const g = this.schema.group(m.group) as CompiledGroup;
      if (g.cacheable) this.caches?.get(g.name)?.delete(m.id);
    }
    try {
      return await this.backend.apply(encoded);
    } catch (e) {
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_STORE_UNAVAILABLE', `${this.name}: write failed`, { cause: e });
    }
  }

  async readAux(entity: StoredEntity, id: string, group: string): Promise<string | undefined> {
    const g = this.groupFor(entity, id, group, 'readAux');
    try {
      return await this.backend.getAux(this.key(entity, id, g.name));
    } catch (e) {
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_STORE_UNAVAILABLE', `${this.name}: readAux failed`, { cause: e });
    }
  }

  async deleteEntity(entity: StoredEntity, id: string): Promise<void> {
    if (entity !== 'user' && entity !== 'item' && entity !== 'creator')
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_UNKNOWN_GROUP', `cannot delete entity kind ${String(entity)}`, {
        field: 'entity',
      });
    checkId(id);
    const groups = this.schema.groupsOf(entity);
    for (const g of groups) this.caches?.get(g.name)?.delete(id);
    if (groups.length === 0) return;
    // Snapshot keys are deleted whatever this store's mode: another process may have written them.
    const keys = groups.flatMap((g) =>
      StoreEngine.snapshotted(g) ? [this.key(entity, id, g.name), this.snapshotKey(entity, id, g.name)] : [this.key(entity, id, g.name)],
    );
    try {
      await this.backend.del(keys);
    } catch (e) {
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_STORE_UNAVAILABLE', `${this.name}: delete failed`, { cause: e });
    }
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  private groupFor(entity: StoredEntity, id: string, group: string, field: string): CompiledGroup {
    const g = this.schema.group(group);
    if (g === undefined || g.entity !== entity || (entity as string) === 'context')
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_UNKNOWN_GROUP', `no stored ${String(entity)} group ${String(group)}`, { field });
    checkId(id, field);
    return g;
  }

  private encode(m: FeatureMutation, i: number): EncodedMutation {
    const at = `mutations[${i}]`;
    if (typeof m !== 'object' || m === null)
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `${at} is not an object`, { field: at });
    const g = this.groupFor(m.entity, m.id, m.group, `${at}.group`);
    const key = this.key(m.entity, m.id, g.name);
    const spec = (name: string): FeatureSpec => {
      const fi = g.index.get(name);
      if (fi === undefined)
        throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_UNKNOWN_GROUP', `group ${g.name} has no feature ${name}`, {
          field: `${at}.${name}`,
        });
      return g.features[fi] as FeatureSpec;
    };
    const unsupported = (what: string): never => {
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_UNSUPPORTED_OP', `${what} (group ${g.name})`, { field: at });
    };
    let guard: EncodedMutation['guard'];
    if (m.guard !== undefined) {
      const { stream, seq } = m.guard;
      const fromSeq = m.guard.fromSeq ?? seq;
      if (
        typeof stream !== 'string' ||
        stream.length === 0 ||
        stream.length > 256 ||
        !Number.isSafeInteger(seq) ||
        !Number.isSafeInteger(fromSeq) ||
        fromSeq > seq
      )
        throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `${at}.guard needs a stream and integer fromSeq ≤ seq`, {
          field: `${at}.guard`,
        });
      guard = { stream, seq, fromSeq };
    }
    if (g.encoding === 'packed') {
      if (m.incr !== undefined || m.decay !== undefined) unsupported('incr/decay need the hash encoding');
      if (m.guard !== undefined || m.aux !== undefined) unsupported('guard/aux need the hash encoding');
      const values = new Map<number, FeatureValue>();
      for (const [name, v] of Object.entries(m.set ?? {})) {
        const s = spec(name);
        values.set(g.index.get(name) as number, checkValue(s, v, g.name));
      }
      return {
        key,
        encoding: 'packed',
        packed: encodePacked(g.features, g.fingerprint, values),
        set: [],
        incr: [],
        decay: [],
        guard,
        aux: undefined,
        ttlMs: g.ttlMs,
      };
    }
    const set: (string | Buffer)[] = [];
    for (const [name, v] of Object.entries(m.set ?? {})) {
      const s = spec(name);
      set.push(name, encodeHashField(s, checkValue(s, v, g.name)));
    }
    const incr: (string | number)[] = [];
    for (const [name, d] of Object.entries(m.incr ?? {})) {
      const s = spec(name);
      if (s.type !== 'number') unsupported(`incr on non-number feature ${name}`);
      if (typeof d !== 'number' || !Number.isFinite(d))
        throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `${at}.incr.${name} must be finite`, {
          field: `${at}.incr.${name}`,
        });
      incr.push(name, d);
    }
    const decay: (string | number)[] = [];
    if (m.decay !== undefined) {
      const { atMs, add } = m.decay;
      if (typeof atMs !== 'number' || !Number.isFinite(atMs))
        throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `${at}.decay.atMs must be finite`, { field: `${at}.decay.atMs` });
      for (const [name, d] of Object.entries(add)) {
        const s = spec(name);
        if (s.halfLifeMs === undefined) unsupported(`decay on feature ${name} without halfLifeMs`);
        if (typeof d !== 'number' || !Number.isFinite(d))
          throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `${at}.decay.add.${name} must be finite`, {
            field: `${at}.decay.add.${name}`,
          });
        decay.push(name, d, atMs, s.halfLifeMs as number);
      }
    }
    if (m.aux !== undefined && typeof m.aux !== 'string')
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `${at}.aux must be a string`, { field: `${at}.aux` });
    if (this.snapshots === 'off' || !StoreEngine.snapshotted(g))
      return { key, encoding: 'hash', set, incr, decay, guard, aux: m.aux, ttlMs: g.ttlMs };
    const sp = snapshotSpec(g);
    const snapshot = { key: this.snapshotKey(m.entity, m.id, g.name), spec: sp.script };
    return { key, encoding: 'hash', set, incr, decay, guard, aux: m.aux, ttlMs: g.ttlMs, snapshot };
  }
}

function checkId(id: unknown, field = 'id'): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID)
    throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', `id must be a string of 1..${MAX_ID} chars`, { field });
}

function decodeContext(g: CompiledGroup, ctx: Readonly<Record<string, unknown>> | undefined, out: Record<string, FeatureValue>): void {
  if (ctx === undefined) return;
  g.features.forEach((f, i) => {
    const v = ctx[f.name];
    if (v === undefined) return;
    try {
      out[g.outputNames[i] as string] = checkValue(f, v, g.name);
    } catch {
      // malformed context value → missing
    }
  });
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(FeaturesErrors.create('RECSPINE_ERR_FEATURES_ABORTED', 'feature read aborted', { cause: signal.reason }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
