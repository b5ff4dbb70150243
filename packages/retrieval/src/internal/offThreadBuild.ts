import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { AnnIndex, AnnMetric } from '../AnnIndex.js';
import { RetrievalErrors } from '../errors.js';
import { HnswlibIndex } from '../HnswlibIndex.js';
import { UsearchIndex } from '../UsearchIndex.js';
import { BUILD_WORKER_SOURCE } from './buildWorkerSource.js';
import { IdMap } from './IdMap.js';
import type { LocalityOrderOptions } from '../localityOrder.js';
import type { LocalityParams } from './localityOrderCore.js';
import { FORMAT, type FileEntry, type Manifest, sha256File } from './persist.js';

const STAGE = 'retrieval/ann/manager';

/** What the worker needs to build the same index a backend class would (resolved by the manager). */
export interface WorkerSpec {
  readonly backend: 'usearch' | 'hnswlib';
  readonly quantization: 'f32' | 'f16' | 'i8';
  /** Exactly what the backend class saves in its manifest (connectivity, expansionAdd, expansionSearch, maxK). */
  readonly options: Readonly<Record<string, number>>;
  /** usearch: native insert threads (0 = all cores). */
  readonly buildThreads: number;
  /** hnswlib: level generator seed. */
  readonly seed: number;
  /** Insertion order of the build; `locality` tuning (threads resolved for the worker). */
  readonly buildOrder: 'input' | 'locality';
  readonly localityOrder: LocalityOrderOptions | undefined;
}

export interface OffThreadBuildRequest {
  readonly spec: WorkerSpec;
  readonly dims: number;
  readonly metric: AnnMetric;
  readonly ids: readonly string[];
  readonly vectors: Float32Array;
  readonly probes: readonly Float32Array[];
  readonly k: number;
  readonly sliceRows: number;
  readonly timeoutMs: number;
  readonly tmpDir: string | undefined;
  readonly lowPriority: boolean;
  readonly resourceLimits: ResourceLimits | undefined;
  /** `buildOrder: 'locality'`: the resolved parameters of the order the worker computes; undefined = input order. */
  readonly locality?: { readonly metric: 'cos' | 'l2sq'; readonly params: LocalityParams } | undefined;
}

/** A built and loaded version, with the exact top-K rows of each probe. */
export interface OffThreadBuildResult {
  readonly index: AnnIndex;
  /** `truth[p]`: input rows of probe p's exact top-K, best first. */
  readonly truth: readonly (readonly number[])[];
  /** The worker thread's nice value after it lowered it; undefined where that is not supported. */
  readonly workerNice: number | undefined;
  readonly workerMs: { readonly build: number; readonly truth: number; readonly save: number };
  /** The one blocking main-thread step: the native load of the built file. */
  readonly loadMs: number;
}

/** Why an off-thread build produced no index: refused, or bad input (thrown like a main-thread build). */
export class OffThreadBuildFailure extends Error {
  constructor(
    readonly code: 'RECSPINE_ERR_ANN_SWAP_REFUSED' | 'RECSPINE_ERR_ANN_CORRUPT_FILE',
    message: string,
  ) {
    super(message);
  }
}

const INPUT_CODES = new Set(['RECSPINE_ERR_ANN_NON_FINITE', 'RECSPINE_ERR_RETRIEVAL_BAD_ITEM', 'RECSPINE_ERR_ANN_DIMENSION']);
/** Floats copied into the shared buffer per event-loop turn (4 MB, ≈ 1 ms). */
const COPY_FLOATS = 1 << 20;
/** Ids cloned to the worker per message / event-loop turn. */
const ID_CHUNK = 20_000;
/** Ids entered into the new version's id map per event-loop turn. */
const ID_MAP_CHUNK = 5_000;
/** Rows per native insert call in the worker (terminate() takes effect between calls). */
const BATCH_ROWS = 4096;

