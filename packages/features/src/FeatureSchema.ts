import type { FeatureValue } from '@recspine/core';
import { FeaturesErrors } from './errors.js';
import { fingerprint } from './internal/codec.js';

/** The four value types a feature can have. `category` is a string id; `idList` a list of string ids. */
export type FeatureType = 'number' | 'vector' | 'category' | 'idList';

/** Who a feature group describes. `context` groups are computed from the request, never stored. */
export type EntityKind = 'user' | 'item' | 'creator' | 'context';

/** The entities whose groups live in a store. */
export type StoredEntity = Exclude<EntityKind, 'context'>;

/** How a stored group is laid out in Redis (see the package README, "Encoding"). */
export type GroupEncoding = 'packed' | 'hash';

/** One feature of a group. */
export interface FeatureSpec {
  /** `[a-z][a-z0-9_]*`, at most 64 chars; unique within the row it lands in. */
  readonly name: string;
  readonly type: FeatureType;
  /** What the model assembler substitutes when the feature is missing. Must match `type`. */
  readonly default: FeatureValue;
  /** `stable` features may be cached locally; `hot` ones are always read from the store. */
  readonly freshness: 'stable' | 'hot';
  /** Vector length; required for (and only for) `vector` features. */
  readonly dim?: number;
  /**
   * For `number` features of `hash` groups updated with `decay`: the half-life of the
   * exponentially decayed counter. Reads decay the stored value to the read time.
   */
  readonly halfLifeMs?: number;
}

/** One feature group: the unit of storage, of timeouts and of the missing-mask. */
export interface FeatureGroupSpec {
  /** `[a-z][a-z0-9_]*`, unique in the schema. The name reported in `missingGroups`. */
  readonly name: string;
  readonly entity: EntityKind;
  readonly features: readonly FeatureSpec[];
  /** The group's sub-deadline for a read; a group that misses it is marked missing. */
  readonly timeoutMs?: number;
  /** Default: `packed` when every feature is stable, else `hash`. */
  readonly encoding?: GroupEncoding;
  /** Records of this group expire this long after their last write (Redis `PEXPIRE`). */
  readonly ttlMs?: number;
}

/** Input to {@link defineFeatureSchema}. */
export interface FeatureSchemaDefinition {
  readonly groups: readonly FeatureGroupSpec[];
  /** Prefix of creator features in item rows. Default `creator_`. */
  readonly creatorPrefix?: string;
  /**
   * Where to find an item's creator id when the read request does not carry it: a `category`
   * feature of an item group. Reading it costs a second (dependent) round trip for creators.
   */
  readonly creatorIdFrom?: { readonly group: string; readonly feature: string };
  /** Default sub-deadline for groups without `timeoutMs`. Default 20 ms. */
  readonly defaultTimeoutMs?: number;
}

/** A validated, precompiled group (what stores work with). */
export interface CompiledGroup {
  readonly name: string;
  readonly entity: EntityKind;
  readonly features: readonly FeatureSpec[];
  readonly encoding: GroupEncoding;
  readonly timeoutMs: number;
  readonly ttlMs: number;
  /** Every feature is stable and the entity is an item or creator: served from the local cache. */
  readonly cacheable: boolean;
  /** Names as they appear in output rows (creator features get the prefix). Aligned with `features`. */
  readonly outputNames: readonly string[];
  /** Hash groups: the fields read with HMGET (features, then `<name>~t` of decayed features). */
  readonly hashFields: readonly string[];
  /** Index of each feature by name. */
  readonly index: ReadonlyMap<string, number>;
  /** FNV-1a hash of the feature names and types; packed records carry it to detect schema drift. */
  readonly fingerprint: number;
}

const NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;
const TYPES: ReadonlySet<string> = new Set(['number', 'vector', 'category', 'idList']);
const ENTITIES: ReadonlySet<string> = new Set(['user', 'item', 'creator', 'context']);

