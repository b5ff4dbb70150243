/**
 * Columnar decoding: a group's records decode straight into one column per feature (typed arrays
 * for numbers and vectors, plain arrays for strings and id lists, a presence byte per slot), so a
 * batch read builds no per-row objects. The byte layouts are the ones documented in `codec.ts`;
 * the decoders here must accept and reject exactly what `decodePacked` / `decodeHashField`
 * accept and reject (a property test checks both agree).
 *
 * Hand-written for the same reason as the codec: the layout is fixed by the schema, and reading
 * with a DataView into preallocated typed arrays is what makes the read cheap.
 */
import type { FeatureColumn, FeatureValue } from '@recspine/core';
import type { CompiledGroup, FeatureSpec } from '../FeatureSchema.js';
import { ID_SEP, decayTo, fingerprint } from './codec.js';

const VERSION = 1;

/** Mutable columns while decoding (the public types are read-only). */
export type MutableColumn =
  | { readonly type: 'number'; readonly values: Float64Array; readonly present: Uint8Array }
  | { readonly type: 'vector'; readonly dim: number; readonly values: Float32Array; readonly present: Uint8Array }
  | { readonly type: 'category'; readonly values: (string | undefined)[]; readonly present: Uint8Array }
  | { readonly type: 'idList'; readonly values: (readonly string[] | undefined)[]; readonly present: Uint8Array };

/**
 * The columns of one group for `length` records, aligned with the group's features. The number,
 * vector and presence columns are views into one ArrayBuffer (`nums`, `vecs`, `present`), which
 * the packed decoder writes through a per-feature layout computed once per feature list.
 */
export interface GroupColumns {
  readonly length: number;
  readonly cols: readonly MutableColumn[];
  /** Presence bytes: feature `fi`, record `row` at `fi * length + row`. */
  readonly present: Uint8Array;
  /** Number values: the `ni`-th number feature's record `row` at `ni * length + row`. */
  readonly nums: Float64Array;
  /** Vector floats: a vector feature starting at float slot `vi` has record `row` at `vi * length + row * dim`. */
  readonly vecs: Float32Array;
}

/**
 * Where each feature of a feature list lives in its columns' backing arrays (what
 * {@link allocGroupColumns} allocates and the packed decoder writes), computed once per list.
 */
interface PackedLayout {
  readonly n: number;
  /** Number features in all. */
  readonly numbers: number;
  /** Vector floats per record in all. */
  readonly vectorFloats: number;
  readonly bitmapLen: number;
  /** 0 number, 1 vector, 2 category, 3 idList. */
  readonly kind: Uint8Array;
  /** Numbers: their index among the number features; vectors: their first float slot. */
  readonly slot: Int32Array;
  /** Vectors: their dimension. */
  readonly dim: Int32Array;
  /** Per presence-bitmap byte: 1 when its 8 features are all numbers (their slots are then consecutive). */
  readonly numberByte: Uint8Array;
}

const KIND = { number: 0, vector: 1, category: 2, idList: 3 } as const;
const layouts = new WeakMap<readonly FeatureSpec[], PackedLayout>();
let lastFeatures: readonly FeatureSpec[] | undefined;
let lastLayout: PackedLayout | undefined;

/** The layout of `features`. */
function layoutOf(features: readonly FeatureSpec[]): PackedLayout {
  if (features === lastFeatures) return lastLayout as PackedLayout;
  let l = layouts.get(features);
  if (l === undefined) {
    const n = features.length;
    const kind = new Uint8Array(n);
    const slot = new Int32Array(n);
    const dim = new Int32Array(n);
    let ni = 0;
    let vi = 0;
    for (let i = 0; i < n; i++) {
      const f = features[i] as FeatureSpec;
      kind[i] = KIND[f.type];
      if (f.type === 'number') slot[i] = ni++;
      else if (f.type === 'vector') {
        slot[i] = vi;
        dim[i] = f.dim as number;
        vi += f.dim as number;
      }
    }
    const bitmapLen = (n + 7) >> 3;
    const numberByte = new Uint8Array(bitmapLen);
    for (let b = 0; b < bitmapLen; b++) {
      let all = 8 * b + 8 <= n;
      for (let i = 8 * b; all && i < 8 * b + 8; i++) all = kind[i] === KIND.number;
      numberByte[b] = all ? 1 : 0;
    }
    l = { n, numbers: ni, vectorFloats: vi, bitmapLen, kind, slot, dim, numberByte };
    layouts.set(features, l);
  }
  lastFeatures = features;
  lastLayout = l;
  return l;
}

