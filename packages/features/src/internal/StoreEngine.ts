import type { FeatureBatch, FeatureRow, FeatureValue, MissingReason } from '@recspine/core';
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
import type { Backend, EncodedMutation } from './Backend.js';
import { DecodeStatus, checkValue, decayTo, decodeHashField, decodePacked, encodeHashField, encodePacked } from './codec.js';

/** Options shared by every store built on the engine. */
export interface StoreEngineOptions {
  /** Key prefix. Default `rs:f:`. */
  readonly keyPrefix?: string;
  /** Largest batch a read accepts. Default 1000. */
  readonly maxItems?: number;
  /**
   * Local LRU tier for cacheable groups (stable item/creator features). `false` disables it.
   * Default `{ max: 100_000, ttlMs: 60_000 }`.
   */
  readonly cache?: false | { readonly max: number; readonly ttlMs: number };
}

const ENTITY_CODE: Record<StoredEntity, string> = { user: 'u', item: 'i', creator: 'c' };
const ABSENT: Readonly<Record<string, FeatureValue>> = Object.freeze({});
const MAX_ID = 512;
const TIME_SPEC: FeatureSpec = { name: '~t', type: 'number', default: 0, freshness: 'hot' };

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
  private readonly cache: LRUCache<string, Readonly<Record<string, FeatureValue>>> | undefined;
  private readonly counters = { reads: 0, cacheHits: 0, cacheMisses: 0, decodeErrors: 0, groupTimeouts: 0, groupErrors: 0 };

  protected constructor(schema: FeatureSchema, backend: Backend, opts: StoreEngineOptions = {}) {
    this.schema = schema;
    this.backend = backend;
    this.prefix = opts.keyPrefix ?? 'rs:f:';
    this.maxItems = opts.maxItems ?? 1000;
    const c = opts.cache ?? { max: 100_000, ttlMs: 60_000 };
    this.cache = c === false ? undefined : new LRUCache({ max: c.max, ttl: c.ttlMs, ttlAutopurge: false });
  }

  /** The storage key of one record. The `{id}` hash tag keeps all groups of one entity in one cluster slot. */
  key(entity: StoredEntity, id: string, group: string): string {
    return `${this.prefix}${ENTITY_CODE[entity]}:{${id}}:${group}`;
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
    const items: Record<string, FeatureValue>[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = {};
    const missing = new Map<string, MissingReason>();
    const outcomes: Promise<Outcome>[] = [];
    const groupsRun: string[] = [];

    for (const g of this.schema.groupsOf('context')) if (use(g)) decodeContext(g, req.context, user);

    const run = (
      g: CompiledGroup,
      ids: readonly string[],
      apply: (parts: Readonly<Record<string, FeatureValue>>[]) => void,
      into?: Record<string, FeatureValue>[],
    ): Promise<Outcome> => {
      groupsRun.push(g.name);
      const p = this.readGroup(g, ids, now, Math.min(g.timeoutMs, cap), into).then((r) => {
        if (r.ok) {
          if (r.parts !== undefined) apply(r.parts);
          return { ok: true } as const;
        }
        missing.set(g.name, r.reason);
        return { ok: false, reason: r.reason } as const;
      });
      outcomes.push(p);
      return p;
    };

    if (req.userId !== undefined) {
      const uid = [req.userId];
      for (const g of this.schema.groupsOf('user')) if (use(g)) void run(g, uid, (parts) => Object.assign(user, parts[0]), [user]);
    }
    const intoItems = (parts: Readonly<Record<string, FeatureValue>>[]): void => {
      for (let i = 0; i < n; i++) {
        const part = parts[i] as Readonly<Record<string, FeatureValue>>;
        if (part !== ABSENT) Object.assign(items[i] as Record<string, FeatureValue>, part);
      }
    };
    let creatorSource: Promise<Outcome> | undefined;
    const from = this.schema.creatorIdFrom;
    for (const g of this.schema.groupsOf('item')) {
      if (!use(g) && !(req.creatorIds === undefined && from?.group === g.name)) continue;
      const p = run(g, itemIds, intoItems, items);
      if (from?.group === g.name) creatorSource = p;
    }

    const creatorGroups = this.schema.groupsOf('creator').filter(use);
    if (creatorGroups.length > 0 && n > 0) {
      const runCreators = (creatorIds: readonly (string | undefined)[]): void => {
        const unique = [...new Set(creatorIds.filter((c): c is string => typeof c === 'string' && c.length > 0))];
        const pos = new Map(unique.map((c, i) => [c, i]));
        for (const g of creatorGroups) {
          void run(g, unique, (parts) => {
            for (let i = 0; i < n; i++) {
              const c = creatorIds[i];
              const j = c === undefined ? undefined : pos.get(c);
              if (j === undefined) continue;
              const part = parts[j] as Readonly<Record<string, FeatureValue>>;
              if (part !== ABSENT) Object.assign(items[i] as Record<string, FeatureValue>, part);
            }
          });
        }
      };
      if (req.creatorIds !== undefined) runCreators(req.creatorIds);
      else if (from !== undefined && creatorSource !== undefined) {
        // Dependent read: the creator ids come from an item group, so creators wait for it.
        const dependent = creatorSource.then((o) => {
          if (!o.ok) {
            for (const g of creatorGroups) missing.set(g.name, 'skipped');
            return { ok: true } as const;
          }
          const fi = this.schema.group(from.group)?.index.get(from.feature) as number;
          const outName = this.schema.group(from.group)?.outputNames[fi] as string;
          runCreators(items.map((r) => (typeof r[outName] === 'string' ? (r[outName] as string) : undefined)));
          return Promise.all(outcomes.slice(-creatorGroups.length)).then(() => ({ ok: true }) as const);
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
    // A missing group wrote nothing into any row: parts are applied only when a group succeeds.
    return { userId: req.userId, itemIds, user: user as FeatureRow, items: items as FeatureRow[], missingGroups: missing };
  }

  private lastError: unknown;

  private async readGroup(
    g: CompiledGroup,
    ids: readonly string[],
    now: number,
    timeoutMs: number,
    into?: Record<string, FeatureValue>[],
  ): Promise<{ ok: true; parts: Readonly<Record<string, FeatureValue>>[] | undefined } | { ok: false; reason: MissingReason }> {
    let missIdx: number[] | undefined;
    const cache = g.cacheable ? this.cache : undefined;
    const parts: Readonly<Record<string, FeatureValue>>[] = new Array(into !== undefined && cache === undefined ? 0 : ids.length);
    if (cache !== undefined) {
      missIdx = [];
      for (let i = 0; i < ids.length; i++) {
        const hit = cache.get(`${g.name}\u0000${ids[i] as string}`);
        if (hit === undefined) missIdx.push(i);
        else parts[i] = hit;
      }
      this.counters.cacheHits += ids.length - missIdx.length;
      this.counters.cacheMisses += missIdx.length;
      if (missIdx.length === 0) return { ok: true, parts };
    }
    const fetchIds = missIdx === undefined ? ids : missIdx.map((i) => ids[i] as string);
    const keys = fetchIds.map((id) => this.key(g.entity as StoredEntity, id, g.name));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, 'timeout');
    });
    const fetched = g.encoding === 'packed' ? this.backend.getPacked(keys) : this.backend.getHash(keys, g.hashFields);
    let raw: (Buffer | null)[] | (Buffer | null)[][] | 'timeout';
    try {
      raw = await Promise.race([fetched, timeout]);
    } catch (e) {
      this.lastError = e;
      this.counters.groupErrors++;
      return { ok: false, reason: 'error' };
    } finally {
      clearTimeout(timer);
    }
    if (raw === 'timeout') {
      fetched.catch(() => undefined); // the late reply (or failure) is dropped
      this.counters.groupTimeouts++;
      return { ok: false, reason: 'timeout' };
    }
    if (into !== undefined && cache === undefined) {
      // Fast path: decode straight into the rows (the group succeeded, so writing is allowed).
      for (let j = 0; j < fetchIds.length; j++) {
        const row = into[j] as Record<string, FeatureValue>;
        if (g.encoding === 'packed') {
          const buf = (raw as (Buffer | null)[])[j];
          if (decodePacked(g.features, g.fingerprint, g.outputNames, buf, row) === DecodeStatus.Malformed) this.counters.decodeErrors++;
        } else this.decodeHashInto(g, (raw as (Buffer | null)[][])[j], now, row);
      }
      return { ok: true, parts: undefined };
    }
    for (let j = 0; j < fetchIds.length; j++) {
      const i = missIdx === undefined ? j : (missIdx[j] as number);
      const part =
        g.encoding === 'packed'
          ? this.decodePackedPart(g, (raw as (Buffer | null)[])[j])
          : this.decodeHashPart(g, (raw as (Buffer | null)[][])[j], now);
      parts[i] = part;
      if (cache !== undefined) cache.set(`${g.name}\u0000${fetchIds[j] as string}`, part);
    }
    return { ok: true, parts };
  }

  private decodePackedPart(g: CompiledGroup, buf: Buffer | null | undefined): Readonly<Record<string, FeatureValue>> {
    if (buf === null || buf === undefined) return ABSENT;
    const out: Record<string, FeatureValue> = {};
    const st = decodePacked(g.features, g.fingerprint, g.outputNames, buf, out);
    if (st === DecodeStatus.Malformed) {
      this.counters.decodeErrors++;
      return ABSENT;
    }
    return out;
  }

  private decodeHashPart(g: CompiledGroup, row: (Buffer | null)[] | undefined, now: number): Readonly<Record<string, FeatureValue>> {
    const out: Record<string, FeatureValue> = {};
    return this.decodeHashInto(g, row, now, out) ? out : ABSENT;
  }

  /** Decodes one hash record into `out`; false when nothing was decoded. */
  private decodeHashInto(g: CompiledGroup, row: (Buffer | null)[] | undefined, now: number, out: Record<string, FeatureValue>): boolean {
    if (row === undefined) return false;
    let any = false;
    const nf = g.features.length;
    let decayed = nf;
    for (let i = 0; i < nf; i++) {
      const raw = row[i];
      if (raw === null || raw === undefined) {
        if (g.features[i]?.halfLifeMs !== undefined) decayed++;
        continue;
      }
      const f = g.features[i] as FeatureSpec;
      let v = decodeHashField(f, raw);
      if (v === undefined) {
        this.counters.decodeErrors++;
        if (f.halfLifeMs !== undefined) decayed++;
        continue;
      }
      if (f.halfLifeMs !== undefined) {
        const t = decodeHashField(TIME_SPEC, row[decayed++]);
        if (typeof t === 'number') v = decayTo(v as number, t, now, f.halfLifeMs);
      }
      out[g.outputNames[i] as string] = v;
      any = true;
    }
    return any;
  }

  async write(mutations: readonly FeatureMutation[]): Promise<MutationResult[]> {
    if (!Array.isArray(mutations))
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_BAD_VALUE', 'mutations must be an array', { field: 'mutations' });
    const encoded = mutations.map((m, i) => this.encode(m, i));
    if (encoded.length === 0) return [];
    for (const m of mutations) {
      const g = this.schema.group(m.group) as CompiledGroup;
      if (g.cacheable) this.cache?.delete(`${g.name}\u0000${m.id}`);
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
    for (const g of groups) this.cache?.delete(`${g.name}\u0000${id}`);
    if (groups.length === 0) return;
    try {
      await this.backend.del(groups.map((g) => this.key(entity, id, g.name)));
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
    return { key, encoding: 'hash', set, incr, decay, guard, aux: m.aux, ttlMs: g.ttlMs };
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