/**
 * A validated feature schema: the groups of user, item, creator and context features, their
 * types, defaults, freshness and storage layout. Built once by {@link defineFeatureSchema}; every
 * store, fetcher and aggregator reads through it.
 *
 * Invariants: group names are unique; feature names are unique within the row they land in
 * (user + context features share the user row; item + prefixed creator features share item rows);
 * every default matches its type.
 *
 * @example
 * ```ts
 * const schema = defineFeatureSchema({
 *   groups: [
 *     { name: 'item_profile', entity: 'item', features: [
 *       { name: 'duration_s', type: 'number', default: 0, freshness: 'stable' },
 *       { name: 'embedding', type: 'vector', dim: 16, default: new Float32Array(16), freshness: 'stable' },
 *     ] },
 *     { name: 'user_profile', entity: 'user', timeoutMs: 10, features: [
 *       { name: 'age_bucket', type: 'category', default: 'unknown', freshness: 'stable' },
 *     ] },
 *   ],
 * });
 * ```
 */
export class FeatureSchema {
  readonly groups: readonly CompiledGroup[];
  readonly creatorPrefix: string;
  readonly creatorIdFrom: { readonly group: string; readonly feature: string } | undefined;
  private readonly byName: ReadonlyMap<string, CompiledGroup>;
  private readonly byEntity: ReadonlyMap<EntityKind, readonly CompiledGroup[]>;

  /** Prefer {@link defineFeatureSchema}. Throws `RECSPINE_ERR_FEATURES_SCHEMA` on an invalid definition. */
  constructor(def: FeatureSchemaDefinition) {
    const bad = (msg: string, field: string): never => {
      throw FeaturesErrors.create('RECSPINE_ERR_FEATURES_SCHEMA', msg, { field });
    };
    if (typeof def !== 'object' || def === null || !Array.isArray(def.groups)) bad('schema needs a groups array', 'groups');
    this.creatorPrefix = def.creatorPrefix ?? 'creator_';
    if (!/^[a-z0-9_]*$/.test(this.creatorPrefix)) bad('creatorPrefix must match [a-z0-9_]*', 'creatorPrefix');
    const defaultTimeout = def.defaultTimeoutMs ?? 20;
    if (!(defaultTimeout > 0)) bad('defaultTimeoutMs must be > 0', 'defaultTimeoutMs');
    const byName = new Map<string, CompiledGroup>();
    const rowNames = { user: new Set<string>(), item: new Set<string>() };
    def.groups.forEach((g, gi) => {
      const at = `groups[${gi}]`;
      if (typeof g.name !== 'string' || !NAME_RE.test(g.name)) bad(`group name ${String(g.name)} must match ${NAME_RE}`, `${at}.name`);
      if (byName.has(g.name)) bad(`duplicate group ${g.name}`, `${at}.name`);
      if (!ENTITIES.has(g.entity)) bad(`group ${g.name}: entity must be user|item|creator|context`, `${at}.entity`);
      if (!Array.isArray(g.features) || g.features.length === 0) bad(`group ${g.name} has no features`, `${at}.features`);
      if (g.features.length > 4096) bad(`group ${g.name} has more than 4096 features`, `${at}.features`);
      const index = new Map<string, number>();
      const row = g.entity === 'user' || g.entity === 'context' ? rowNames.user : rowNames.item;
      const prefix = g.entity === 'creator' ? this.creatorPrefix : '';
      g.features.forEach((f, fi) => {
        const fat = `${at}.features[${fi}]`;
        if (typeof f.name !== 'string' || !NAME_RE.test(f.name)) bad(`feature name ${String(f.name)} must match ${NAME_RE}`, `${fat}.name`);
        if (!TYPES.has(f.type)) bad(`feature ${f.name}: type must be number|vector|category|idList`, `${fat}.type`);
        if (f.freshness !== 'stable' && f.freshness !== 'hot') bad(`feature ${f.name}: freshness must be stable|hot`, `${fat}.freshness`);
        if (f.type === 'vector') {
          if (!Number.isInteger(f.dim) || (f.dim as number) < 1 || (f.dim as number) > 65535)
            bad(`vector ${f.name} needs dim in 1..65535`, `${fat}.dim`);
        } else if (f.dim !== undefined) bad(`feature ${f.name}: dim is only for vectors`, `${fat}.dim`);
        if (f.halfLifeMs !== undefined && (f.type !== 'number' || !(f.halfLifeMs > 0)))
          bad(`feature ${f.name}: halfLifeMs must be > 0 and only on number features`, `${fat}.halfLifeMs`);
        if (!defaultMatches(f)) bad(`feature ${f.name}: default does not match type ${f.type}`, `${fat}.default`);
        const out = prefix + f.name;
        if (row.has(out))
          bad(`feature ${out} appears twice in the ${g.entity === 'user' || g.entity === 'context' ? 'user' : 'item'} row`, `${fat}.name`);
        row.add(out);
        index.set(f.name, fi);
      });
      const allStable = g.features.every((f) => f.freshness === 'stable');
      const encoding: GroupEncoding = g.encoding ?? (allStable ? 'packed' : 'hash');
      if (encoding !== 'packed' && encoding !== 'hash') bad(`group ${g.name}: encoding must be packed|hash`, `${at}.encoding`);
      if (encoding === 'packed' && g.features.some((f) => f.halfLifeMs !== undefined))
        bad(`group ${g.name}: decayed features need the hash encoding`, `${at}.encoding`);
      const timeoutMs = g.timeoutMs ?? defaultTimeout;
      if (!(timeoutMs > 0)) bad(`group ${g.name}: timeoutMs must be > 0`, `${at}.timeoutMs`);
      const ttlMs = g.ttlMs ?? 0;
      if (!(ttlMs >= 0) || !Number.isFinite(ttlMs)) bad(`group ${g.name}: ttlMs must be >= 0`, `${at}.ttlMs`);
      const hashFields = [
        ...g.features.map((f) => f.name),
        ...g.features.filter((f) => f.halfLifeMs !== undefined).map((f) => `${f.name}~t`),
      ];
      byName.set(g.name, {
        name: g.name,
        entity: g.entity,
        features: g.features,
        encoding,
        timeoutMs,
        ttlMs,
        cacheable: allStable && (g.entity === 'item' || g.entity === 'creator'),
        outputNames: g.features.map((f) => prefix + f.name),
        hashFields,
        index,
        fingerprint: fingerprint(g.features),
      });
    });
    if (def.creatorIdFrom !== undefined) {
      const g = byName.get(def.creatorIdFrom.group);
      const fi = g?.index.get(def.creatorIdFrom.feature);
      if (g === undefined || g.entity !== 'item' || fi === undefined || g.features[fi]?.type !== 'category')
        bad('creatorIdFrom must name a category feature of an item group', 'creatorIdFrom');
    }
    this.creatorIdFrom = def.creatorIdFrom;
    this.groups = [...byName.values()];
    this.byName = byName;
    const byEntity = new Map<EntityKind, CompiledGroup[]>();
    for (const g of this.groups) byEntity.set(g.entity, [...(byEntity.get(g.entity) ?? []), g]);
    this.byEntity = byEntity;
  }

