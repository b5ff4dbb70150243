import type { Candidate, FeatureBatch, FeatureColumn, FeatureColumns, FeatureValue, StageContext } from '@recspine/core';
import { RankErrors } from './errors.js';
import type { FeatureAssemblerSpec, FeatureSpec, Normalization } from './FeatureSpec.js';
import { fnv1a32 } from './internal/hash.js';
import { UNRESOLVED, compileRef, type Env, type Resolver } from './internal/resolve.js';

/** What {@link FeatureAssembler.assemble} reads. */
export interface AssembleInput {
  /** Online features (user + items + missing-mask). Required when the spec reads `user` or `item`. */
  readonly batch?: FeatureBatch;
  /** The candidates, aligned with the rows. Required when the spec reads `candidate`. */
  readonly candidates?: readonly Candidate[];
  /** The stage context: request context, per-request state. */
  readonly ctx?: StageContext;
  /** Row count; defaults to `candidates.length`, else `batch.items.length`. */
  readonly rows?: number;
}

/**
 * A dense `[rows, width]` float32 matrix, row-major, leased from the assembler's buffer pool.
 * Call `release()` once the model run that reads it has finished; the buffer is then reused.
 */
export interface AssembledBatch {
  readonly data: Float32Array;
  readonly rows: number;
  readonly width: number;
  /** Feature cells (feature × row) that were missing and got their default + indicator. */
  readonly missing: number;
  /** Feature cells whose value had the wrong type, length or a non-finite number (treated as missing). */
  readonly malformed: number;
  release(): void;
}

interface Compiled {
  readonly spec: FeatureSpec;
  readonly offset: number;
  readonly width: number;
  /** Column of the missing indicator, or −1. */
  readonly indicator: number;
  readonly rowConstant: boolean;
  readonly group: string | undefined;
  readonly resolve: Resolver;
  /** Writes a present value's encoding; false when malformed (the caller restores the defaults). */
  readonly encode: (v: FeatureValue, out: Float32Array, pos: number) => boolean;
  /**
   * The value references (one, or two for `dot` / `match`) with the `item` keys they read, so
   * the columnar path can read `batch.columns` instead of row objects.
   */
  readonly refs: readonly { readonly itemKey: string | undefined; readonly resolve: Resolver }[];
  /** `dot` / `match`: combines the two referenced values (what `resolve` does on rows). */
  readonly combine: ((a: FeatureValue | undefined, b: FeatureValue | undefined) => FeatureValue | undefined) | undefined;
  /** `vector` features: the expected length (lets the columnar path copy without a view). */
  readonly dim: number;
}

/** Row count of a batch without touching `items` (a columnar batch builds its rows lazily). */
function batchRows(b: FeatureBatch): number {
  return b.columns !== undefined ? b.itemIds.length : b.items.length;
}

/** The value of row `r` of a column (vectors as a view), or `undefined` when missing. */
function cell(c: FeatureColumn, r: number): FeatureValue | undefined {
  if (c.present[r] !== 1) return undefined;
  switch (c.type) {
    case 'number':
      return c.values[r] as number;
    case 'vector':
      return c.values.subarray(r * c.dim, (r + 1) * c.dim);
    default:
      return c.values[r] as FeatureValue;
  }
}

const MALFORMED = Number.NaN;

function normalizer(n: Normalization | undefined, where: string): (x: number) => number {
  if (n === undefined) return (x) => x;
  const bad = (m: string): never => {
    throw RankErrors.create('RECSPINE_ERR_RANK_FEATURE_SPEC', `${where}: ${m}`, { field: where });
  };
  switch (n.kind) {
    case 'zscore':
      if (!Number.isFinite(n.mean) || !Number.isFinite(n.std) || n.std <= 0) bad('zscore needs a finite mean and a positive std');
      return (x) => (x - n.mean) / n.std;
    case 'minmax':
      if (!Number.isFinite(n.min) || !Number.isFinite(n.max) || n.max <= n.min) bad('minmax needs finite min < max');
      return (x) => (x - n.min) / (n.max - n.min);
    case 'log1p':
      return (x) => Math.sign(x) * Math.log1p(Math.abs(x));
    default:
      return bad(`unknown normalisation ${String((n as { kind: unknown }).kind)}`);
  }
}