/**
 * Allocates a group's columns for `length` records: one zeroed ArrayBuffer, numbers first (8-byte
 * aligned), then vector floats, then presence bytes, sliced into per-feature views — one
 * allocation per group and read, not one per feature.
 */
export function allocGroupColumns(g: Pick<CompiledGroup, 'features'>, length: number): GroupColumns {
  const L = layoutOf(g.features);
  const nf = L.n;
  const numBytes = L.numbers * length * 8;
  const vecBytes = L.vectorFloats * length * 4;
  const ab = new ArrayBuffer(numBytes + vecBytes + nf * length);
  const nums = new Float64Array(ab, 0, L.numbers * length);
  const vecs = new Float32Array(ab, numBytes, L.vectorFloats * length);
  const present = new Uint8Array(ab, numBytes + vecBytes, nf * length);
  const cols: MutableColumn[] = new Array<MutableColumn>(nf);
  for (let fi = 0; fi < nf; fi++) {
    const f = g.features[fi] as FeatureSpec;
    const p = new Uint8Array(ab, numBytes + vecBytes + fi * length, length);
    const slot = L.slot[fi] as number;
    switch (f.type) {
      case 'number':
        cols[fi] = { type: 'number', values: new Float64Array(ab, slot * length * 8, length), present: p };
        break;
      case 'vector': {
        const dim = L.dim[fi] as number;
        cols[fi] = { type: 'vector', dim, values: new Float32Array(ab, numBytes + slot * length * 4, dim * length), present: p };
        break;
      }
      case 'category':
        cols[fi] = { type: 'category', values: new Array<string | undefined>(length), present: p };
        break;
      case 'idList':
        cols[fi] = { type: 'idList', values: new Array<readonly string[] | undefined>(length), present: p };
        break;
    }
  }
  return { length, cols, present, nums, vecs };
}

let viewBuffer: ArrayBufferLike | undefined;
let view: DataView | undefined;

/**
 * A DataView over the whole ArrayBuffer behind `buf` (read at `buf.byteOffset + offset`). The
 * records of one Redis reply are views into the same socket chunk, so caching the last view
 * makes one DataView per reply instead of one per record (~500 per batch read). Keeps at most
 * one ArrayBuffer alive until the next decode.
 */
function viewOf(buf: Buffer): DataView {
  const ab = buf.buffer;
  if (ab !== viewBuffer || view === undefined) {
    viewBuffer = ab;
    view = new DataView(ab);
  }
  return view;
}

function clearRow(cols: readonly MutableColumn[], row: number): void {
  for (const c of cols) {
    c.present[row] = 0;
    if (c.type === 'category' || c.type === 'idList') c.values[row] = undefined;
  }
}

/**
 * Short strings (category values, ids) repeat across records and reads: a direct-mapped table of
 * the last string seen per hash slot turns most of them into a hash and a byte compare (≈ 20–30
 * ns) instead of a `Buffer#toString` call into C++ (150–200 ns, ≈ 800 per 200-item read).
 * Hand-written: the lookup must run on the reply's bytes before any string exists, which no
 * string-keyed cache library can do. Bounded: 4 096 slots of at most 32 bytes each.
 */
const INTERN_SLOTS = 4096;
const INTERN_MAX = 32;
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX);
const internLen = new Int8Array(INTERN_SLOTS).fill(-1);
const internStr: string[] = new Array<string>(INTERN_SLOTS).fill('');

