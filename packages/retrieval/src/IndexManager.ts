import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ResourceLimits } from 'node:worker_threads';
import type { AnnHit, AnnIndex, AnnMetric, AnnSearcher, AnnSearchOptions } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import { HnswlibIndex, type HnswlibIndexOptions } from './HnswlibIndex.js';
import { BaseAnnIndex, LOCALITY_MIN_ROWS } from './internal/BaseAnnIndex.js';
import { exactTopKSliced } from './internal/exactTopK.js';
import { buildOffThread, OffThreadBuildFailure, type WorkerSpec } from './internal/offThreadBuild.js';
import { checkMatrix, checkVector } from './internal/vector.js';
import { type LoadOverrides, loadAnnIndex } from './loadAnnIndex.js';
import { groupingMetric, localityOrderAsync, localityParams, permuteRows } from './localityOrder.js';
import { UsearchIndex, type UsearchIndexOptions } from './UsearchIndex.js';

const STAGE = 'retrieval/ann/manager';

/** Tolerances of shadow validation. */
export interface ValidationOptions {
  /** K of recall@K and of the agreement check. Default 100. */
  readonly k?: number;
  /** Probe queries sampled from the build's own vectors when the build brings none. Default 50. */
  readonly probes?: number;
  /** Minimum mean recall@K of the new version against exact search on its own vectors. Default 0.9. */
  readonly minRecall?: number;
  /**
   * Minimum mean overlap@K between the new and the current version's results on the same probes.
   * Catches a rebuild whose vectors no longer belong to their ids (shuffled, stale, wrong model).
   * Set it low for the first build after a model change (the embedding space moved). Default 0.5.
   */
  readonly minOverlap?: number;
  /** The new version must hold at least this fraction of the current version's items. Default 0.9. */
  readonly minSizeRatio?: number;
  /** Rows per exact-scan slice between event-loop yields. Default 65 536. */
  readonly sliceRows?: number;
  /** Seed of probe sampling. Default 1. */
  readonly seed?: number;
}

/**
 * A backend and its options as plain data (the manager supplies `dims` and `metric`): what a
 * worker thread needs to build an index, since a `create` function cannot cross threads. The
 * options are those of {@link UsearchIndex} (without `rescore`) and {@link HnswlibIndex}.
 * `buildThreads` (usearch) defaults to 1 in a worker build (0 = all cores).
 * `buildOrder: 'locality'` orders the whole input once (in the worker, or on the serving thread
 * with a turn of the event loop between slices) and inserts it in that order; the order's scans
 * use `buildThreads` threads unless `localityOrder.threads` says otherwise.
 */
export type AnnBuildSpec =
  | ({ readonly backend: 'usearch' } & Omit<UsearchIndexOptions, 'dims' | 'metric' | 'rescore'>)
  | ({ readonly backend: 'hnswlib' } & Omit<HnswlibIndexOptions, 'dims' | 'metric'>);

/** Options of worker-thread builds (`buildIn: 'worker'`). */
export interface BuildWorkerOptions {
  /** A build not finished after this long is refused (`RECSPINE_ERR_ANN_SWAP_REFUSED`). Default 30 min. */
  readonly timeoutMs?: number;
  /** Where the worker saves the version before the manager loads it (removed afterwards). Default `os.tmpdir()`. */
  readonly tmpDir?: string;
  /**
   * Run the build at the lowest CPU priority, so it takes CPU the serving thread leaves idle.
   * Linux: nice 19 on the worker's own thread id (and the native threads it starts), not the
   * process. Elsewhere silently unchanged. Default true.
   */
  readonly lowPriority?: boolean;
  /** V8 heap limits of the worker (the vectors are shared, outside its heap). Default: Node's. */
  readonly resourceLimits?: ResourceLimits;
}

