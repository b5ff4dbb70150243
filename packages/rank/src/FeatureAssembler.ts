import type { Candidate, FeatureBatch, FeatureColumn, FeatureColumns, FeatureValue, StageContext } from '@recspine/core';
import { RankErrors } from './errors.js';
import type { FeatureAssemblerSpec, FeatureSpec, Normalization } from './FeatureSpec.js';
import { fnv1a32 } from './internal/hash.js';
import { UNRESOLVED, ageHours, compileRef, type CandidateKey, type CompiledRef, type Env, type Resolver } from './internal/resolve.js';

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
  /** How the candidate (no-columns) path fills this feature when it is per-row; see {@link Fast}. */
  readonly fast: Fast;
}

/**
 * A numeric or dot feature's encoding as plain data (not a closure): read by the `encode` closure
 * and by the specialised loops alike, through {@link encodeNumber}, so both write the same doubles.
 */
interface NumEnc {
  /** 0: none; 1: (x − sub) / div (zscore: mean, std; minmax: min, max − min); 2: log1p. */
  readonly norm: 0 | 1 | 2;
  readonly sub: number;
  readonly div: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * How the candidate path fills one per-row feature: a specialised loop for the shapes coarse and
 * degraded-mode specs are made of, else the generic loop (the compiled `resolve` and `encode` per
 * row). See `FeatureAssembler.fillCandidatePath` for why.
 */
type Fast =
  | { readonly kind: 'generic' }
  /** A number read from the candidate (`meta.attributes.<k>`, `meta.ageHours`, scores, `sourceCount`). */
  | { readonly kind: 'numeric'; readonly key: CandidateKey; readonly enc: NumEnc }
  /** A number read from the row object of a (row, not columnar) feature batch. */
  | { readonly kind: 'itemNumeric'; readonly key: string; readonly enc: NumEnc }
  /** Dot / cosine of a row-constant operand (memoised resolver) and the candidate's `meta.embedding`. */
  | { readonly kind: 'dot'; readonly constant: Resolver; readonly cosine: boolean; readonly enc: NumEnc }
  /** Match of a row-constant operand and the candidate's `meta.category` / `creatorId` / `language`. */
  | { readonly kind: 'match'; readonly constant: Resolver; readonly field: 'category' | 'creatorId' | 'language' };

const GENERIC: Fast = { kind: 'generic' };

/** Rows per block of the candidate path (see `FeatureAssembler.fillCandidatePath`); a multiple of 8 (`dot8`). */
const BLOCK = 256;

/** Missing / malformed cell counts of one `assemble` call. */
interface Counts {
  missing: number;
  malformed: number;
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

/** Validates a normalisation (throws `RECSPINE_ERR_RANK_FEATURE_SPEC`) and captures its parameters. */
function normalization(n: Normalization | undefined, where: string): Pick<NumEnc, 'norm' | 'sub' | 'div'> {
  const bad = (m: string): never => {
    throw RankErrors.create('RECSPINE_ERR_RANK_FEATURE_SPEC', `${where}: ${m}`, { field: where });
  };
  if (n === undefined) return { norm: 0, sub: 0, div: 1 };
  switch (n.kind) {
    case 'zscore':
      if (!Number.isFinite(n.mean) || !Number.isFinite(n.std) || n.std <= 0) bad('zscore needs a finite mean and a positive std');
      return { norm: 1, sub: n.mean, div: n.std };
    case 'minmax':
      if (!Number.isFinite(n.min) || !Number.isFinite(n.max) || n.max <= n.min) bad('minmax needs finite min < max');
      // (x − min) / (max − min): the divisor is the same double whether computed here or per call.
      return { norm: 1, sub: n.min, div: n.max - n.min };
    case 'log1p':
      return { norm: 2, sub: 0, div: 1 };
    default:
      return bad(`unknown normalisation ${String((n as { kind: unknown }).kind)}`);
  }
}

/** A normalisation alone (idList `count`). */
function normalizer(n: Normalization | undefined, where: string): (x: number) => number {
  const e = numEnc(normalization(n, where), -Infinity, Infinity);
  return (x) => normalize(e, x);
}

/** One object literal, so every `NumEnc` has the same hidden class (the loops' loads stay monomorphic). */
function numEnc(n: Pick<NumEnc, 'norm' | 'sub' | 'div'>, lo: number, hi: number): NumEnc {
  return { norm: n.norm, sub: n.sub, div: n.div, lo, hi };
}

function normalize(e: NumEnc, x: number): number {
  return e.norm === 0 ? x : e.norm === 1 ? (x - e.sub) / e.div : Math.sign(x) * Math.log1p(Math.abs(x));
}

/**
 * A numeric or dot feature's encoding of a number: the value to write, or NaN when malformed
 * (non-finite, or beyond float32 after normalisation and clip). The one implementation of it: the
 * `encode` closure and the specialised loops both call it.
 */
function encodeNumber(e: NumEnc, v: number): number {
  if (!Number.isFinite(v)) return Number.NaN;
  let x = normalize(e, v);
  if (x < e.lo) x = e.lo;
  else if (x > e.hi) x = e.hi;
  // Check the float32 value: a finite double beyond ±3.4e38 becomes ±Infinity in the buffer.
  return Number.isFinite(Math.fround(x)) ? x : Number.NaN;
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

/** A match operand's comparison key: strings as is, finite numbers stringified; else malformed (`undefined`). */
function matchKey(v: FeatureValue): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/** Candidate keys the `numeric` loop reads inline. */
const NUMERIC_KEYS: ReadonlySet<CandidateKey['kind']> = new Set(['attribute', 'ageHours', 'retrievalScore', 'coarseScore', 'sourceCount']);

/**
 * A cross feature's operands when one is row-constant and the other a candidate key `accept`s:
 * the row-constant side's (memoised) resolver and the candidate key. Else `undefined`.
 */
function crossSide(
  refs: readonly CompiledRef[],
  resolvers: readonly Resolver[],
  accept: (k: CandidateKey) => boolean,
): { constant: Resolver; key: CandidateKey } | undefined {
  for (let i = 0; i < 2; i++) {
    const c = refs[i] as CompiledRef;
    const other = refs[1 - i] as CompiledRef;
    if (c.rowConstant && other.candidateKey !== undefined && accept(other.candidateKey))
      return { constant: resolvers[i] as Resolver, key: other.candidateKey };
  }
  return undefined;
}

function isNumArray(v: FeatureValue | undefined): v is Float32Array {
  return v instanceof Float32Array || (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number'));
}

/**
 * The template row into every row of `data`: one `set`, then `copyWithin` doubling the filled
 * prefix (log2(rows) memmoves instead of one `set` call per row).
 */
function fillRows(data: Float32Array, template: Float32Array, rows: number, width: number): void {
  if (rows === 0) return;
  data.set(template, 0);
  const total = rows * width;
  for (let filled = width; filled < total; filled *= 2) data.copyWithin(filled, 0, Math.min(filled, total - filled));
}

/** A missing cell: counted, its indicator set; the cell keeps the template's default. */
function markMissing(c: Compiled, data: Float32Array, base: number, n: Counts): void {
  n.missing++;
  if (c.indicator >= 0) data[base + c.indicator] = 1;
}

/**
 * A numeric cell from {@link encodeNumber}'s result: written, or (NaN) counted malformed with its
 * indicator set — the cell still holds the template's default, as the row-major restore leaves it.
 */
function putNumber(c: Compiled, x: number, data: Float32Array, base: number, n: Counts): void {
  if (x === x) data[base + c.offset] = x;
  else {
    n.malformed++;
    if (c.indicator >= 0) data[base + c.indicator] = 1;
  }
}

/** One cell of a per-row feature, as the row-major loop writes it (the generic loop and the rare cases). */
function put(c: Compiled, v: FeatureValue | undefined, data: Float32Array, base: number, defaults: Float32Array, n: Counts): void {
  if (v === undefined) markMissing(c, data, base, n);
  else if (!c.encode(v, data, base + c.offset)) {
    n.malformed++;
    data.set(defaults.subarray(c.offset, c.offset + c.width), base + c.offset);
    if (c.indicator >= 0) data[base + c.indicator] = 1;
  }
}

/** A per-row feature without a specialised loop: its compiled `resolve` and `encode`, row by row. */
function fillGeneric(
  c: Compiled,
  env: Env,
  data: Float32Array,
  r0: number,
  r1: number,
  width: number,
  defaults: Float32Array,
  n: Counts,
): void {
  for (let r = r0, base = r0 * width; r < r1; r++, base += width) put(c, c.resolve(env, r), data, base, defaults, n);
}

/**
 * The candidate-numeric features (`meta.attributes.<k>`, `meta.ageHours`, scores, `sourceCount`),
 * all in one pass over the rows: the candidate, its meta and attributes are read once per row for
 * all of them (micro-benchmark, 4 attributes × 2 600 fresh candidates: 0.27–0.33 ms as four loops
 * with the keyed load megamorphic, 0.22–0.25 with four monomorphic copies, 0.17–0.27 fused, so
 * one fused loop rather than a copy per key). The reads are the expressions of the resolvers in
 * internal/resolve.ts.
 * Numbers and `undefined` are handled inline; any other value (a boolean attribute, a string, an
 * array, null) takes the feature's compiled `resolve` + `encode` for that row, which is what the
 * row-major loop does with it. A malformed number writes nothing: the cell still holds the default
 * from the template, as the row-major restore would leave it.
 */
function fillCandidateNumerics(
  group: readonly Compiled[],
  cands: readonly Candidate[],
  env: Env,
  data: Float32Array,
  r0: number,
  r1: number,
  width: number,
  defaults: Float32Array,
  n: Counts,
): void {
  const g = group.length;
  const nowMs = env.nowMs;
  for (let r = r0, base = r0 * width; r < r1; r++, base += width) {
    const cd = cands[r];
    const meta = cd?.meta;
    const attrs = meta?.attributes;
    for (let j = 0; j < g; j++) {
      const c = group[j] as Compiled;
      const f = c.fast as Extract<Fast, { kind: 'numeric' }>;
      const key = f.key;
      let v: unknown;
      if (key.kind === 'attribute') v = attrs?.[key.name];
      else if (key.kind === 'ageHours') v = ageHours(meta?.publishedAtMs, nowMs);
      else if (key.kind === 'retrievalScore') v = cd?.retrievalScore;
      else if (key.kind === 'coarseScore') v = cd?.coarseScore;
      else v = cd?.sources.length;
      if (typeof v === 'number') {
        putNumber(c, encodeNumber(f.enc, v), data, base, n);
      } else if (v === undefined) markMissing(c, data, base, n);
      else put(c, c.resolve(env, r), data, base, defaults, n);
    }
  }
}

/** A numeric feature read from a row feature batch's item rows; same scheme as {@link fillCandidateNumerics}. */
function fillItemNumeric(
  c: Compiled,
  key: string,
  enc: NumEnc,
  env: Env,
  data: Float32Array,
  r0: number,
  r1: number,
  width: number,
  defaults: Float32Array,
  n: Counts,
): void {
  const items = env.batch?.items;
  for (let r = r0, base = r0 * width; r < r1; r++, base += width) {
    const v = items?.[r]?.[key];
    if (typeof v === 'number') putNumber(c, encodeNumber(enc, v), data, base, n);
    else if (v === undefined) markMissing(c, data, base, n);
    else put(c, c.resolve(env, r), data, base, defaults, n);
  }
}

/** {@link dot8}'s results (a module-level scratch: `assemble` is synchronous). */
const DOTS = new Float64Array(8);

/**
 * `dotF32(u, b_i)` for eight rows at once, into {@link DOTS}: eight independent accumulators, each
 * summing its row's terms in the same k order as `dotF32`, so each is the same double. Every `b_i`
 * must have `u.length` elements.
 *
 * Why: the embedding rows are random rows of a large matrix (1M × 32 in the video platform), so
 * each is a cache and TLB miss. One row at a time, a row's 32-term dependent sum fills the CPU's
 * reorder window and the next rows' loads start only when it drains; eight sums side by side put
 * eight rows' misses in flight. Micro-benchmark, 2 600 random rows of a 1M × 32 matrix (Zen 3 VM,
 * 4 KB pages, loaded box): one at a time 0.90–1.10 ms, 4 at once 0.48–0.78, 8 at once 0.42–0.64.
 * A first pass touching each row's first and last element (to start the misses early) measured
 * 0.94–1.10 ms here, slower than none: 2 600 rows' pages overflow the TLB before the second pass
 * reads them; on top of the 8-way sum, touching ahead in chunks of 32 rows gained nothing.
 */
function dot8(
  u: Float32Array,
  b0: Float32Array,
  b1: Float32Array,
  b2: Float32Array,
  b3: Float32Array,
  b4: Float32Array,
  b5: Float32Array,
  b6: Float32Array,
  b7: Float32Array,
): void {
  let x0 = 0;
  let x1 = 0;
  let x2 = 0;
  let x3 = 0;
  let x4 = 0;
  let x5 = 0;
  let x6 = 0;
  let x7 = 0;
  for (let k = 0; k < u.length; k++) {
    const a = u[k] as number;
    x0 += a * (b0[k] as number);
    x1 += a * (b1[k] as number);
    x2 += a * (b2[k] as number);
    x3 += a * (b3[k] as number);
    x4 += a * (b4[k] as number);
    x5 += a * (b5[k] as number);
    x6 += a * (b6[k] as number);
    x7 += a * (b7[k] as number);
  }
  DOTS[0] = x0;
  DOTS[1] = x1;
  DOTS[2] = x2;
  DOTS[3] = x3;
  DOTS[4] = x4;
  DOTS[5] = x5;
  DOTS[6] = x6;
  DOTS[7] = x7;
}

/** One row of {@link fillDot} by itself; `e` is the row's `meta.embedding`, `base` its first cell. */
function dotCell(
  c: Compiled,
  u: Float32Array,
  cosine: boolean,
  enc: NumEnc,
  e: unknown,
  env: Env,
  r: number,
  data: Float32Array,
  base: number,
  defaults: Float32Array,
  n: Counts,
): void {
  if (e instanceof Float32Array) {
    putNumber(c, encodeNumber(enc, e.length !== u.length ? MALFORMED : cosine ? cosineF32(u, e) : dotF32(u, e)), data, base, n);
  } else if (e === undefined) markMissing(c, data, base, n);
  else put(c, c.resolve(env, r), data, base, defaults, n);
}

/**
 * Dot (or cosine) of a row-constant operand and the candidates' `meta.embedding`: the operand is
 * resolved once (its memo slot); a plain dot goes eight rows at a time through {@link dot8} when
 * all eight hold a Float32Array of the operand's length, else row by row through `dotF32` /
 * `cosineF32`, the functions the compiled `combine` calls (any other value: the compiled `resolve`).
 */
function fillDot(
  c: Compiled,
  constant: Resolver,
  cosine: boolean,
  enc: NumEnc,
  cands: readonly Candidate[],
  env: Env,
  data: Float32Array,
  r0: number,
  r1: number,
  width: number,
  defaults: Float32Array,
  n: Counts,
): void {
  const u = constant(env, 0);
  if (!(u instanceof Float32Array)) {
    fillGeneric(c, env, data, r0, r1, width, defaults, n);
    return;
  }
  const dim = u.length;
  let r = r0;
  if (!cosine) {
    for (; r + 8 <= r1; r += 8) {
      const e0 = cands[r]?.meta?.embedding;
      const e1 = cands[r + 1]?.meta?.embedding;
      const e2 = cands[r + 2]?.meta?.embedding;
      const e3 = cands[r + 3]?.meta?.embedding;
      const e4 = cands[r + 4]?.meta?.embedding;
      const e5 = cands[r + 5]?.meta?.embedding;
      const e6 = cands[r + 6]?.meta?.embedding;
      const e7 = cands[r + 7]?.meta?.embedding;
      if (
        e0 instanceof Float32Array &&
        e0.length === dim &&
        e1 instanceof Float32Array &&
        e1.length === dim &&
        e2 instanceof Float32Array &&
        e2.length === dim &&
        e3 instanceof Float32Array &&
        e3.length === dim &&
        e4 instanceof Float32Array &&
        e4.length === dim &&
        e5 instanceof Float32Array &&
        e5.length === dim &&
        e6 instanceof Float32Array &&
        e6.length === dim &&
        e7 instanceof Float32Array &&
        e7.length === dim
      ) {
        dot8(u, e0, e1, e2, e3, e4, e5, e6, e7);
        for (let i = 0, base = r * width; i < 8; i++, base += width) putNumber(c, encodeNumber(enc, DOTS[i] as number), data, base, n);
      } else for (let i = r; i < r + 8; i++) dotCell(c, u, cosine, enc, cands[i]?.meta?.embedding, env, i, data, i * width, defaults, n);
    }
  }
  for (; r < r1; r++) dotCell(c, u, cosine, enc, cands[r]?.meta?.embedding, env, r, data, r * width, defaults, n);
}

/**
 * Match of a row-constant operand and the candidates' `meta.category` / `creatorId` / `language`:
 * the operand's key once, then a string comparison per row. Non-string values (numbers, which
 * match by their string form; malformed ones) take the compiled `resolve` for that row.
 */
function fillMatch(
  c: Compiled,
  constant: Resolver,
  field: 'category' | 'creatorId' | 'language',
  cands: readonly Candidate[],
  env: Env,
  data: Float32Array,
  r0: number,
  r1: number,
  width: number,
  defaults: Float32Array,
  n: Counts,
): void {
  const { offset, indicator } = c;
  const a = constant(env, 0);
  if (a === undefined) {
    // Missing on one side: missing in every row, whatever the candidate holds.
    n.missing += r1 - r0;
    if (indicator >= 0) for (let r = r0, pos = r0 * width + indicator; r < r1; r++, pos += width) data[pos] = 1;
    return;
  }
  const ka = matchKey(a);
  for (let r = r0, base = r0 * width; r < r1; r++, base += width) {
    const m = cands[r]?.meta;
    const b = field === 'language' ? m?.language : field === 'category' ? m?.category : m?.creatorId;
    if (b === undefined) markMissing(c, data, base, n);
    else if (typeof b === 'string' && ka !== undefined) data[base + offset] = ka === b ? 1 : 0;
    else put(c, c.resolve(env, r), data, base, defaults, n);
  }
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
      const compiledRefs: CompiledRef[] = [];
      let combine: Compiled['combine'];
      let fast = GENERIC;
      let rowConstant = true;
      for (const r of refs) {
        const c = compileRef(r ?? ({} as never));
        if (typeof c === 'string') return fail(`${where}: ${c}`, `features[${i}]`);
        // A cross feature's row-constant operand (the user's embedding in user·item) is resolved
        // once per assemble call, not once per row: per row it was a state/row lookup plus type
        // checks for every candidate (2 000 on a homepage coarse pass).
        resolvers.push(refs.length > 1 && c.rowConstant ? memoized(c.resolve, memoSlots++) : c.resolve);
        compiledRefs.push(c);
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
          const norm = normalization(f.normalize, where);
          const def = f.default ?? 0;
          if (!Number.isFinite(def)) fail(`${where}: default must be finite`, `features[${i}].default`);
          const [lo, hi] = f.clip ?? [-Infinity, Infinity];
          if (!(lo <= hi)) fail(`${where}: clip must be [lo, hi] with lo <= hi`, `features[${i}].clip`);
          const enc = numEnc(norm, lo, hi);
          encode = (v, out, pos) => {
            if (typeof v !== 'number') return false;
            const x = encodeNumber(enc, v);
            if (x !== x) return false;
            out[pos] = x;
            return true;
          };
          if (f.kind === 'numeric') {
            const key = (compiledRefs[0] as CompiledRef).candidateKey;
            if (key !== undefined && NUMERIC_KEYS.has(key.kind)) fast = { kind: 'numeric', key, enc };
            else if (f.from === 'item') fast = { kind: 'itemNumeric', key: f.key, enc };
          }
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
            // Row-constant · candidate embedding, either way round: x·y and y·x are the same double
            // term by term, summed in the same k order, so `dotF32(u, e)` is `dotF32(e, u)` bit for bit
            // (and cosine's norms swap with it; their product commutes too).
            const side = crossSide(compiledRefs, resolvers, (k) => k.kind === 'embedding');
            if (side !== undefined) fast = { kind: 'dot', constant: side.constant, cosine, enc };
          }
          break;
        }
        case 'match': {
          const def = f.default ?? 0;
          if (!Number.isFinite(def)) fail(`${where}: default must be finite`, `features[${i}].default`);
          columns.push(f.name);
          defaults.push(def);
          const [ra, rb] = resolvers as [Resolver, Resolver];
          const matchOf = (a: FeatureValue | undefined, b: FeatureValue | undefined): FeatureValue | undefined => {
            if (a === undefined || b === undefined) return undefined;
            const ka = matchKey(a);
            const kb = matchKey(b);
            if (ka === undefined || kb === undefined) return MALFORMED;
            return ka === kb ? 1 : 0;
          };
          combine = matchOf;
          resolve = (env, row) => matchOf(ra(env, row), rb(env, row));
          // Equality commutes, so the row-constant side may be either operand.
          const side = crossSide(compiledRefs, resolvers, (k) => k.kind === 'category' || k.kind === 'creatorId' || k.kind === 'language');
          if (side !== undefined)
            fast = { kind: 'match', constant: side.constant, field: side.key.kind as 'category' | 'creatorId' | 'language' };
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
              // a count normalised past float32 (a tiny std) is malformed, like a numeric's: no ±Infinity reaches a model
              const x = norm(v.length);
              if (!Number.isFinite(Math.fround(x))) return false;
              out[pos] = x;
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
        fast,
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
    return this.run(input, false);
  }

  /**
   * @internal The row-major loop the no-columns path used before {@link FeatureAssembler.assemble}
   * went feature by feature: every row, every feature, through the compiled closures. Kept as the
   * oracle of the property tests and the baseline of `bench/rank.bench.ts`; same result.
   */
  assembleRowMajor(input: AssembleInput): AssembledBatch {
    return this.run(input, true);
  }

  private run(input: AssembleInput, rowMajor: boolean): AssembledBatch {
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
      fillRows(data, template, rows, width);
      for (let k = 0; k < perRow.length; k++) {
        const c = perRow[k] as Compiled;
        const counts = groupMissing(c) ? this.fillMissing(c, data, rows) : this.encodeColumn(c, columns, env, data, rows);
        missing += counts.missing;
        malformed += counts.malformed;
      }
    } else if (!rowMajor) {
      const counts: Counts = { missing, malformed };
      this.fillCandidatePath(env, groupMissing, data, rows, counts);
      missing = counts.missing;
      malformed = counts.malformed;
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

  /**
   * The no-columns path (the coarse ranker's `assemble({ candidates, ctx })`, degraded mode, row
   * feature batches): the template into every row, then, block of {@link BLOCK} rows by block, one
   * feature (or the group of candidate numerics) at a time over the block's rows.
   *
   * Why feature by feature: row by row, the `resolve` / `encode` calls of every feature went through
   * the same two call sites, megamorphic (each feature has its own closures), plus a
   * `data.set(template)` per row — ≈1.5 ms of a 2 600-candidate homepage coarse pass in the
   * video-platform profile. A loop per feature shape (`fillCandidateNumerics`, `fillDot`,
   * `fillMatch`, `fillItemNumeric`) reads the candidate field inline and encodes through
   * `encodeNumber`, so its call and load sites stay monomorphic; anything else goes through
   * `fillGeneric` (the closures). Measured on the coarse spec (bench/rank.bench.ts case 5): p50
   * 2.3–2.9 → 1.0–1.3 ms. The template copy alone: 54 → 2 µs for 2 600 rows (`fillRows`).
   *
   * Why blocks: 2 600 fresh candidates with their metas, attributes and embedding views are ≈1.5 MB,
   * more than a core's L2 (512 KB on the Zen 3 box), so a feature-by-feature pass over all rows
   * re-reads them from L3 for every feature; per block of 256 rows they stay in L2 (measured
   * together with the fused numerics: 5–8% of the call). The value is not critical: 128 and 512
   * measured the same as 256.
   *
   * The cells and counts are those of {@link FeatureAssembler.assembleRowMajor} (property-tested):
   * a feature only writes its own columns, so the order of the writes does not matter; a
   * row-constant operand resolves once per call whatever the block count (its memo slot).
   */
  private fillCandidatePath(env: Env, groupMissing: (c: Compiled) => boolean, data: Float32Array, rows: number, n: Counts): void {
    const width = this.width;
    const defaults = this.defaultRow;
    fillRows(data, this.template, rows, width);
    if (rows === 0) return;
    const cands = env.cands as readonly Candidate[];
    const todo: Compiled[] = [];
    const numerics: Compiled[] = [];
    for (const c of this.perRow) {
      if (groupMissing(c)) n.missing += this.fillMissing(c, data, rows).missing;
      else if (c.fast.kind === 'numeric') numerics.push(c);
      else todo.push(c);
    }
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(rows, r0 + BLOCK);
      if (numerics.length > 0) fillCandidateNumerics(numerics, cands, env, data, r0, r1, width, defaults, n);
      for (let k = 0; k < todo.length; k++) {
        const c = todo[k] as Compiled;
        const f = c.fast;
        switch (f.kind) {
          case 'itemNumeric':
            fillItemNumeric(c, f.key, f.enc, env, data, r0, r1, width, defaults, n);
            break;
          case 'dot':
            fillDot(c, f.constant, f.cosine, f.enc, cands, env, data, r0, r1, width, defaults, n);
            break;
          case 'match':
            fillMatch(c, f.constant, f.field, cands, env, data, r0, r1, width, defaults, n);
            break;
          default:
            fillGeneric(c, env, data, r0, r1, width, defaults, n);
        }
      }
    }
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
