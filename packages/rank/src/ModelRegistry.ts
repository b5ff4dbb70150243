import { isRecSpineError } from '@recspine/core';
import { RankErrors } from './errors.js';
import type { ModelProvider } from './ModelProvider.js';
import { OnnxModel, type ModelFeeds, type OnnxModelOptions } from './OnnxModel.js';
import type { OnnxModelSpec } from './OnnxModelSpec.js';
import type { NumericArray } from './internal/backend.js';
import { validateSpec } from './internal/checkSpec.js';

/** A canned batch a new version must pass before it serves. */
export interface SmokeBatch {
  readonly rows: number;
  readonly feeds: ModelFeeds;
}

/** Options of {@link ModelRegistry}. */
export interface ModelRegistryOptions {
  /** Used in errors and as the model name, e.g. `fine`. */
  readonly name: string;
  /** Every version must match this spec. */
  readonly spec: OnnxModelSpec;
  /** Load options for every version (threads, worker pool). */
  readonly loadOptions?: Omit<OnnxModelOptions, 'version' | 'name'>;
  /**
   * The canned batch. Default: a deterministic batch of min(16, maxBatch) rows (row 0 all zeros,
   * the others uniform in [−2, 2]). Pass a batch assembled from a real canned `FeatureBatch` to
   * smoke-test on realistic inputs.
   */
  readonly smoke?: SmokeBatch;
}

/** One loaded version. */
export interface ModelVersionInfo {
  readonly version: string;
  readonly sha256: string;
  readonly loadedAt: number;
  readonly mode: 'inline' | 'pool';
}

function info(m: OnnxModel): ModelVersionInfo {
  return { version: m.version, sha256: m.sha256, loadedAt: m.loadedAt, mode: m.mode };
}

/** The default canned batch. */
function cannedBatch(spec: OnnxModelSpec): SmokeBatch {
  const rows = Math.min(16, spec.maxBatch);
  let seed = 0x9e3779b9;
  const next = (): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 4294967296;
  };
  const feeds: Record<string, NumericArray> = {};
  for (const t of spec.inputs) {
    const per = t.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);
    const n = rows * per;
    if (t.dtype === 'float32' || t.dtype === 'float64') {
      const a = t.dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = per; i < n; i++) a[i] = next() * 4 - 2;
      feeds[t.name] = a;
    } else if (t.dtype === 'int64') feeds[t.name] = new BigInt64Array(n);
    else if (t.dtype === 'int32') feeds[t.name] = new Int32Array(n);
    else if (t.dtype === 'int8') feeds[t.name] = new Int8Array(n);
    else feeds[t.name] = new Uint8Array(n);
  }
  return { rows, feeds };
}

/**
 * Serves one model slot with versions that can be hot-swapped.
 *
 * `load()` brings a new version up next to the serving one, checks it against the spec and
 * smoke-tests it on a canned batch (every output present, one value per row, finite, inside its
 * declared `range`). Only then does it swap, atomically: the next `current()` returns the new
 * version; batches already running finish on the old one. The previous version stays loaded for
 * {@link ModelRegistry.rollback}; the one before it is released once idle.
 *
 * A version that fails any check is refused with a coded error (`RECSPINE_ERR_RANK_MODEL_LOAD`,
 * `RECSPINE_ERR_RANK_SPEC_MISMATCH`, `RECSPINE_ERR_RANK_SMOKE_TEST`) and the serving version keeps
 * serving. Loads are serialised.
 *
 * @example
 * ```ts
 * const registry = new ModelRegistry({ name: 'fine', spec });
 * await registry.load('models/fine-v7.onnx', 'v7');
 * const fine = new MultiTaskRanker({ model: registry, assembler, heads });
 * // later, from a deploy hook:
 * try { await registry.load('models/fine-v8.onnx', 'v8') } catch (e) { log.warn(e) } // v7 still serves on failure
 * registry.version; // 'v8'
 * registry.rollback(); // back to 'v7'
 * ```
 */
