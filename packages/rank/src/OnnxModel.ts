import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isRecSpineError } from '@recspine/core';
import { RankErrors } from './errors.js';
import type { OnnxModelSpec, TensorDType } from './OnnxModelSpec.js';
import type { ModelProvider } from './ModelProvider.js';
import type { OnnxWorkerPool } from './OnnxWorkerPool.js';
import type { ModelBackend, NumericArray, RawTensor, SessionSettings } from './internal/backend.js';
import { sessionOptions } from './internal/backend.js';
import { specProblems, validateSpec } from './internal/checkSpec.js';
import { createInlineBackend } from './internal/inlineBackend.js';

/** Options of {@link OnnxModel.load}. */
export interface OnnxModelOptions {
  /** Version label, echoed as `modelVersion` on score batches. Default: the first 12 hex digits of the file's SHA-256. */
  readonly version?: string;
  /** Used in error messages and as the error `stage`. Default `model`. */
  readonly name?: string;
  /** onnxruntime intra-op threads. Default 1 (see the class docs for why). */
  readonly intraOpThreads?: number;
  /** onnxruntime inter-op threads. Default 1. */
  readonly interOpThreads?: number;
  /** Let onnxruntime's thread pool spin-wait for work. Default false. */
  readonly spinning?: boolean;
  /** Graph optimisation level. Default `all`. */
  readonly graphOptimizationLevel?: SessionSettings['graphOptimizationLevel'];
  /** Run in this worker pool instead of on the calling thread. */
  readonly pool?: OnnxWorkerPool;
}

/** A typed array per declared input, `rows × (product of the other dims)` long. */
export type ModelFeeds = Readonly<Record<string, NumericArray>>;

/** One fetched output. */
export interface ModelOutput {
  readonly data: NumericArray;
  readonly dims: readonly number[];
}

/** Per-run options. */
export interface RunOptions {
  /** Stage path for errors, e.g. `homepage/fine`. */
  readonly stage?: string;
}

const ARRAY_OF: Record<TensorDType, new (n: number) => NumericArray> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
};

/**
 * A thin, safe wrapper over one onnxruntime-node session.
 *
 * - **Load** from a file path or a buffer; the model's declared inputs and outputs are checked
 *   against an {@link OnnxModelSpec} and a mismatch refuses the model
 *   (`RECSPINE_ERR_RANK_SPEC_MISMATCH`); a missing or corrupt file is `RECSPINE_ERR_RANK_MODEL_LOAD`.
 * - **Run** batches of at most `spec.maxBatch` rows. Inputs are checked (names, types, lengths),
 *   outputs are checked (present, one value per row for `perRow`, finite, inside `range`); any
 *   failure is a coded error and nothing half-valid is returned.
 * - **Threads are fixed**: 1 intra-op thread, 1 inter-op thread, sequential execution, no
 *   spin-waiting. Our batches (≤ 1000 × ~100 through a small MLP) take well under a millisecond to
 *   a few milliseconds; splitting such a GEMM across threads buys little and costs a wake-up per
 *   op, and a spinning pool burns the cores the event loop and the other requests need. Parallelism
 *   comes from concurrent requests (and from {@link OnnxWorkerPool} workers), not inside one run.
 *   Every knob can be overridden per model.
 * - **Blocking**: inline, `session.run` computes synchronously on the calling thread, blocking the
 *   event loop for the whole run. Pass `pool` to run off the main thread instead.
 *
 * Invariant: a released model refuses new runs (`RECSPINE_ERR_RANK_MODEL_RELEASED`) and frees its
 * session once the runs in flight finish, so a hot swap never pulls a session from under a request.
 *
 * @example
 * ```ts
 * const model = await OnnxModel.load('models/fine-v7.onnx', spec, { version: 'v7' });
 * const out = await model.run({ features: batch.data }, batch.rows);
 * const ctr = out.ctr.data; // one value per row
 * ```
 */
export class OnnxModel implements ModelProvider {
  /** The spec the model was checked against. */
  readonly spec: OnnxModelSpec;
  readonly version: string;
  readonly name: string;
  /** SHA-256 of the model bytes (hex). */
  readonly sha256: string;
  /** Where runs execute. */
  readonly mode: 'inline' | 'pool';
  /** `Date.now()` at load. */
  readonly loadedAt: number;
  private readonly backend: ModelBackend;
  private readonly fetch: readonly string[];
  private inFlightRuns = 0;
  private released = false;
  private releasing: Promise<void> | undefined;
  private drain: (() => void) | undefined;

