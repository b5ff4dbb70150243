import { IdTable } from '@recspine/core';
import type { FeatureRow, FeatureValue } from '@recspine/core';
import ort from 'onnxruntime-node';
import { RetrievalErrors } from './errors.js';
import type { UserEncoder } from './UserEncoder.js';

const STAGE = 'retrieval/two-tower/user-tower';

/**
 * How one named feature of the row becomes a slice of the tower's input vector.
 *
 * - `number`: one slot, `(value - shift) / scale` (after `log1p` if set); absent → `default` (0).
 * - `vector`: `dims` slots copied from a `Float32Array` feature; absent or wrong length → zeros.
 * - `ids` (embedding lookup): an id list (e.g. recent watches, most recent first) pooled over a
 *   table of item embeddings: `Σ decay^pos · e(id) / Σ decay^pos` over known ids; `dims` slots.
 *   With `decay < 1` the newest watch weighs most, so a watch seconds ago moves the query.
 * - `hashed`: an id list (or a single id) as a bag of `buckets` slots: FNV-1a(id) mod buckets,
 *   weights `decay^pos`, L1-normalised. For ids the model has no table for.
 * - `category`: one-hot over `vocabulary`, plus one out-of-vocabulary slot.
 */
export type UserTowerFeature =
  | {
      readonly name: string;
      readonly kind: 'number';
      readonly default?: number;
      readonly shift?: number;
      readonly scale?: number;
      readonly log1p?: boolean;
    }
  | { readonly name: string; readonly kind: 'vector'; readonly dims: number }
  | {
      readonly name: string;
      readonly kind: 'ids';
      readonly table: { readonly ids: readonly string[]; readonly vectors: Float32Array; readonly dims: number };
      readonly maxLen?: number;
      readonly decay?: number;
    }
  | { readonly name: string; readonly kind: 'hashed'; readonly buckets: number; readonly maxLen?: number; readonly decay?: number }
  | { readonly name: string; readonly kind: 'category'; readonly vocabulary: readonly string[] };

/** Options of {@link OnnxUserTower.create}. */
export interface OnnxUserTowerOptions {
  /** Path to the `.onnx` file, or its bytes. */
  readonly model: string | Uint8Array;
  /** The features, in the order their slices appear in the input vector. */
  readonly features: readonly UserTowerFeature[];
  /** Model input name (float32 `[N, width]`). Default: the model's first input. */
  readonly input?: string;
  /** Model output name (float32 `[N, dims]`). Default: the model's first output. */
  readonly output?: string;
  /** L2-normalise the output (for a cosine index). Default false. */
  readonly normalize?: boolean;
  /** onnxruntime intra-op threads. Default 1 (a user tower is tiny; threads cost more than they save). */
  readonly intraOpThreads?: number;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

interface Compiled {
  readonly f: UserTowerFeature;
  readonly offset: number;
  readonly width: number;
  readonly lookup?: IdTable;
  readonly vocab?: Map<string, number>;
}

function widthOf(f: UserTowerFeature): number {
  switch (f.kind) {
    case 'number':
      return 1;
    case 'vector':
      return f.dims;
    case 'ids':
      return f.table.dims;
    case 'hashed':
      return f.buckets;
    case 'category':
      return f.vocabulary.length + 1;
  }
}

function asIds(v: FeatureValue | undefined): readonly string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v as readonly string[];
  return undefined;
}

/**
 * The ONNX user tower: maps a {@link FeatureRow} to the tower's declared float input (see
 * {@link UserTowerFeature} for each kind of feature), runs it on onnxruntime-node, and returns the
 * user embedding. A row with none of the configured features is a cold user: `undefined`, without
 * running the model.
 *
 * @example
 * ```ts
 * const tower = await OnnxUserTower.create({
 *   model: 'models/user_tower.onnx',
 *   features: [
 *     { name: 'recent_watches', kind: 'ids', table: itemEmbeddings, decay: 0.8, maxLen: 50 },
 *     { name: 'watch_count_7d', kind: 'number', log1p: true },
 *     { name: 'country', kind: 'category', vocabulary: ['US', 'FR', 'IN'] },
 *   ],
 *   normalize: true,
 * });
 * const vec = await tower.encode(row); // Float32Array | undefined
 * ```
 */