/** `buf[s, e)` as UTF-8, through the intern table when short and ASCII. */
export function shortString(buf: Buffer, s: number, e: number): string {
  const n = e - s;
  if (n > INTERN_MAX) return buf.toString('utf8', s, e);
  let h = 0x811c9dc5;
  let ascii = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i] as number;
    ascii |= c;
    h = Math.imul(h ^ c, 0x01000193);
  }
  if (ascii >= 0x80) return buf.toString('utf8', s, e);
  const slot = (h ^ (h >>> 15) ^ n) & (INTERN_SLOTS - 1);
  const base = slot * INTERN_MAX;
  if (internLen[slot] === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (internBytes[base + i] !== buf[s + i]) {
        same = false;
        break;
      }
    }
    if (same) return internStr[slot] as string;
  }
  const str = buf.toString('latin1', s, e); // ASCII: latin1 and UTF-8 agree
  for (let i = 0; i < n; i++) internBytes[base + i] = buf[s + i] as number;
  internLen[slot] = n;
  internStr[slot] = str;
  return str;
}

/**
 * Decodes one packed record into row `row` of `gc` (allocated by {@link allocGroupColumns} for the
 * same feature list). Returns 0 for an absent record, 1 when decoded, 2 when malformed (header
 * mismatch, truncation, trailing bytes): then the whole row stays missing. A single non-finite
 * number or vector is missing on its own; the rest is kept.
 */
export function decodePackedColumns(
  g: Pick<CompiledGroup, 'features' | 'fingerprint'>,
  buf: Buffer | null | undefined,
  gc: GroupColumns,
  row: number,
): 0 | 1 | 2 {
  if (buf === null || buf === undefined) return 0;
  const L = layoutOf(g.features);
  const n = L.n;
  const bitmapLen = L.bitmapLen;
  const len = buf.length;
  if (len < 7 + bitmapLen) return 2;
  const dv = viewOf(buf);
  const b0 = buf.byteOffset;
  if (buf[0] !== VERSION || dv.getUint32(b0 + 1, true) !== g.fingerprint || dv.getUint16(b0 + 5, true) !== n) return 2;
  const kind = L.kind;
  const slot = L.slot;
  const rows = gc.length;
  const present = gc.present;
  const nums = gc.nums;
  const numberByte = L.numberByte;
  let off = 7 + bitmapLen;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    if ((i & 7) === 0) {
      bits = buf[7 + (i >> 3)] as number;
      // Eight present numbers in a row (most of a wide numeric record): one bounds check and no
      // per-feature bit test or dispatch. Same reads and checks as the general path below.
      if (bits === 0xff && numberByte[i >> 3] === 1 && off + 64 <= len) {
        const at = (slot[i] as number) * rows + row;
        for (let k = 0; k < 8; k++, off += 8) {
          const x = dv.getFloat64(b0 + off, true);
          if (x - x === 0) {
            nums[at + k * rows] = x;
            present[(i + k) * rows + row] = 1;
          }
        }
        i += 7;
        continue;
      }
    }
    if ((bits & (1 << (i & 7))) === 0) continue;
    switch (kind[i]) {
      case 0: {
        if (off + 8 > len) return fail(gc.cols, row);
        const x = dv.getFloat64(b0 + off, true);
        off += 8;
        if (x - x === 0) {
          // finite (NaN and ±Infinity give NaN here)
          nums[(slot[i] as number) * rows + row] = x;
          present[i * rows + row] = 1;
        }
        break;
      }
      case 1: {
        if (off + 2 > len) return fail(gc.cols, row);
        const m = dv.getUint16(b0 + off, true);
        off += 2;
        if (off + 4 * m > len) return fail(gc.cols, row);
        if (m !== L.dim[i]) {
          off += 4 * m;
          break;
        }
        const vecs = gc.vecs;
        const base = (slot[i] as number) * rows + row * m;
        let ok = true;
        for (let k = 0; k < m; k++, off += 4) {
          const x = dv.getFloat32(b0 + off, true);
          if (x - x !== 0) ok = false;
          vecs[base + k] = x;
        }
        if (ok) present[i * rows + row] = 1;
        break;
      }
      case 2: {
        if (off + 2 > len) return fail(gc.cols, row);
        const m = dv.getUint16(b0 + off, true);
        off += 2;
        if (off + m > len) return fail(gc.cols, row);
        (gc.cols[i] as MutableColumn & { type: 'category' }).values[row] = shortString(buf, off, off + m);
        present[i * rows + row] = 1;
        off += m;
        break;
      }
      default: {
        if (off + 2 > len) return fail(gc.cols, row);
        const cnt = dv.getUint16(b0 + off, true);
        off += 2;
        const ids: string[] = new Array<string>(cnt);
        for (let k = 0; k < cnt; k++) {
          if (off + 2 > len) return fail(gc.cols, row);
          const m = dv.getUint16(b0 + off, true);
          off += 2;
          if (off + m > len) return fail(gc.cols, row);
          ids[k] = shortString(buf, off, off + m);
          off += m;
        }
        (gc.cols[i] as MutableColumn & { type: 'idList' }).values[row] = ids;
        present[i * rows + row] = 1;
        break;
      }
    }
  }
  if (off !== len) return fail(gc.cols, row);
  return 1;
}