function resolveNative(): { usearch: string; hnswlib: string } {
  // As AnnWorkerPool: works from the ESM build (import.meta.url) and the CJS build (__filename).
  const here = typeof __filename === 'string' ? __filename : import.meta.url;
  const req = createRequire(here);
  return { usearch: req.resolve('usearch'), hnswlib: req.resolve('hnswlib-node') };
}

/**
 * Puts the vectors where a worker can read them without another copy: a view on a
 * SharedArrayBuffer is shared as is; anything else is copied once into a new one, 4 MB per
 * event-loop turn (a plain `postMessage` would structured-clone it in one blocking call).
 */
async function shared(vectors: Float32Array): Promise<Float32Array> {
  if (vectors.buffer instanceof SharedArrayBuffer) return vectors;
  const out = new Float32Array(new SharedArrayBuffer(vectors.byteLength));
  for (let off = 0; off < vectors.length; off += COPY_FLOATS) {
    out.set(vectors.subarray(off, Math.min(vectors.length, off + COPY_FLOATS)), off);
    if (off + COPY_FLOATS < vectors.length) await nextTurn();
  }
  return out;
}

interface Done {
  t: 'done';
  size: number;
  file: FileEntry;
  truth: Int32Array;
  nice: number | null;
  buildMs: number;
  truthMs: number;
  saveMs: number;
}

/**
 * Builds one version on a low-priority worker thread, saves it to a temporary directory, loads it
 * on the calling thread and removes the directory.
 *
 * The load is `loadAnnIndex` minus its two blocking JSON steps: the file's size and SHA-256 are
 * checked against what the worker wrote (streamed, before any byte reaches the native loader, as
 * `readVerified` does), and the id map is built from the ids the caller holds (label = row, as
 * the worker keyed them) in slices of 5 000, instead of `JSON.parse` + `IdMap.fromJSON` of an
 * `ids.json` in one block (≈ 0.1–0.5 s at 200k ids on the bench box). What is left blocking is
 * the native load itself (`restore`).
 * Throws {@link OffThreadBuildFailure} for a worker crash, error, timeout or unloadable result, and
 * the worker's coded error for bad input (NaN, duplicate ids), as a main-thread build would.
 */