const NO_MEMO: unknown[] = [];

/** Resolves once per `assemble` call (the env's memo slot), then returns the same value for every row. */
function memoized(resolve: Resolver, slot: number): Resolver {
  return (env, row) => {
    const m = env.memo;
    const v = m[slot];
    if (v !== UNRESOLVED) return v as FeatureValue | undefined;
    const r = resolve(env, row);
    m[slot] = r;
    return r;
  };
}

/**
 * Same summation order as the generic loop in the dot feature, so the same double. The loops are
 * written twice on purpose: a function that only ever sees Float32Arrays stays monomorphic, and
 * the dot resolver is the assembler's hottest function in the video-platform server's profile.
 */
function dotF32(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let k = 0; k < a.length; k++) dot += (a[k] as number) * (b[k] as number);
  return dot;
}

function cosineF32(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as number;
    const y = b[k] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function isNumArray(v: FeatureValue | undefined): v is Float32Array {
  return v instanceof Float32Array || (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number'));
}

/**
 * Turns a {@link FeatureBatch} (user + candidates + missing-mask), the candidates and the request
 * context into the dense float32 matrix a model's spec declares.
 *
 * Contract and invariants:
 * - the column layout is fixed at construction ({@link FeatureAssembler.columns}); every row gets
 *   every column, in spec order;
 * - a feature the batch lacks (absent key, missing group, no candidate value) becomes its default
 *   plus a 1 in its missing-indicator column; a value of the wrong type, length or non-finite is
 *   treated the same and counted as `malformed`. **No NaN or infinity is ever written**;
 * - row-constant features (user, context, state) are resolved once per call, not per row;
 * - buffers are preallocated for `maxBatch` rows and pooled: concurrent requests each lease their
 *   own buffer; `release()` returns it.
 *
 * @example
 * ```ts
 * const assembler = new FeatureAssembler(spec);
 * const batch = assembler.assemble({ batch: feats, candidates: cands, ctx });
 * try {
 *   const out = await model.run({ features: batch.data }, batch.rows);
 * } finally {
 *   batch.release();
 * }
 * ```
 */
export class FeatureAssembler {
  readonly spec: FeatureAssemblerSpec;
  /** Number of columns. */
  readonly width: number;
  /** Column names, in order (e.g. `age`, `age__missing`, `device=ios`, `emb[3]`, `tags#5`). */
  readonly columns: readonly string[];
  /** Whether the spec reads the feature store (`user` or `item`). Degraded-mode and coarse specs must not. */
  readonly usesOnlineFeatures: boolean;
  private readonly needsCandidates: boolean;
  private readonly needsItems: boolean;
  private readonly compiled: readonly Compiled[];
  private readonly constant: readonly Compiled[];
  private readonly perRow: readonly Compiled[];
  private readonly defaultRow: Float32Array;
  private readonly template: Float32Array;
  private readonly free: Float32Array[] = [];
  private readonly maxPooled: number;
  /** Row-constant cross-feature operands memoised per call (see `memoized`). */
  private readonly memoSlots: number;

  constructor(spec: FeatureAssemblerSpec, options: { readonly maxPooledBuffers?: number } = {}) {
    const fail = (msg: string, field: string): never => {
      throw RankErrors.create('RECSPINE_ERR_RANK_FEATURE_SPEC', msg, { field });
    };
    if (!Number.isInteger(spec.maxBatch) || spec.maxBatch < 1)
      fail(`maxBatch must be a positive integer, got ${spec.maxBatch}`, 'maxBatch');
    if (!Array.isArray(spec.features) || spec.features.length === 0) fail('a spec needs at least one feature', 'features');
    this.spec = spec;
    this.maxPooled = options.maxPooledBuffers ?? 16;
    const names = new Set<string>();
    const columns: string[] = [];
    const defaults: number[] = [];
    const compiled: Compiled[] = [];
    let online = false;
    let needsCandidates = false;
    let needsItems = false;
    let memoSlots = 0;
    spec.features.forEach((f, i) => {
      const where = `features[${i}]${typeof f?.name === 'string' ? ` (${f.name})` : ''}`;
      if (typeof f?.name !== 'string' || f.name.length === 0) fail(`${where}: name must be a non-empty string`, `features[${i}].name`);
      if (names.has(f.name)) fail(`${where}: duplicate feature name ${f.name}`, `features[${i}].name`);
      names.add(f.name);
      const refs = f.kind === 'dot' || f.kind === 'match' ? [f.a, f.b] : [f];
      const resolvers: Resolver[] = [];
      let combine: Compiled['combine'];
      let rowConstant = true;
      for (const r of refs) {
        const c = compileRef(r ?? ({} as never));
        if (typeof c === 'string') return fail(`${where}: ${c}`, `features[${i}]`);
        // A cross feature's row-constant operand (the user's embedding in user·item) is resolved
        // once per assemble call, not once per row: per row it was a state/row lookup plus type
        // checks for every candidate (2 000 on a homepage coarse pass).
        resolvers.push(refs.length > 1 && c.rowConstant ? memoized(c.resolve, memoSlots++) : c.resolve);
        rowConstant &&= c.rowConstant;
        online ||= c.online;
        needsCandidates ||= c.needsCandidates;
        if (r.from === 'item') needsItems = true;
      }
      const offset = columns.length;
      let encode: Compiled['encode'];
      let resolve = resolvers[0] as Resolver;
      switch (f.kind) {
        case 'numeric':
        case 'dot': {
          const norm = normalizer(f.normalize, where);
          const def = f.default ?? 0;
          if (!Number.isFinite(def)) fail(`${where}: default must be finite`, `features[${i}].default`);
          const [lo, hi] = f.clip ?? [-Infinity, Infinity];
          if (!(lo <= hi)) fail(`${where}: clip must be [lo, hi] with lo <= hi`, `features[${i}].clip`);
          encode = (v, out, pos) => {
            if (typeof v !== 'number' || !Number.isFinite(v)) return false;
            let x = norm(v);
            if (x < lo) x = lo;
            else if (x > hi) x = hi;
            // Check the float32 value: a finite double beyond ±3.4e38 becomes ±Infinity in the buffer.
            if (!Number.isFinite(Math.fround(x))) return false;
            out[pos] = x;
            return true;
          };
          columns.push(f.name);
          defaults.push(def);
          if (f.kind === 'dot') {
            const [ra, rb] = resolvers as [Resolver, Resolver];
            const cosine = f.cosine === true;
            combine = (a, b) => {
              if (a === undefined || b === undefined) return undefined;
              // Float32Array × Float32Array (embeddings, vector columns): a monomorphic loop.
              if (a instanceof Float32Array && b instanceof Float32Array) {
                if (a.length !== b.length) return MALFORMED;
                return cosine ? cosineF32(a, b) : dotF32(a, b);
              }
              if (!isNumArray(a) || !isNumArray(b) || a.length !== b.length) return MALFORMED;
              let dot = 0;
              let na = 0;
              let nb = 0;
              for (let k = 0; k < a.length; k++) {
                const x = a[k] as number;
                const y = b[k] as number;
                dot += x * y;
                na += x * x;
                nb += y * y;
              }
              if (!cosine) return dot;
              return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
            };
            const dotOf = combine;
            resolve = (env, row) => dotOf(ra(env, row), rb(env, row));
          }
          break;
        }
        case 'match': {
          const def = f.default ?? 0;
          if (!Number.isFinite(def)) fail(`${where}: default must be finite`, `features[${i}].default`);
          columns.push(f.name);
          defaults.push(def);
          const [ra, rb] = resolvers as [Resolver, Resolver];
          const key = (v: FeatureValue): string | undefined =>
            typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
          const matchOf = (a: FeatureValue | undefined, b: FeatureValue | undefined): FeatureValue | undefined => {
            if (a === undefined || b === undefined) return undefined;
            const ka = key(a);
            const kb = key(b);
            if (ka === undefined || kb === undefined) return MALFORMED;
            return ka === kb ? 1 : 0;
          };
          combine = matchOf;
          resolve = (env, row) => matchOf(ra(env, row), rb(env, row));
          encode = (v, out, pos) => {
            if (typeof v !== 'number' || !Number.isFinite(v)) return false;
            out[pos] = v;
            return true;
          };
          break;
        }
        case 'vector': {
          const dim = f.dim;
          if (!Number.isInteger(dim) || dim < 1) fail(`${where}: dim must be a positive integer`, `features[${i}].dim`);
          const def = f.default ?? 0;
          if (!Number.isFinite(def)) fail(`${where}: default must be finite`, `features[${i}].default`);
          for (let k = 0; k < dim; k++) {
            columns.push(`${f.name}[${k}]`);
            defaults.push(def);
          }
          encode = (v, out, pos) => {
            if (!isNumArray(v) || v.length !== dim) return false;
            for (let k = 0; k < dim; k++) {
              const x = v[k] as number;
              if (!Number.isFinite(Math.fround(x))) return false;
              out[pos + k] = x;
            }
            return true;
          };
          break;
        }
        case 'category': {
          if (!Array.isArray(f.vocabulary) || f.vocabulary.length === 0)
            fail(`${where}: vocabulary must be a non-empty array`, `features[${i}].vocabulary`);
          const index = new Map<string, number>();
          for (const term of f.vocabulary) {
            if (typeof term !== 'string' || index.has(term))
              fail(`${where}: vocabulary terms must be unique strings`, `features[${i}].vocabulary`);
            index.set(term, index.size);
          }
          const oov = index.size;
          const key = (v: FeatureValue): string | undefined =>
            typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
          if (f.encoding === 'onehot') {
            for (const term of f.vocabulary) columns.push(`${f.name}=${term}`);
            columns.push(`${f.name}=__oov__`);
            for (let k = 0; k <= oov; k++) defaults.push(0);
            encode = (v, out, pos) => {
              const s = key(v);
              if (s === undefined) return false;
              out[pos + (index.get(s) ?? oov)] = 1;
              return true;
            };
          } else if (f.encoding === 'index') {
            const def = f.default ?? -1;
            columns.push(f.name);
            defaults.push(def);
            encode = (v, out, pos) => {
              const s = key(v);
              if (s === undefined) return false;
              out[pos] = index.get(s) ?? oov;
              return true;
            };
          } else return fail(`${where}: encoding must be onehot or index`, `features[${i}].encoding`);
          break;
        }
        case 'idList': {
          const isList = (v: FeatureValue): v is readonly string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
          if (f.encoding === 'count') {
            const norm = normalizer(f.normalize, where);
            columns.push(f.name);
            defaults.push(0);
            encode = (v, out, pos) => {
              if (!isList(v)) return false;
              out[pos] = norm(v.length);
              return true;
            };
          } else if (f.encoding === 'hashedBag') {
            const buckets = f.buckets ?? 0;
            if (!Number.isInteger(buckets) || buckets < 1) fail(`${where}: hashedBag needs buckets >= 1`, `features[${i}].buckets`);
            for (let k = 0; k < buckets; k++) {
              columns.push(`${f.name}#${k}`);
              defaults.push(0);
            }
            encode = (v, out, pos) => {
              if (!isList(v)) return false;
              if (v.length === 0) return true;
              const share = 1 / v.length;
              for (const id of v) {
                const b = pos + (fnv1a32(id) % buckets);
                out[b] = (out[b] as number) + share;
              }
              return true;
            };
          } else return fail(`${where}: encoding must be count or hashedBag`, `features[${i}].encoding`);
          break;
        }
        default:
          return fail(`${where}: unknown kind ${String((f as { kind: unknown }).kind)}`, `features[${i}].kind`);
      }
      const width = columns.length - offset;
      let indicator = -1;
      if (f.missingIndicator !== false) {
        indicator = columns.length;
        columns.push(`${f.name}__missing`);
        defaults.push(0);
      }
      compiled.push({
        spec: f,
        offset,
        width,
        indicator,
        rowConstant,
        group: f.group,
        resolve,
        encode,
        refs: refs.map((r, k) => ({ itemKey: r.from === 'item' ? r.key : undefined, resolve: resolvers[k] as Resolver })),
        combine,
        dim: f.kind === 'vector' ? f.dim : 0,
      });
    });
    this.width = columns.length;
    this.columns = columns;
    this.usesOnlineFeatures = online;
    this.needsCandidates = needsCandidates;
    this.needsItems = needsItems;
    this.compiled = compiled;
    this.constant = compiled.filter((c) => c.rowConstant);
    this.perRow = compiled.filter((c) => !c.rowConstant);
    this.defaultRow = Float32Array.from(defaults);
    this.template = new Float32Array(this.width);
    this.memoSlots = memoSlots;
  }

  /** Largest row count {@link FeatureAssembler.assemble} accepts. */
  get maxBatch(): number {
    return this.spec.maxBatch;
  }

  /**
   * Builds the matrix for one batch. Synchronous; lease the result and release it after the run.
   *
   * @throws `RECSPINE_ERR_RANK_BATCH_TOO_LARGE` over `maxBatch`; `RECSPINE_ERR_RANK_FEATURE_BATCH`
   * when the batch or the candidates are absent although the spec reads them, or not aligned.
   */
  assemble(input: AssembleInput): AssembledBatch {
    const stage = input.ctx?.stage;
    const misaligned = (msg: string): never => {
      throw RankErrors.create('RECSPINE_ERR_RANK_FEATURE_BATCH', msg, stage === undefined ? {} : { stage });
    };
    const rows = input.rows ?? input.candidates?.length ?? (input.batch === undefined ? undefined : batchRows(input.batch));
    if (rows === undefined || !Number.isInteger(rows) || rows < 0)
      return misaligned('cannot tell the row count: pass rows, candidates or batch');
    if (rows > this.spec.maxBatch) {
      throw RankErrors.create('RECSPINE_ERR_RANK_BATCH_TOO_LARGE', `${rows} rows exceed the assembler's maxBatch ${this.spec.maxBatch}`, {
        ...(stage === undefined ? {} : { stage }),
      });
    }
    if (this.needsCandidates && (input.candidates === undefined || input.candidates.length !== rows)) {
      misaligned(`the spec reads candidates: expected ${rows} candidates, got ${input.candidates?.length ?? 'none'}`);
    }
    if (this.needsItems && input.batch !== undefined && batchRows(input.batch) !== rows) {
      misaligned(`the feature batch has ${batchRows(input.batch)} item rows for ${rows} candidates`);
    }
    const env: Env = {
      batch: input.batch,
      cands: input.candidates,
      ctx: input.ctx,
      nowMs: input.ctx?.request.context?.nowMs ?? Date.now(),
      memo: this.memoSlots === 0 ? NO_MEMO : new Array<unknown>(this.memoSlots).fill(UNRESOLVED),
    };
    const missingGroups = input.batch?.missingGroups;
    const groupMissing = (c: Compiled): boolean => c.group !== undefined && missingGroups !== undefined && missingGroups.has(c.group);
    let missing = 0;
    let malformed = 0;
    const width = this.width;
    const defaults = this.defaultRow;

    // The template row: defaults, then every row-constant feature, encoded once.
    const template = this.template;
    template.set(defaults);
    for (const c of this.constant) {
      const v = groupMissing(c) ? undefined : c.resolve(env, 0);
      const state = v === undefined ? 1 : c.encode(v, template, c.offset) ? 0 : 2;
      if (state !== 0) {
        if (state === 2) {
          template.set(defaults.subarray(c.offset, c.offset + c.width), c.offset);
          malformed += rows;
        } else missing += rows;
        if (c.indicator >= 0) template[c.indicator] = 1;
      }
    }

    const buf = this.acquire();
    const data = buf.subarray(0, rows * width);
    const perRow = this.perRow;
    const columns = input.batch?.columns;
    if (columns !== undefined) {
      // Columnar fast path: feature by feature over the batch's columns, no row objects read.
      for (let r = 0; r < rows; r++) data.set(template, r * width);
      for (let k = 0; k < perRow.length; k++) {
        const c = perRow[k] as Compiled;
        const counts = groupMissing(c) ? this.fillMissing(c, data, rows) : this.encodeColumn(c, columns, env, data, rows);
        missing += counts.missing;
        malformed += counts.malformed;
      }
    } else
      for (let r = 0; r < rows; r++) {
        const base = r * width;
        data.set(template, base);
        for (let k = 0; k < perRow.length; k++) {
          const c = perRow[k] as Compiled;
          const v = groupMissing(c) ? undefined : c.resolve(env, r);
          if (v === undefined) {
            missing++;
            if (c.indicator >= 0) data[base + c.indicator] = 1;
          } else if (!c.encode(v, data, base + c.offset)) {
            malformed++;
            data.set(defaults.subarray(c.offset, c.offset + c.width), base + c.offset);
            if (c.indicator >= 0) data[base + c.indicator] = 1;
          }
        }
      }
    let released = false;
    return {
      data,
      rows,
      width,
      missing,
      malformed,
      release: () => {
        if (released) return;
        released = true;
        if (this.free.length < this.maxPooled) this.free.push(buf);
      },
    };
  }

  /** A per-row feature that is missing in every row (its group is missing, or no such column). */
  private fillMissing(c: Compiled, data: Float32Array, rows: number): { missing: number; malformed: number } {
    if (c.indicator >= 0) for (let r = 0, pos = c.indicator; r < rows; r++, pos += this.width) data[pos] = 1;
    return { missing: rows, malformed: 0 };
  }

  /**
   * The columnar path of one per-row feature. Same cells, counts and guarantees as the row path
   * (a property test checks that); numbers and vectors are read straight from the typed arrays.
   */
  private encodeColumn(
    c: Compiled,
    columns: FeatureColumns,
    env: Env,
    data: Float32Array,
    rows: number,
  ): { missing: number; malformed: number } {
    const width = this.width;
    const defaults = this.defaultRow;
    const { offset, indicator } = c;
    let missing = 0;
    let malformed = 0;
    const restore = (base: number): void => {
      malformed++;
      data.set(defaults.subarray(offset, offset + c.width), base + offset);
      if (indicator >= 0) data[base + indicator] = 1;
    };
    const ref0 = c.refs[0] as Compiled['refs'][number];
    if (c.combine === undefined && ref0.itemKey !== undefined) {
      const col = columns.get(ref0.itemKey);
      if (col === undefined) return this.fillMissing(c, data, rows);
      const present = col.present;
      if (col.type === 'number') {
        const values = col.values;
        for (let r = 0, base = 0; r < rows; r++, base += width) {
          if (present[r] !== 1) {
            missing++;
            if (indicator >= 0) data[base + indicator] = 1;
          } else if (!c.encode(values[r] as number, data, base + offset)) restore(base);
        }
        return { missing, malformed };
      }
      if (col.type === 'vector' && c.spec.kind === 'vector') {
        const dim = col.dim;
        const values = col.values;
        for (let r = 0, base = 0; r < rows; r++, base += width) {
          if (present[r] !== 1) {
            missing++;
            if (indicator >= 0) data[base + indicator] = 1;
            continue;
          }
          if (dim !== c.dim) {
            restore(base);
            continue;
          }
          const from = r * dim;
          const to = base + offset;
          let ok = true;
          for (let k = 0; k < dim; k++) {
            const x = values[from + k] as number;
            if (x - x !== 0) {
              ok = false;
              break;
            }
            data[to + k] = x;
          }
          if (!ok) restore(base);
        }
        return { missing, malformed };
      }
      for (let r = 0, base = 0; r < rows; r++, base += width) {
        const v = cell(col, r);
        if (v === undefined) {
          missing++;
          if (indicator >= 0) data[base + indicator] = 1;
        } else if (!c.encode(v, data, base + offset)) restore(base);
      }
      return { missing, malformed };
    }
    // Generic: a cross feature (dot / match) or a non-item reference.
    const cols = c.refs.map((ref) => (ref.itemKey === undefined ? undefined : (columns.get(ref.itemKey) ?? null)));
    const valueOf = (k: number, r: number): FeatureValue | undefined => {
      const col = cols[k];
      if (col === undefined) return (c.refs[k] as Compiled['refs'][number]).resolve(env, r);
      return col === null ? undefined : cell(col, r);
    };
    const combine = c.combine;
    for (let r = 0, base = 0; r < rows; r++, base += width) {
      const v = combine === undefined ? valueOf(0, r) : combine(valueOf(0, r), valueOf(1, r));
      if (v === undefined) {
        missing++;
        if (indicator >= 0) data[base + indicator] = 1;
      } else if (!c.encode(v, data, base + offset)) restore(base);
    }
    return { missing, malformed };
  }

  private acquire(): Float32Array {
    return this.free.pop() ?? new Float32Array(this.spec.maxBatch * this.width);
  }
}