function fail(cols: readonly MutableColumn[], row: number): 2 {
  clearRow(cols, row);
  return 2;
}

/** Exact powers of ten (every 10^k with k ≤ 22 is a double). */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * Parses the decimal in `raw[start, end)`; NaN when malformed (callers treat NaN as missing).
 * Same result as `Number(raw.toString('latin1', start, end))` (then finite-checked), without
 * building a string for the common forms: `[-]digits[.digits]` with at most 15 significant
 * digits and 22 decimals is `mantissa / 10^decimals`, one correctly rounded division of two
 * exact doubles (the classic exact fast path of decimal conversion). Anything else (exponents,
 * spaces, long mantissas, `0x..`, `Infinity`) takes the `Number()` path, so the accepted
 * language does not change (a property test compares both).
 */
export function parseNumber(raw: Buffer, start = 0, end = raw.length): number {
  const n = end - start;
  if (n <= 0 || n > 40) return NaN;
  let i = start;
  let neg = false;
  if (raw[i] === 0x2d) {
    neg = true;
    i++;
  }
  let m = 0;
  let digits = 0;
  let decimals = -1;
  for (; i < end; i++) {
    const c = raw[i] as number;
    if (c >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === 0x2e && decimals < 0) decimals = 0;
    else return slowNumber(raw, start, end);
  }
  if (digits === 0 || digits > 15 || decimals === 0 || decimals > 22) return slowNumber(raw, start, end);
  const x = decimals > 0 ? m / (POW10[decimals] as number) : m;
  return neg ? -x : x;
}

function slowNumber(raw: Buffer, start: number, end: number): number {
  const x = Number(raw.toString('latin1', start, end));
  return x - x === 0 ? x : NaN;
}

/**
 * Decodes one hash field, `buf[s, e)`, into row `row` of column `c`; `ts`/`te` locate the
 * `<name>~t` timestamp of a decayed counter (−1 when none). Returns true when the field was
 * malformed (it stays missing).
 */
function decodeHashValue(
  c: MutableColumn,
  f: FeatureSpec,
  buf: Buffer,
  s: number,
  e: number,
  tbuf: Buffer | undefined,
  ts: number,
  te: number,
  now: number,
  row: number,
): boolean {
  switch (c.type) {
    case 'number': {
      let x = parseNumber(buf, s, e);
      if (x !== x) return true;
      if (f.halfLifeMs !== undefined && tbuf !== undefined && ts >= 0) {
        const t = parseNumber(tbuf, ts, te);
        if (t === t) x = decayTo(x, t, now, f.halfLifeMs);
      }
      c.values[row] = x;
      c.present[row] = 1;
      return false;
    }
    case 'vector': {
      const dim = c.dim;
      if (e - s !== 4 * dim) return true;
      const dv = new DataView(buf.buffer, buf.byteOffset + s, e - s);
      const base = row * dim;
      const vals = c.values;
      for (let k = 0; k < dim; k++) {
        const x = dv.getFloat32(4 * k, true);
        if (x - x !== 0) return true; // present flag stays 0: the copied floats are never read
        vals[base + k] = x;
      }
      c.present[row] = 1;
      return false;
    }
    case 'category':
      c.values[row] = shortString(buf, s, e);
      c.present[row] = 1;
      return false;
    case 'idList': {
      if (e === s) c.values[row] = [];
      else if (buf[s] === 0x1f) c.values[row] = buf.toString('utf8', s + 1, e).split(ID_SEP);
      else return true;
      c.present[row] = 1;
      return false;
    }
  }
}