  private constructor(spec: OnnxModelSpec, backend: ModelBackend, name: string, version: string, sha256: string, mode: 'inline' | 'pool') {
    this.spec = spec;
    this.backend = backend;
    this.name = name;
    this.version = version;
    this.sha256 = sha256;
    this.mode = mode;
    this.loadedAt = Date.now();
    this.fetch = spec.outputs.map((o) => o.name);
  }

  /**
   * Loads a model and checks it against `spec`.
   *
   * @throws `RECSPINE_ERR_RANK_CONFIG` for an invalid spec, `RECSPINE_ERR_RANK_MODEL_LOAD` for a
   * missing/corrupt model, `RECSPINE_ERR_RANK_SPEC_MISMATCH` when the model differs from the spec.
   */
  static async load(source: string | Uint8Array, spec: OnnxModelSpec, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    validateSpec(spec);
    const name = options.name ?? 'model';
    let bytes: Uint8Array;
    if (typeof source === 'string') {
      try {
        bytes = await readFile(source);
      } catch (e) {
        throw RankErrors.create('RECSPINE_ERR_RANK_MODEL_LOAD', `${name}: cannot read model file ${source}`, { stage: name, cause: e });
      }
    } else if (source instanceof Uint8Array) {
      bytes = source;
    } else {
      throw RankErrors.create('RECSPINE_ERR_RANK_MODEL_LOAD', `${name}: a model source must be a path or a Uint8Array`, { stage: name });
    }
    if (bytes.byteLength === 0) throw RankErrors.create('RECSPINE_ERR_RANK_MODEL_LOAD', `${name}: the model is empty`, { stage: name });
    const settings: SessionSettings = {
      intraOpThreads: options.intraOpThreads ?? 1,
      interOpThreads: options.interOpThreads ?? 1,
      spinning: options.spinning ?? false,
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    };
    let backend: ModelBackend;
    try {
      backend = options.pool ? await options.pool.loadModel(bytes, sessionOptions(settings)) : await createInlineBackend(bytes, settings);
    } catch (e) {
      if (isRecSpineError(e) && e.code === 'RECSPINE_ERR_RANK_WORKER') throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw RankErrors.create('RECSPINE_ERR_RANK_MODEL_LOAD', `${name}: onnxruntime cannot load the model: ${msg}`, {
        stage: name,
        cause: e,
      });
    }
    const problems = specProblems(spec, backend.inputs, backend.outputs);
    if (problems.length > 0) {
      await backend.release().catch(() => undefined);
      throw RankErrors.create('RECSPINE_ERR_RANK_SPEC_MISMATCH', `${name}: the model does not match its spec: ${problems.join('; ')}`, {
        stage: name,
        cause: problems,
      });
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return new OnnxModel(spec, backend, name, options.version ?? sha256.slice(0, 12), sha256, options.pool ? 'pool' : 'inline');
  }

  /** {@link ModelProvider}: a model serves itself. */
  current(): OnnxModel {
    return this;
  }

  /** Runs in flight right now. */
  get inFlight(): number {
    return this.inFlightRuns;
  }

  /** Whether {@link OnnxModel.release} was called. */
  get isReleased(): boolean {
    return this.released;
  }

  /**
   * Runs one batch of `rows` rows. Resolves with every spec output, checked.
   *
   * @throws `RECSPINE_ERR_RANK_BATCH_TOO_LARGE`, `RECSPINE_ERR_RANK_BAD_FEEDS`,
   * `RECSPINE_ERR_RANK_INFERENCE`, `RECSPINE_ERR_RANK_NONFINITE_OUTPUT`,
   * `RECSPINE_ERR_RANK_MODEL_RELEASED` (or `RECSPINE_ERR_RANK_WORKER` in a pool).
   */
  async run(feeds: ModelFeeds, rows: number, options: RunOptions = {}): Promise<Record<string, ModelOutput>> {
    const stage = options.stage ?? this.name;
    if (this.released) throw RankErrors.create('RECSPINE_ERR_RANK_MODEL_RELEASED', `${this.name}@${this.version} is released`, { stage });
    if (!Number.isInteger(rows) || rows < 0)
      throw RankErrors.create('RECSPINE_ERR_RANK_BAD_FEEDS', `rows must be a non-negative integer, got ${rows}`, { stage });
    if (rows > this.spec.maxBatch) {
      throw RankErrors.create('RECSPINE_ERR_RANK_BATCH_TOO_LARGE', `${rows} rows exceed maxBatch ${this.spec.maxBatch} of ${this.name}`, {
        stage,
      });
    }
    const tensors = this.checkFeeds(feeds, rows, stage);
    if (rows === 0) return this.emptyOutputs();
    this.inFlightRuns++;
    let raw: Record<string, RawTensor>;
    try {
      raw = await this.backend.run(tensors, this.fetch);
    } catch (e) {
      if (isRecSpineError(e) && e.code === 'RECSPINE_ERR_RANK_WORKER') throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw RankErrors.create('RECSPINE_ERR_RANK_INFERENCE', `${this.name}@${this.version}: ${msg}`, { stage, cause: e });
    } finally {
      if (--this.inFlightRuns === 0 && this.drain) this.drain();
    }
    return this.checkOutputs(raw, rows, stage);
  }

  /**
   * Refuses new runs and frees the session once the runs in flight finish. Idempotent.
   */
  release(): Promise<void> {
    if (this.releasing) return this.releasing;
    this.released = true;
    const idle =
      this.inFlightRuns === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.drain = resolve;
          });
    this.releasing = idle.then(() => this.backend.release()).catch(() => undefined);
    return this.releasing;
  }

  private checkFeeds(feeds: ModelFeeds, rows: number, stage: string): Record<string, RawTensor> {
    const bad = (msg: string): never => {
      throw RankErrors.create('RECSPINE_ERR_RANK_BAD_FEEDS', `${this.name}: ${msg}`, { stage });
    };
    if (typeof feeds !== 'object' || feeds === null) bad('feeds must be an object of typed arrays');
    const out: Record<string, RawTensor> = {};
    for (const t of this.spec.inputs) {
      const data = feeds[t.name];
      if (data === undefined) bad(`missing input ${t.name}`);
      const Ctor = ARRAY_OF[t.dtype];
      if (!(data instanceof Ctor)) bad(`input ${t.name} must be a ${Ctor.name}`);
      const dims = t.shape.map((d) => (d === 'batch' ? rows : (d as number)));
      let n = 1;
      for (const d of dims) n *= d;
      if ((data as NumericArray).length !== n)
        bad(`input ${t.name} has ${(data as NumericArray).length} values, expected ${n} ([${dims.join(', ')}])`);
      out[t.name] = { type: t.dtype, data: data as NumericArray, dims };
    }
    for (const name of Object.keys(feeds)) if (!this.spec.inputs.some((t) => t.name === name)) bad(`unknown input ${name}`);
    return out;
  }

  private checkOutputs(raw: Record<string, RawTensor>, rows: number, stage: string): Record<string, ModelOutput> {
    const out: Record<string, ModelOutput> = {};
    for (const o of this.spec.outputs) {
      const t = raw[o.name];
      if (t === undefined)
        throw RankErrors.create('RECSPINE_ERR_RANK_INFERENCE', `${this.name}: output ${o.name} missing from the run`, { stage });
      let expected: number | undefined;
      if (o.shape === 'perRow') expected = rows;
      else if (!o.shape.includes('*')) expected = o.shape.reduce<number>((n, d) => n * (d === 'batch' ? rows : (d as number)), 1);
      if (expected !== undefined && t.data.length !== expected) {
        throw RankErrors.create(
          'RECSPINE_ERR_RANK_INFERENCE',
          `${this.name}: output ${o.name} has ${t.data.length} values, expected ${expected}`,
          {
            stage,
          },
        );
      }
      if (t.data instanceof Float32Array || t.data instanceof Float64Array) {
        const d = t.data;
        const lo = o.range ? o.range[0] : -Infinity;
        const hi = o.range ? o.range[1] : Infinity;
        for (let i = 0; i < d.length; i++) {
          const v = d[i] as number;
          // `!(v >= lo)` is also true for NaN.
          if (!(v >= lo) || !(v <= hi) || v === Infinity || v === -Infinity) {
            throw RankErrors.create(
              'RECSPINE_ERR_RANK_NONFINITE_OUTPUT',
              `${this.name}@${this.version}: output ${o.name}[${i}] = ${v}${o.range ? ` (range [${lo}, ${hi}])` : ''}`,
              { stage },
            );
          }
        }
      }
      out[o.name] = { data: t.data, dims: t.dims };
    }
    return out;
  }

  private emptyOutputs(): Record<string, ModelOutput> {
    const out: Record<string, ModelOutput> = {};
    for (const o of this.spec.outputs) out[o.name] = { data: new ARRAY_OF[o.dtype](0), dims: [0] };
    return out;
  }
}