/** Options of an {@link IndexManager}. */
export interface IndexManagerOptions {
  readonly dims: number;
  readonly metric: AnnMetric;
  /**
   * Creates an empty index of the wanted backend and options, for each version built on the main
   * thread. Optional when `spec` is given (then built from it); needed for other backends (`ExactIndex`).
   */
  readonly create?: () => AnnIndex;
  /** The backend as data: needed for worker builds; also used for main-thread builds when `create` is absent. */
  readonly spec?: AnnBuildSpec;
  /**
   * Where `rebuild` inserts: `'worker'` (a low-priority worker thread; needs `spec`) or `'main'`
   * (the serving thread, in `buildChunk` slices). Default `'worker'` when `spec` is given, else `'main'`.
   */
  readonly buildIn?: 'main' | 'worker';
  readonly worker?: BuildWorkerOptions;
  readonly validation?: ValidationOptions;
  /** Main-thread builds: items inserted per slice between event-loop yields. Default 2 000. */
  readonly buildChunk?: number;
  /** Wall clock (ms since epoch), for the delta journal and state. Default `Date.now`. */
  readonly clock?: () => number;
}

/** The embeddings a version is built from (the source of truth for exact search). */
export interface IndexBuildInput {
  readonly ids: readonly string[];
  /** Row-major `ids.length × dims`. */
  readonly vectors: Float32Array;
  /** Defaults to `v<n>`. */
  readonly version?: string;
  /** Probe queries for validation (e.g. logged user embeddings). Default: sampled item vectors. */
  readonly probes?: readonly Float32Array[];
  /**
   * When the embeddings were snapshotted (ms since epoch). Deltas streamed after it are replayed
   * onto the new version before validation, so nothing published or taken down meanwhile is lost.
   * Default: when the build started.
   */
  readonly snapshotAtMs?: number;
}

/** The figures of one shadow validation. */
export interface ValidationReport {
  readonly version: string;
  readonly accepted: boolean;
  /** Why it was refused (empty when accepted). */
  readonly reasons: readonly string[];
  readonly probes: number;
  readonly k: number;
  /** Mean recall@K of the new version against exact search on its own vectors. */
  readonly recall: number;
  /** Mean overlap@K with the version in service; undefined for the first version. */
  readonly overlapWithCurrent: number | undefined;
  readonly candidateSize: number;
  readonly currentSize: number | undefined;
  readonly validationMs: number;
  readonly atMs: number;
}

/** The outcome of a build or an offered version. */
export type SwapResult =
  | { readonly accepted: true; readonly version: string; readonly report: ValidationReport }
  | {
      readonly accepted: false;
      readonly version: string;
      readonly code: 'RECSPINE_ERR_ANN_SWAP_REFUSED' | 'RECSPINE_ERR_ANN_CORRUPT_FILE' | 'RECSPINE_ERR_ANN_DIMENSION';
      readonly reason: string;
      readonly report?: ValidationReport;
    };

/** How the last build ran (before its validation). */
export interface BuildReport {
  readonly version: string;
  readonly buildIn: 'main' | 'worker';
  /** Wall time from the start of the build to a loaded index, before replay and validation. */
  readonly buildMs: number;
  /** Worker builds: main-thread time of loading the built version (checksums + one native load). */
  readonly loadMs?: number;
  /** Worker builds: the build thread's nice value (19 on Linux); absent where it could not be lowered. */
  readonly workerNice?: number;
  readonly atMs: number;
}

/** What {@link IndexManager.state} reports, for metrics and dashboards. */
export interface IndexManagerState {
  readonly version: string | undefined;
  readonly previousVersion: string | undefined;
  readonly size: number;
  readonly building: boolean;
  /** Deltas (upserts + removals) applied since the version in service was swapped in. */
  readonly deltaCount: number;
  readonly deltasTotal: number;
  readonly swaps: number;
  readonly refusals: number;
  readonly rollbacks: number;
  readonly lastValidation: ValidationReport | undefined;
  readonly lastRefusal: { readonly version: string; readonly code: string; readonly reason: string; readonly atMs: number } | undefined;
  readonly lastBuild: BuildReport | undefined;
}

type Delta = { readonly atMs: number; readonly itemId: string; readonly vector: Float32Array | undefined };

/** Validation's probes with their exact top-K input rows, when computed elsewhere (the build worker). */
type Truth = { readonly probes: readonly Float32Array[]; readonly rows: readonly (readonly number[])[] };