export async function buildOffThread(req: OffThreadBuildRequest): Promise<OffThreadBuildResult> {
  let dir: string;
  try {
    dir = await mkdtemp(join(req.tmpDir ?? tmpdir(), 'recspine-ann-build-'));
  } catch (e) {
    throw new OffThreadBuildFailure('RECSPINE_ERR_ANN_SWAP_REFUSED', `cannot create the build directory: ${(e as Error).message}`);
  }
  let worker: Worker | undefined;
  try {
    const vectors = await shared(req.vectors);
    const d = req.dims;
    const probes = new Float32Array(req.probes.length * d);
    req.probes.forEach((p, i) => probes.set(p, i * d));
    worker = new Worker(BUILD_WORKER_SOURCE, {
      eval: true,
      workerData: { ...resolveNative(), lowPriority: req.lowPriority },
      ...(req.resourceLimits === undefined ? {} : { resourceLimits: req.resourceLimits }),
    });
    const w = worker;
    const outcome = new Promise<Done>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new OffThreadBuildFailure('RECSPINE_ERR_ANN_SWAP_REFUSED', `build worker timed out after ${req.timeoutMs} ms`)),
        req.timeoutMs,
      );
      const settle = (): void => clearTimeout(timer);
      w.on('message', (m: Done | { t: 'fail'; code?: string; message: string }) => {
        settle();
        if (m.t === 'done') resolve(m);
        else if (m.code !== undefined && INPUT_CODES.has(m.code)) {
          reject(RetrievalErrors.create(m.code as 'RECSPINE_ERR_ANN_NON_FINITE', m.message, { stage: STAGE, field: 'input' }));
        } else reject(new OffThreadBuildFailure('RECSPINE_ERR_ANN_SWAP_REFUSED', `build worker failed: ${m.message}`));
      });
      w.on('error', (e) => {
        settle();
        reject(new OffThreadBuildFailure('RECSPINE_ERR_ANN_SWAP_REFUSED', `build worker crashed: ${e.message}`));
      });
      w.on('exit', (code) => {
        settle();
        reject(new OffThreadBuildFailure('RECSPINE_ERR_ANN_SWAP_REFUSED', `build worker exited with code ${code} before finishing`));
      });
    });
    // It may fail while the ids are still being sent: mark it handled now, await it below.
    outcome.catch(() => undefined);
    // The ids go over in chunks, one per turn, so no single structured clone blocks for long.
    for (let off = 0; off < req.ids.length; off += ID_CHUNK) {
      w.postMessage({ t: 'ids', ids: req.ids.slice(off, off + ID_CHUNK) });
      await nextTurn();
    }
    w.postMessage({
      t: 'build',
      spec: req.spec,
      dims: d,
      metric: req.metric,
      vectors,
      probes,
      k: req.k,
      dir,
      batchRows: BATCH_ROWS,
      sliceRows: req.sliceRows,
      locality: req.locality,
    });
    const done = await outcome;
    await w.terminate();
    const indexPath = join(dir, done.file.name);
    const bytes = await stat(indexPath).then(
      (st) => st.size,
      () => -1,
    );
    if (bytes !== done.file.bytes || (await sha256File(indexPath)) !== done.file.sha256) {
      throw new OffThreadBuildFailure(
        'RECSPINE_ERR_ANN_CORRUPT_FILE',
        `the worker-built index file is not what the worker wrote (${bytes} bytes, expected ${done.file.bytes}, or checksum mismatch)`,
      );
    }
    const idMap = new IdMap();
    for (let off = 0; off < req.ids.length; off += ID_MAP_CHUNK) {
      const end = Math.min(req.ids.length, off + ID_MAP_CHUNK);
      for (let i = off; i < end; i++) idMap.labelFor(req.ids[i] as string);
      await nextTurn();
    }
    const manifest: Manifest = {
      format: FORMAT,
      backend: req.spec.backend,
      metric: req.metric,
      quantization: req.spec.quantization,
      dims: d,
      size: done.size,
      options: req.spec.options,
      files: { index: done.file, ids: { name: 'ids', bytes: 0, sha256: '' } },
      savedAt: new Date().toISOString(),
    };
    const t0 = performance.now();
    let index: UsearchIndex | HnswlibIndex;
    try {
      // Restored with an empty id list (nothing to parse), then given the map built above.
      const none = { ids: [], dead: [] };
      index =
        req.spec.backend === 'usearch' ? UsearchIndex.restore(manifest, indexPath, none) : HnswlibIndex.restore(manifest, indexPath, none);
      index.adoptIdMap(idMap);
    } catch (e) {
      throw new OffThreadBuildFailure('RECSPINE_ERR_ANN_SWAP_REFUSED', `loading the worker-built index failed: ${(e as Error).message}`);
    }
    const loadMs = performance.now() - t0;
    if (index.size !== done.size) {
      throw new OffThreadBuildFailure(
        'RECSPINE_ERR_ANN_SWAP_REFUSED',
        `the worker built ${done.size} items, the id map holds ${index.size}`,
      );
    }
    const k = req.k;
    const truth: number[][] = [];
    for (let p = 0; p < req.probes.length; p++) {
      const rows: number[] = [];
      for (let i = 0; i < k; i++) {
        const r = done.truth[p * k + i] as number;
        if (r >= 0) rows.push(r);
      }
      truth.push(rows);
    }
    return {
      index,
      truth,
      workerNice: done.nice ?? undefined,
      workerMs: { build: done.buildMs, truth: done.truthMs, save: done.saveMs },
      loadMs,
    };
  } finally {
    // A timed-out worker stops at its next return to JS (within one insert batch); wait for it,
    // so the directory is not removed under a write in progress.
    if (worker !== undefined) await worker.terminate().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