export class ModelRegistry implements ModelProvider {
  readonly name: string;
  readonly spec: OnnxModelSpec;
  private readonly loadOptions: Omit<OnnxModelOptions, 'version' | 'name'>;
  private readonly smoke: SmokeBatch;
  private serving: OnnxModel | undefined;
  private previous: OnnxModel | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: ModelRegistryOptions) {
    validateSpec(options.spec);
    this.name = options.name;
    this.spec = options.spec;
    this.loadOptions = options.loadOptions ?? {};
    this.smoke = options.smoke ?? cannedBatch(options.spec);
    if (!Number.isInteger(this.smoke.rows) || this.smoke.rows < 1 || this.smoke.rows > this.spec.maxBatch) {
      throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `${this.name}: smoke batch rows must be in 1..maxBatch`, { field: 'smoke.rows' });
    }
  }

  /** The serving version, or undefined before the first successful load. */
  get version(): string | undefined {
    return this.serving?.version;
  }

  /** The version kept for rollback. */
  get previousVersion(): string | undefined {
    return this.previous?.version;
  }

  /** Both retained versions. */
  describe(): { readonly serving?: ModelVersionInfo; readonly previous?: ModelVersionInfo } {
    return {
      ...(this.serving ? { serving: info(this.serving) } : {}),
      ...(this.previous ? { previous: info(this.previous) } : {}),
    };
  }

  /** The serving model. @throws `RECSPINE_ERR_RANK_NO_MODEL` before the first load. */
  current(): OnnxModel {
    if (this.serving === undefined)
      throw RankErrors.create('RECSPINE_ERR_RANK_NO_MODEL', `${this.name}: no model version loaded`, { stage: this.name });
    return this.serving;
  }

  /**
   * Loads, checks and smoke-tests a new version, then swaps it in. On any failure the new version is
   * released, the error is thrown, and the serving version is untouched.
   */
  load(source: string | Uint8Array, version?: string): Promise<ModelVersionInfo> {
    const run = this.queue.then(() => this.loadNow(source, version));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Swaps the serving and the previous version. @throws `RECSPINE_ERR_RANK_NO_MODEL` without a previous one. */
  rollback(): ModelVersionInfo {
    if (this.previous === undefined || this.serving === undefined) {
      throw RankErrors.create('RECSPINE_ERR_RANK_NO_MODEL', `${this.name}: no previous version to roll back to`, { stage: this.name });
    }
    const s = this.serving;
    this.serving = this.previous;
    this.previous = s;
    return info(this.serving);
  }

  /** Releases every version (after in-flight runs). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const all = [this.serving, this.previous];
    this.serving = undefined;
    this.previous = undefined;
    await Promise.all(all.map((m) => m?.release()));
  }

  private async loadNow(source: string | Uint8Array, version: string | undefined): Promise<ModelVersionInfo> {
    if (this.closed) throw RankErrors.create('RECSPINE_ERR_RANK_NO_MODEL', `${this.name}: the registry is closed`, { stage: this.name });
    const model = await OnnxModel.load(source, this.spec, {
      ...this.loadOptions,
      name: this.name,
      ...(version === undefined ? {} : { version }),
    });
    try {
      await model.run(this.smoke.feeds, this.smoke.rows, { stage: `${this.name}/smoke` });
    } catch (e) {
      await model.release();
      const why = e instanceof Error ? e.message : String(e);
      const code = isRecSpineError(e) ? e.code : 'unknown';
      throw RankErrors.create('RECSPINE_ERR_RANK_SMOKE_TEST', `${this.name}@${model.version} failed its smoke test (${code}): ${why}`, {
        stage: this.name,
        cause: e,
      });
    }
    const old = this.previous;
    this.previous = this.serving;
    this.serving = model;
    if (old !== undefined && old !== this.previous && old !== this.serving) void old.release();
    return info(model);
  }
}