/** The index a spec describes, with the manager's dims and metric. Throws `RECSPINE_ERR_ANN_CONFIG`. */
function fromSpec(spec: AnnBuildSpec, dims: number, metric: AnnMetric): UsearchIndex | HnswlibIndex {
  if (spec.backend === 'usearch') {
    const { backend: _b, ...o } = spec;
    return new UsearchIndex({ ...o, dims, metric });
  }
  if (spec.backend === 'hnswlib') {
    const { backend: _b, ...o } = spec;
    return new HnswlibIndex({ ...o, dims, metric });
  }
  throw RetrievalErrors.create(
    'RECSPINE_ERR_ANN_CONFIG',
    `spec.backend must be 'usearch' or 'hnswlib', got ${String((spec as { backend?: unknown }).backend)}`,
    { stage: STAGE, field: 'spec.backend' },
  );
}

/** What the worker needs, resolved by the backend class itself (so the saved manifest matches its `save`). */
function workerSpec(spec: AnnBuildSpec, dims: number, metric: AnnMetric): WorkerSpec {
  const index = fromSpec(spec, dims, metric);
  // `options()` is what the class writes into a manifest; asked of the class, not re-derived here.
  const options = (index as unknown as { options(): Record<string, number> }).options();
  const buildThreads = spec.backend === 'usearch' ? (spec.buildThreads ?? 1) : 1;
  return {
    backend: spec.backend,
    quantization: index.quantization,
    options,
    buildThreads,
    seed: spec.backend === 'hnswlib' ? (spec.seed ?? 100) : 0,
    buildOrder: index.buildOrder,
    // The order's scans use as many threads as the inserts (1 in a worker unless asked).
    localityOrder: { threads: buildThreads, ...spec.localityOrder },
  };
}

interface Version {
  readonly name: string;
  readonly index: AnnIndex;
}

/**
 * Owns the ANN index's lifecycle: builds new versions off the request path, validates them in
 * shadow against exact search and against the version in service, swaps atomically, keeps the
 * previous version for a one-call rollback, and streams delta upserts/removals into the serving
 * index between rebuilds. It is itself an {@link AnnSearcher}: sources query it, and always get the
 * version in service.
 *
 * Invariants:
 * - a search runs entirely against one version (searches are synchronous and the swap is one
 *   reference assignment), so no request ever sees a half-built index;
 * - a version is served only after it passed validation; a refused or corrupt one never replaces
 *   the current one, and `state().lastRefusal` says why;
 * - deltas go to the serving and the previous version (so rollback loses nothing) and to a journal
 *   replayed onto a version being built;
 * - at most one build or swap runs at a time (`RECSPINE_ERR_ANN_BUSY`);
 * - a worker build that crashes, errs or times out is a refusal; it never touches the serving version.
 *
 * @example
 * ```ts
 * // builds on a low-priority worker thread (spec: the backend as data); `create` builds on the serving thread
 * const manager = new IndexManager({ dims: 64, metric: 'cos', spec: { backend: 'usearch', quantization: 'f16' } });
 * await manager.rebuild({ ids, vectors });                      // first version
 * const r = await manager.rebuild({ ids, vectors: nightly });   // later: validated, swapped or refused
 * if (!r.accepted) log.warn(r.reason);
 * manager.upsert('new-video', vec);                             // visible to the next search
 * manager.rollback();                                           // back to the previous version
 * ```
 */
export class IndexManager implements AnnSearcher {
  readonly dims: number;
  readonly metric: AnnMetric;
  private readonly opts: IndexManagerOptions;
  private readonly v: Required<Omit<ValidationOptions, 'seed'>> & { seed: number };
  private serving: Version | undefined;
  private previous: Version | undefined;
  private busy = false;
  private journal: Delta[] = [];
  private counter = 0;
  private deltaCount = 0;
  private deltasTotal = 0;
  private swaps = 0;
  private refusals = 0;
  private rollbacks = 0;
  private lastValidation: ValidationReport | undefined;
  private lastRefusal: IndexManagerState['lastRefusal'];
  private lastBuild: BuildReport | undefined;
  private readonly create: () => AnnIndex;
  private readonly buildIn: 'main' | 'worker';
  private readonly workerSpec: WorkerSpec | undefined;
  private readonly listeners: ((version: string, index: AnnIndex) => void)[] = [];
  private readonly clock: () => number;