export class OnnxUserTower implements UserEncoder {
  /** Width of the model input. */
  readonly inputWidth: number;
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly compiled: readonly Compiled[],
    private readonly normalize: boolean,
  ) {
    this.inputWidth = compiled.reduce((s, c) => s + c.width, 0);
  }

  static async create(options: OnnxUserTowerOptions): Promise<OnnxUserTower> {
    const bad = (field: string, why: string): never => {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', `user tower: ${field} ${why}`, { stage: STAGE, field });
    };
    if (!Array.isArray(options.features) || options.features.length === 0) bad('features', 'must list at least one feature');
    const compiled: Compiled[] = [];
    let offset = 0;
    const names = new Set<string>();
    for (const f of options.features) {
      if (typeof f?.name !== 'string' || f.name.length === 0 || names.has(f.name))
        bad('features', `has a missing or duplicate name ${String(f?.name)}`);
      names.add(f.name);
      if (f.kind === 'vector' && !(Number.isInteger(f.dims) && f.dims > 0)) bad(`features.${f.name}.dims`, 'must be a positive integer');
      if (f.kind === 'hashed' && !(Number.isInteger(f.buckets) && f.buckets > 0))
        bad(`features.${f.name}.buckets`, 'must be a positive integer');
      if ((f.kind === 'ids' || f.kind === 'hashed') && f.decay !== undefined && !(f.decay > 0 && f.decay <= 1))
        bad(`features.${f.name}.decay`, 'must be in (0, 1]');
      let lookup: IdTable | undefined;
      if (f.kind === 'ids') {
        const t = f.table;
        if (!(Number.isInteger(t?.dims) && t.dims > 0) || t.vectors.length !== t.ids.length * t.dims)
          bad(`features.${f.name}.table`, 'must have ids.length × dims vectors');
        lookup = IdTable.fromIds(t.ids);
      }
      let vocab: Map<string, number> | undefined;
      if (f.kind === 'category') vocab = new Map(f.vocabulary.map((v, i) => [v, i]));
      if (!['number', 'vector', 'ids', 'hashed', 'category'].includes(f.kind))
        bad(`features.${f.name}.kind`, `is unknown: ${String((f as { kind: unknown }).kind)}`);
      const width = widthOf(f);
      compiled.push({ f, offset, width, ...(lookup ? { lookup } : {}), ...(vocab ? { vocab } : {}) });
      offset += width;
    }
    let session: ort.InferenceSession;
    try {
      const so: ort.InferenceSession.SessionOptions = { intraOpNumThreads: options.intraOpThreads ?? 1, interOpNumThreads: 1 };
      session =
        typeof options.model === 'string'
          ? await ort.InferenceSession.create(options.model, so)
          : await ort.InferenceSession.create(options.model, so);
    } catch (e) {
      throw RetrievalErrors.create('RECSPINE_ERR_USER_TOWER', `could not load the user tower model: ${(e as Error).message}`, {
        stage: STAGE,
        cause: e,
      });
    }
    const input = options.input ?? session.inputNames[0];
    const output = options.output ?? session.outputNames[0];
    if (input === undefined || !session.inputNames.includes(input))
      bad('input', `is not an input of the model (${session.inputNames.join(', ')})`);
    if (output === undefined || !session.outputNames.includes(output))
      bad('output', `is not an output of the model (${session.outputNames.join(', ')})`);
    // Check the declared input width where the model declares it.
    const meta = (session as unknown as { inputMetadata?: readonly { name: string; shape?: readonly (number | string)[] }[] })
      .inputMetadata;
    const declared = meta?.find((m) => m.name === input)?.shape?.at(-1);
    if (typeof declared === 'number' && declared !== offset) {
      bad('features', `add up to ${offset} input slots but the model's input ${input} declares ${declared}`);
    }
    return new OnnxUserTower(session, input as string, output as string, compiled, options.normalize ?? false);
  }

  /** The input vector for a row (exposed for tests and offline parity checks); undefined for a cold row. */
  featurize(row: FeatureRow): Float32Array | undefined {
    const x = new Float32Array(this.inputWidth);
    let present = 0;
    for (const c of this.compiled) {
      const v = row[c.f.name];
      if (v !== undefined) present++;
      const f = c.f;
      switch (f.kind) {
        case 'number': {
          let n = typeof v === 'number' && Number.isFinite(v) ? v : (f.default ?? 0);
          if (f.log1p === true && typeof v === 'number') n = Math.log1p(Math.max(0, n));
          x[c.offset] = (n - (f.shift ?? 0)) / (f.scale ?? 1);
          break;
        }
        case 'vector':
          if (v instanceof Float32Array && v.length === f.dims && v.every(Number.isFinite)) x.set(v, c.offset);
          break;
        case 'ids': {
          const ids = asIds(v);
          if (ids === undefined) break;
          const d = f.table.dims;
          const decay = f.decay ?? 1;
          let w = 1;
          let total = 0;
          const n = Math.min(ids.length, f.maxLen ?? 100);
          for (let i = 0; i < n; i++, w *= decay) {
            const row2 = c.lookup?.get(ids[i] as string);
            if (row2 === undefined) continue;
            for (let j = 0; j < d; j++) x[c.offset + j] = (x[c.offset + j] as number) + w * (f.table.vectors[row2 * d + j] as number);
            total += w;
          }
          if (total > 0) for (let j = 0; j < d; j++) x[c.offset + j] = (x[c.offset + j] as number) / total;
          break;
        }
        case 'hashed': {
          const ids = asIds(v);
          if (ids === undefined) break;
          const decay = f.decay ?? 1;
          let w = 1;
          let total = 0;
          const n = Math.min(ids.length, f.maxLen ?? 100);
          for (let i = 0; i < n; i++, w *= decay) {
            const b = fnv1a(ids[i] as string) % f.buckets;
            x[c.offset + b] = (x[c.offset + b] as number) + w;
            total += w;
          }
          if (total > 0) for (let j = 0; j < f.buckets; j++) x[c.offset + j] = (x[c.offset + j] as number) / total;
          break;
        }
        case 'category': {
          if (typeof v !== 'string') break;
          x[c.offset + (c.vocab?.get(v) ?? f.vocabulary.length)] = 1;
          break;
        }
      }
    }
    return present === 0 ? undefined : x;
  }

  async encode(row: FeatureRow): Promise<Float32Array | undefined> {
    const x = this.featurize(row);
    if (x === undefined) return undefined;
    let out: Float32Array;
    try {
      const res = await this.session.run({ [this.inputName]: new ort.Tensor('float32', x, [1, this.inputWidth]) });
      const t = res[this.outputName];
      if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`output ${this.outputName} is missing or not float32`);
      out = Float32Array.from(t.data);
    } catch (e) {
      throw RetrievalErrors.create('RECSPINE_ERR_USER_TOWER', `user tower failed: ${(e as Error).message}`, { stage: STAGE, cause: e });
    }
    let s = 0;
    for (const v of out) {
      if (!Number.isFinite(v))
        throw RetrievalErrors.create('RECSPINE_ERR_USER_TOWER', 'user tower output has NaN or Infinity', { stage: STAGE });
      s += v * v;
    }
    if (this.normalize && s > 0) {
      const n = Math.sqrt(s);
      for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / n;
    }
    return out;
  }

  /** Releases the onnxruntime session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}