  /** The group named `name`, or `undefined`. */
  group(name: string): CompiledGroup | undefined {
    return this.byName.get(name);
  }

  /** The groups of one entity, in declaration order. */
  groupsOf(entity: EntityKind): readonly CompiledGroup[] {
    return this.byEntity.get(entity) ?? [];
  }

  /**
   * The defaults of one row kind, by output name: `user` covers user and context features,
   * `item` covers item and (prefixed) creator features. What a model assembler fills in for
   * absent keys, next to a missing indicator.
   */
  defaults(row: 'user' | 'item'): ReadonlyMap<string, FeatureValue> {
    const out = new Map<string, FeatureValue>();
    const entities: EntityKind[] = row === 'user' ? ['user', 'context'] : ['item', 'creator'];
    for (const e of entities)
      for (const g of this.groupsOf(e)) g.features.forEach((f, i) => out.set(g.outputNames[i] as string, f.default));
    return out;
  }
}

/**
 * Validates and compiles a feature schema. Throws `RECSPINE_ERR_FEATURES_SCHEMA` (with `field`)
 * on an invalid definition.
 *
 * @example
 * ```ts
 * const schema = defineFeatureSchema({ groups: [...myGroups, ...streamFeatureGroups()] });
 * ```
 */
export function defineFeatureSchema(def: FeatureSchemaDefinition): FeatureSchema {
  return new FeatureSchema(def);
}

function defaultMatches(f: FeatureSpec): boolean {
  const d = f.default;
  switch (f.type) {
    case 'number':
      return typeof d === 'number' && Number.isFinite(d);
    case 'vector':
      return d instanceof Float32Array && d.length === f.dim;
    case 'category':
      return typeof d === 'string';
    case 'idList':
      return Array.isArray(d) && d.every((x) => typeof x === 'string');
  }
}