/**
 * Decodes one hash record (HMGET reply aligned with `g.hashFields`) into row `row` of `gc`,
 * decaying `halfLifeMs` counters to `now`. Returns the number of fields that were present but
 * malformed (each is missing; the rest of the record is kept).
 */
export function decodeHashColumns(
  g: CompiledGroup,
  fields: readonly (Buffer | null)[] | undefined,
  now: number,
  gc: GroupColumns,
  row: number,
): number {
  if (fields === undefined) return 0;
  let errors = 0;
  const features = g.features;
  const nf = features.length;
  let timeAt = nf; // the `<name>~t` fields follow the features, in feature order
  for (let i = 0; i < nf; i++) {
    const f = features[i] as FeatureSpec;
    const t = f.halfLifeMs !== undefined ? timeAt++ : -1;
    const raw = fields[i];
    if (raw === null || raw === undefined) continue;
    const tb = t < 0 ? undefined : (fields[t] ?? undefined);
    if (decodeHashValue(gc.cols[i] as MutableColumn, f, raw, 0, raw.length, tb, tb === undefined ? -1 : 0, tb?.length ?? -1, now, row))
      errors++;
  }
  return errors;
}

/**
 * Copies the records of `src` into a new set of columns of length `n`: row `i` takes record
 * `pos[i]` (−1: missing). How creator features (read once per unique creator) land in item rows.
 */
export function gatherColumns(g: CompiledGroup, src: GroupColumns, pos: Int32Array, n: number): GroupColumns {
  const out = allocGroupColumns(g, n);
  for (let fi = 0; fi < src.cols.length; fi++) {
    const s = src.cols[fi] as MutableColumn;
    const d = out.cols[fi] as MutableColumn;
    for (let i = 0; i < n; i++) {
      const j = pos[i] as number;
      if (j < 0 || s.present[j] !== 1) continue;
      d.present[i] = 1;
      switch (d.type) {
        case 'number':
          d.values[i] = s.values[j] as number;
          break;
        case 'vector':
          d.values.set((s.values as Float32Array).subarray(j * d.dim, (j + 1) * d.dim), i * d.dim);
          break;
        case 'category':
          d.values[i] = s.values[j] as string;
          break;
        case 'idList':
          d.values[i] = s.values[j] as readonly string[];
          break;
      }
    }
  }
  return out;
}

/** The value of record `row` of one column, or `undefined` when missing (vectors are copies). */
export function cellValue(c: FeatureColumn, row: number): FeatureValue | undefined {
  if (c.present[row] !== 1) return undefined;
  switch (c.type) {
    case 'number':
      return c.values[row] as number;
    case 'vector':
      return c.values.slice(row * c.dim, (row + 1) * c.dim);
    default:
      return c.values[row] as FeatureValue;
  }
}

/**
 * The packed snapshot of a hash record (hot item/creator groups): the same layout as a `packed`
 * record, over the group's `hashFields` — its features in schema order, then one `f64` timestamp
 * per decayed feature (`<name>~t`) — so a read decodes it with {@link decodePackedColumns} and then
 * decays the counters to the read time exactly as {@link decodeHashColumns} does. The Lua write
 * script (`redisScripts.ts`) builds it server-side from the hash, atomically with every update.
 */