  constructor(options: IndexManagerOptions) {
    if (!Number.isInteger(options.dims) || options.dims <= 0) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `dims must be a positive integer, got ${String(options.dims)}`, {
        stage: STAGE,
        field: 'dims',
      });
    }
    const v = options.validation ?? {};
    this.v = {
      k: v.k ?? 100,
      probes: v.probes ?? 50,
      minRecall: v.minRecall ?? 0.9,
      minOverlap: v.minOverlap ?? 0.5,
      minSizeRatio: v.minSizeRatio ?? 0.9,
      sliceRows: v.sliceRows ?? 65_536,
      seed: v.seed ?? 1,
    };
    for (const [f, x] of Object.entries(this.v)) {
      if (!Number.isFinite(x) || x < 0) {
        throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `validation.${f} must be a non-negative number`, {
          stage: STAGE,
          field: `validation.${f}`,
        });
      }
    }
    this.dims = options.dims;
    this.metric = options.metric;
    this.opts = options;
    this.clock = options.clock ?? Date.now;
    const { spec, create } = options;
    this.buildIn = options.buildIn ?? (spec === undefined ? 'main' : 'worker');
    if (this.buildIn !== 'main' && this.buildIn !== 'worker') {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `buildIn must be 'main' or 'worker', got ${String(this.buildIn)}`, {
        stage: STAGE,
        field: 'buildIn',
      });
    }
    if (spec === undefined && (create === undefined || this.buildIn === 'worker')) {
      throw RetrievalErrors.create(
        'RECSPINE_ERR_ANN_CONFIG',
        this.buildIn === 'worker' ? "buildIn 'worker' needs a spec (create() cannot cross threads)" : 'create or spec is needed',
        { stage: STAGE, field: 'spec' },
      );
    }
    // Validates the spec now (RECSPINE_ERR_ANN_CONFIG), not at the first rebuild.
    this.workerSpec = spec === undefined ? undefined : workerSpec(spec, options.dims, options.metric);
    this.create = create ?? (() => fromSpec(spec as AnnBuildSpec, options.dims, options.metric));
    const timeout = options.worker?.timeoutMs;
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `worker.timeoutMs must be a positive number, got ${String(timeout)}`, {
        stage: STAGE,
        field: 'worker.timeoutMs',
      });
    }
  }

  /** The version in service, or undefined before the first swap. */
  get version(): string | undefined {
    return this.serving?.name;
  }

  /** The index in service. Throws `RECSPINE_ERR_ANN_NO_INDEX` before the first swap. */
  current(): AnnIndex {
    const s = this.serving;
    if (s === undefined) throw RetrievalErrors.create('RECSPINE_ERR_ANN_NO_INDEX', 'no index version in service yet', { stage: STAGE });
    return s.index;
  }

  search(query: Float32Array, k: number, options?: AnnSearchOptions): readonly AnnHit[] {
    return this.current().search(query, k, options);
  }

  /** Called after every swap and rollback with the version now in service (e.g. to reload a worker pool). */
  onSwap(listener: (version: string, index: AnnIndex) => void): void {
    this.listeners.push(listener);
  }

  /** Upserts one item into the serving (and previous) version, and journals it for a build in progress. */
  upsert(itemId: string, vector: Float32Array): void {
    checkVector(vector, this.dims, STAGE);
    const copy = Float32Array.from(vector);
    this.current().upsert(itemId, copy);
    this.previous?.index.upsert(itemId, copy);
    this.record({ atMs: this.clock(), itemId, vector: copy });
  }

  /** Removes a taken-down item. Throws `RECSPINE_ERR_ANN_UNKNOWN_ITEM` if the serving version lacks it. */
  remove(itemId: string): void {
    this.current().remove(itemId);
    if (this.previous?.index.has(itemId) === true) this.previous.index.remove(itemId);
    this.record({ atMs: this.clock(), itemId, vector: undefined });
  }

  private record(d: Delta): void {
    this.journal.push(d);
    this.deltaCount++;
    this.deltasTotal++;
  }

  /**
   * Builds a new version from `input`, replays the deltas streamed since the snapshot, validates
   * it in shadow, and swaps it in if it passes. Returns the outcome; a refusal is not an exception.
   *
   * - `buildIn: 'worker'`: inserts, validation's exact scans and the save run on a low-priority
   *   worker thread; the serving thread loads the result and runs the probe searches. A worker
   *   crash, error or timeout, or an unloadable result, is a refusal (`RECSPINE_ERR_ANN_SWAP_REFUSED`
   *   / `RECSPINE_ERR_ANN_CORRUPT_FILE`); its temporary directory is removed.
   * - `buildIn: 'main'`: inserts in `buildChunk` slices on the serving thread, yielding between them.
   *
   * Bad input (wrong shape, NaN, bad or duplicate ids) throws a coded error in both modes.
   */
  async rebuild(input: IndexBuildInput): Promise<SwapResult> {
    this.enter();
    try {
      const startedAt = this.clock();
      const version = input.version ?? `v${++this.counter}`;
      const n = input.ids.length;
      // Shape only: each slice's values are checked as it is inserted, so a 1M-row input is not
      // scanned in one blocking pass. A bad value fails the build; the serving version is untouched.
      if (input.vectors.length !== n * this.dims) {
        throw RetrievalErrors.create(
          'RECSPINE_ERR_ANN_DIMENSION',
          `input.vectors: expected ${n}×${this.dims} values, got ${input.vectors.length}`,
          {
            stage: STAGE,
            field: 'input.vectors',
          },
        );
      }
      const t0 = performance.now();
      if (this.buildIn === 'worker' && n > 0) return await this.rebuildInWorker(version, input, startedAt, t0);
      const index = this.create();
      if (index.dims !== this.dims)
        return this.refuse(version, 'RECSPINE_ERR_ANN_DIMENSION', `create() made a ${index.dims}-d index, expected ${this.dims}`);
      const chunk = this.opts.buildChunk ?? 2000;
      // `locality`: the whole input is ordered once (yielding between slices), then inserted slice
      // by slice in that order; the index must not reorder each slice again.
      const order =
        index instanceof BaseAnnIndex && index.buildOrder === 'locality' && n >= LOCALITY_MIN_ROWS
          ? await localityOrderAsync(input.vectors, this.dims, index.metric, index.localityOptions)
          : undefined;
      for (let off = 0; off < n; off += chunk) {
        const end = Math.min(n, off + chunk);
        if (order === undefined) index.upsertBatch(input.ids.slice(off, end), input.vectors.subarray(off * this.dims, end * this.dims));
        else {
          const slice = permuteRows(input.ids, input.vectors, this.dims, order.subarray(off, end));
          (index as BaseAnnIndex).upsertBatchAsGiven(slice.ids, slice.vectors);
        }
        await nextTurn();
      }
      this.lastBuild = { version, buildIn: 'main', buildMs: performance.now() - t0, atMs: this.clock() };
      return await this.validateAndSwap(version, index, input, input.snapshotAtMs ?? startedAt);
    } finally {
      this.busy = false;
    }
  }

  private async rebuildInWorker(version: string, input: IndexBuildInput, startedAt: number, t0: number): Promise<SwapResult> {
    const n = input.ids.length;
    const probes = input.probes ?? this.sampleProbes(input.vectors, n);
    for (const p of probes) checkVector(p, this.dims, STAGE, 'probe');
    const w = this.opts.worker ?? {};
    const spec = this.workerSpec as WorkerSpec;
    let built;
    try {
      built = await buildOffThread({
        spec,
        dims: this.dims,
        metric: this.metric,
        ids: input.ids,
        vectors: input.vectors,
        probes,
        k: Math.max(1, Math.min(this.v.k, n)),
        sliceRows: Math.max(1, this.v.sliceRows),
        timeoutMs: w.timeoutMs ?? 30 * 60_000,
        tmpDir: w.tmpDir,
        lowPriority: w.lowPriority ?? true,
        resourceLimits: w.resourceLimits,
        locality:
          spec.buildOrder === 'locality' && n >= LOCALITY_MIN_ROWS
            ? { metric: groupingMetric(this.metric), params: localityParams(n, spec.localityOrder) }
            : undefined,
      });
    } catch (e) {
      if (e instanceof OffThreadBuildFailure) return this.refuse(version, e.code, e.message);
      throw e;
    }
    this.lastBuild = {
      version,
      buildIn: 'worker',
      buildMs: performance.now() - t0,
      loadMs: built.loadMs,
      ...(built.workerNice === undefined ? {} : { workerNice: built.workerNice }),
      atMs: this.clock(),
    };
    return this.validateAndSwap(version, built.index, input, input.snapshotAtMs ?? startedAt, { probes, rows: built.truth });
  }

  /**
   * Offers a pre-built version (e.g. built by an offline job) with the embeddings it was built from.
   * Validated and swapped exactly like {@link rebuild}.
   */
  async offer(index: AnnIndex, input: IndexBuildInput): Promise<SwapResult> {
    this.enter();
    try {
      const version = input.version ?? `v${++this.counter}`;
      checkMatrix(input.vectors, this.dims, input.ids.length, STAGE, 'input.vectors');
      if (index.dims !== this.dims)
        return this.refuse(version, 'RECSPINE_ERR_ANN_DIMENSION', `offered index has ${index.dims} dims, expected ${this.dims}`);
      return await this.validateAndSwap(version, index, input, input.snapshotAtMs ?? this.clock());
    } finally {
      this.busy = false;
    }
  }

  /**
   * Loads a saved version from disk and offers it. A corrupt or truncated file is refused with
   * `RECSPINE_ERR_ANN_CORRUPT_FILE`; the version in service stays. `overrides` are the search-time
   * settings of `loadAnnIndex` (beam width, usearch rescoring).
   */
  async loadAndOffer(dir: string, input: IndexBuildInput, overrides: LoadOverrides = {}): Promise<SwapResult> {
    let index: AnnIndex;
    const version = input.version ?? `v${++this.counter}`;
    try {
      index = await loadAnnIndex(dir, overrides);
    } catch (e) {
      const code =
        (e as { code?: string }).code === 'RECSPINE_ERR_ANN_CORRUPT_FILE'
          ? 'RECSPINE_ERR_ANN_CORRUPT_FILE'
          : 'RECSPINE_ERR_ANN_SWAP_REFUSED';
      return this.refuse(version, code, (e as Error).message);
    }
    return this.offer(index, { ...input, version });
  }

  /** Swaps the previous version back in (one assignment). Throws `RECSPINE_ERR_ANN_NO_ROLLBACK` if none is kept. */
  rollback(): string {
    const prev = this.previous;
    if (prev === undefined || this.busy) {
      throw RetrievalErrors.create(
        this.busy ? 'RECSPINE_ERR_ANN_BUSY' : 'RECSPINE_ERR_ANN_NO_ROLLBACK',
        this.busy ? 'a build or swap is in progress' : 'no previous version to roll back to',
        { stage: STAGE },
      );
    }
    this.serving = prev;
    this.previous = undefined;
    this.rollbacks++;
    this.deltaCount = 0;
    for (const l of this.listeners) l(prev.name, prev.index);
    return prev.name;
  }

  state(): IndexManagerState {
    return {
      version: this.serving?.name,
      previousVersion: this.previous?.name,
      size: this.serving?.index.size ?? 0,
      building: this.busy,
      deltaCount: this.deltaCount,
      deltasTotal: this.deltasTotal,
      swaps: this.swaps,
      refusals: this.refusals,
      rollbacks: this.rollbacks,
      lastValidation: this.lastValidation,
      lastRefusal: this.lastRefusal,
      lastBuild: this.lastBuild,
    };
  }

  private enter(): void {
    if (this.busy) throw RetrievalErrors.create('RECSPINE_ERR_ANN_BUSY', 'a build or swap is already in progress', { stage: STAGE });
    this.busy = true;
  }

  private refuse(
    version: string,
    code: Extract<SwapResult, { accepted: false }>['code'],
    reason: string,
    report?: ValidationReport,
  ): SwapResult {
    this.refusals++;
    this.lastRefusal = { version, code, reason, atMs: this.clock() };
    return { accepted: false, version, code, reason, ...(report === undefined ? {} : { report }) };
  }

  private async validateAndSwap(
    version: string,
    index: AnnIndex,
    input: IndexBuildInput,
    snapshotAtMs: number,
    truth?: Truth,
  ): Promise<SwapResult> {
    // Replay deltas streamed since the snapshot (published / taken down meanwhile).
    let removed = 0;
    for (const d of this.journal) {
      if (d.atMs < snapshotAtMs) continue;
      if (d.vector !== undefined) index.upsert(d.itemId, d.vector);
      else if (index.has(d.itemId)) {
        index.remove(d.itemId);
        removed++;
      }
    }
    const report = await this.validate(version, index, input, removed, truth);
    this.lastValidation = report;
    if (!report.accepted) return this.refuse(version, 'RECSPINE_ERR_ANN_SWAP_REFUSED', report.reasons.join('; '), report);
    // The swap: one assignment. Searches are synchronous, so each runs wholly on one version.
    this.previous = this.serving;
    this.serving = { name: version, index };
    this.swaps++;
    this.deltaCount = 0;
    this.journal = this.journal.filter((d) => d.atMs >= snapshotAtMs);
    for (const l of this.listeners) l(version, index);
    return { accepted: true, version, report };
  }

  private async validate(
    version: string,
    index: AnnIndex,
    input: IndexBuildInput,
    removed: number,
    pre?: Truth,
  ): Promise<ValidationReport> {
    const t0 = performance.now();
    const d = this.dims;
    const n = input.ids.length;
    const reasons: string[] = [];
    const k = Math.max(1, Math.min(this.v.k, n));
    const probes = pre?.probes ?? input.probes ?? this.sampleProbes(input.vectors, n);
    for (const p of probes) checkVector(p, d, STAGE, 'probe');
    const cur = this.serving?.index;
    let recallSum = 0;
    let overlapSum = 0;
    for (let i = 0; i < probes.length; i++) {
      const p = probes[i] as Float32Array;
      // The exact scan: done by the build worker (worker builds), else sliced here.
      const truthRows = pre?.rows[i] ?? (await exactTopKSliced(input.vectors, d, this.metric, p, k, this.v.sliceRows, () => nextTurn()));
      const truth = new Set(truthRows.map((r) => input.ids[r] as string));
      const got = index.search(p, k);
      let hit = 0;
      for (const h of got) if (truth.has(h.itemId)) hit++;
      recallSum += hit / truth.size;
      if (cur !== undefined && cur.size > 0) {
        const old = new Set(cur.search(p, Math.min(k, cur.size)).map((h) => h.itemId));
        let same = 0;
        for (const h of got) if (old.has(h.itemId)) same++;
        overlapSum += same / Math.max(1, Math.min(k, old.size));
      }
      await nextTurn();
    }
    const np = Math.max(1, probes.length);
    const recall = probes.length === 0 ? 0 : recallSum / np;
    const overlap = cur === undefined || cur.size === 0 ? undefined : overlapSum / np;
    if (n === 0) reasons.push('the build has no items');
    // A half-built or truncated index (e.g. an offline job that died) lacks input items.
    if (index.size < n - removed) reasons.push(`index holds ${index.size} of ${n - removed} expected items`);
    if (recall < this.v.minRecall) reasons.push(`recall@${k} ${recall.toFixed(3)} < ${this.v.minRecall}`);
    if (overlap !== undefined && overlap < this.v.minOverlap) {
      reasons.push(`overlap@${k} with ${this.serving?.name ?? 'current'} ${overlap.toFixed(3)} < ${this.v.minOverlap}`);
    }
    if (cur !== undefined && index.size < cur.size * this.v.minSizeRatio) {
      reasons.push(`size ${index.size} < ${this.v.minSizeRatio} × current ${cur.size}`);
    }
    return {
      version,
      accepted: reasons.length === 0,
      reasons,
      probes: probes.length,
      k,
      recall,
      overlapWithCurrent: overlap,
      candidateSize: index.size,
      currentSize: cur?.size,
      validationMs: performance.now() - t0,
      atMs: this.clock(),
    };
  }

  private sampleProbes(vectors: Float32Array, n: number): Float32Array[] {
    const out: Float32Array[] = [];
    if (n === 0) return out;
    let s = this.v.seed >>> 0;
    const count = Math.min(this.v.probes, n);
    for (let i = 0; i < count; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const row = s % n;
      out.push(vectors.slice(row * this.dims, (row + 1) * this.dims));
    }
    return out;
  }
}