export interface SnapshotSpec {
  /** `hashFields` as features: the group's features, then a number per decayed feature. */
  readonly features: readonly FeatureSpec[];
  readonly fingerprint: number;
  /** The 7-byte header the script writes: version, fingerprint, field count. */
  readonly header: Buffer;
  /** One type code per hash field for the script: `n` number, `v` vector, `c` category, `l` idList. */
  readonly types: string;
  /** What the write script gets: header .. types .. NUL .. field names joined by NUL. */
  readonly script: Buffer;
  /** Per decayed feature: its feature index and half-life (timestamp k belongs to `decayed[k]`). */
  readonly decayed: readonly { readonly fi: number; readonly halfLifeMs: number }[];
}

const snapshotSpecs = new WeakMap<CompiledGroup, SnapshotSpec>();
const TYPE_CODE = { number: 'n', vector: 'v', category: 'c', idList: 'l' } as const;

export function snapshotSpec(g: CompiledGroup): SnapshotSpec {
  let s = snapshotSpecs.get(g);
  if (s === undefined) {
    const decayed: { fi: number; halfLifeMs: number }[] = [];
    g.features.forEach((f, fi) => {
      if (f.halfLifeMs !== undefined) decayed.push({ fi, halfLifeMs: f.halfLifeMs });
    });
    const features: FeatureSpec[] = [
      ...g.features,
      ...decayed.map(({ fi }): FeatureSpec => ({
        name: `${(g.features[fi] as FeatureSpec).name}~t`,
        type: 'number',
        default: 0,
        freshness: 'hot',
      })),
    ];
    const fp = fingerprint(features);
    const header = Buffer.alloc(7);
    header.writeUInt8(VERSION, 0);
    header.writeUInt32LE(fp, 1);
    header.writeUInt16LE(features.length, 5);
    const types = features.map((f) => TYPE_CODE[f.type]).join('');
    const script = Buffer.concat([header, Buffer.from(`${types}\u0000${features.map((f) => f.name).join('\u0000')}`, 'utf8')]);
    s = { features, fingerprint: fp, header, types, script, decayed };
    snapshotSpecs.set(g, s);
  }
  return s;
}

/**
 * Columns for decoding `m` snapshots of group `g`: `sc` has the group's columns followed by one
 * scratch number column per decayed feature (its timestamp), so {@link decodePackedColumns} fills
 * both in one pass; `gc` is the group's columns alone, views into the same backing arrays (the
 * group's numbers come first in `nums`, its features first in `present`).
 */
export function allocSnapshotColumns(g: CompiledGroup, spec: SnapshotSpec, m: number): { gc: GroupColumns; sc: GroupColumns } {
  const sc = allocGroupColumns(spec, m);
  if (spec.decayed.length === 0) return { gc: sc, sc };
  return { gc: { ...sc, cols: sc.cols.slice(0, g.features.length) }, sc };
}

/**
 * Decodes one snapshot into row `row` (of `sc` from {@link allocSnapshotColumns}) and decays its
 * counters to `now` like {@link decodeHashColumns}: a counter is decayed when its timestamp is
 * present. Returns 1 when decoded; 0 (absent) or 2 (wrong header: another version or schema, or
 * malformed) leave the row empty, and the caller falls back to reading the hash.
 */
export function decodeSnapshotColumns(
  g: CompiledGroup,
  spec: SnapshotSpec,
  buf: Buffer | null | undefined,
  now: number,
  sc: GroupColumns,
  row: number,
): 0 | 1 | 2 {
  const st = decodePackedColumns(spec, buf, sc, row);
  if (st !== 1) return st;
  const nf = g.features.length;
  const L = layoutOf(spec.features);
  const rows = sc.length;
  const present = sc.present;
  const nums = sc.nums;
  const decayed = spec.decayed;
  for (let k = 0; k < decayed.length; k++) {
    const ti = nf + k;
    if (present[ti * rows + row] !== 1) continue;
    const d = decayed[k] as { fi: number; halfLifeMs: number };
    if (present[d.fi * rows + row] !== 1) continue;
    const at = (L.slot[d.fi] as number) * rows + row;
    nums[at] = decayTo(nums[at] as number, nums[(L.slot[ti] as number) * rows + row] as number, now, d.halfLifeMs);
  }
  return 1;
}
