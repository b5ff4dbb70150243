import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { AnnHit, AnnMetric, AnnSearcher, AnnSearchOptions } from './AnnIndex.js';
import { RetrievalErrors } from './errors.js';
import { ANN_WORKER_SOURCE } from './internal/annWorkerSource.js';
import { IdMap } from './internal/IdMap.js';
import { readVerified } from './internal/persist.js';
import { checkK, checkVector } from './internal/vector.js';

const STAGE = 'retrieval/ann/worker-pool';
const MAX_K = 10_000;

/** Options of {@link AnnWorkerPool.start}. */
export interface AnnWorkerPoolOptions {
  /** A directory written by `AnnIndex.save` (usearch or hnswlib). Verified before any worker reads it. */
  readonly dir: string;
  /** Worker threads, each with its own copy of the index. Default 1. */
  readonly workers?: number;
}

interface Pending {
  resolve: (v: { labels: Float64Array; distances: Float32Array }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  inFlight: number;
  alive: boolean;
  /** Set when the worker thread has exited. */
  exited: boolean;
}

/** How long {@link stopWorker} waits for a worker to finish its queued messages before `terminate()`. */
const STOP_GRACE_MS = 2_000;

/**
 * Stops a worker after the messages it already has (a search, an add): it is asked to close its
 * port and exits once they are done. `terminate()` while the native index is inside a call can
 * abort the whole process — node-addon-api throws into the terminating environment ("terminate
 * called after throwing an instance of 'Napi::Error'", seen once in a clean-clone CI run of this
 * suite). `terminate()` stays the fallback after {@link STOP_GRACE_MS}.
 */
async function stopWorker(s: Slot): Promise<void> {
  if (s.exited) return;
  const exited = new Promise<'exited'>((r) => s.worker.once('exit', () => r('exited')));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_GRACE_MS)));
  s.worker.postMessage({ t: 'exit' });
  const how = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (how === 'late') await s.worker.terminate();
}

interface Spec {
  backend: string;
  dims: number;
  metric: AnnMetric;
  quantization: string;
  options: Readonly<Record<string, number>>;
  indexPath: string;
}

function resolveNative(): { usearch: string; hnswlib: string } {
  // Works from the ESM build (import.meta.url) and the CJS build (__filename; import.meta is empty there).
  const here = typeof __filename === 'string' ? __filename : import.meta.url;
  const req = createRequire(here);
  return { usearch: req.resolve('usearch'), hnswlib: req.resolve('hnswlib-node') };
}

/**
 * Runs ANN searches on worker threads, so a search's native time (which cannot be interrupted)
 * leaves the event loop free. Each worker loads its own copy of a saved index (memory × workers);
 * the pool keeps the id map on the main thread, forwards upserts and removals to every worker, and
 * sends each search to the least-busy worker.
 *
 * What it costs and buys (measured in the README): a message round trip (tens of µs) and a copy
 * of the index per worker; it buys an event loop that keeps serving other requests' I/O while
 * searches run, which pays under load when searches are long (large k, big index) and other work
 * shares the process. A predicate is applied on the main thread to an over-fetched result
 * (functions cannot cross threads).
 *
 * @example
 * ```ts
 * await manager.current().save(dir);
 * const pool = await AnnWorkerPool.start({ dir, workers: 1 });
 * const twoTower = new TwoTowerSource({ userFeatures, encoder, index: pool });
 * manager.onSwap(async (_v, index) => { await index.save(dir2); await pool.reload(dir2); });
 * ```
 */
export class AnnWorkerPool implements AnnSearcher {
  readonly dims: number;
  private slots: Slot[] = [];
  private idMap: IdMap = new IdMap();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private spec: Spec;

  private constructor(spec: Spec) {
    this.spec = spec;
    this.dims = spec.dims;
  }

  /** Verifies `dir`, starts the workers and waits until each has loaded the index. */
  static async start(options: AnnWorkerPoolOptions): Promise<AnnWorkerPool> {
    const n = options.workers ?? 1;
    if (!Number.isInteger(n) || n < 1) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `workers must be a positive integer, got ${String(n)}`, {
        stage: STAGE,
        field: 'workers',
      });
    }
    const { spec, idMap } = await AnnWorkerPool.read(options.dir);
    const pool = new AnnWorkerPool(spec);
    pool.idMap = idMap;
    const native = resolveNative();
    try {
      await Promise.all(Array.from({ length: n }, () => pool.spawn(native)));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private static async read(dir: string): Promise<{ spec: Spec; idMap: IdMap }> {
    const { manifest, indexPath, ids } = await readVerified(dir);
    if (manifest.backend !== 'usearch' && manifest.backend !== 'hnswlib') {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_CONFIG', `worker mode supports usearch and hnswlib, not ${manifest.backend}`, {
        stage: STAGE,
      });
    }
    const spec: Spec = {
      backend: manifest.backend,
      dims: manifest.dims,
      metric: manifest.metric,
      quantization: manifest.quantization,
      options: manifest.options,
      indexPath,
    };
    return { spec, idMap: IdMap.fromJSON(ids as { ids: string[]; dead: number[] }) };
  }

  private spawn(native: { usearch: string; hnswlib: string }): Promise<void> {
    const worker = new Worker(ANN_WORKER_SOURCE, { eval: true, workerData: native });
    const slot: Slot = { worker, inFlight: 0, alive: true, exited: false };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: { t: string; id?: number; labels?: Float64Array; distances?: Float32Array; message?: string }) => {
        if (m.t === 'ready') {
          if (!ready) {
            ready = true;
            resolve();
          }
          return;
        }
        if (m.t === 'fail' && m.id === undefined) {
          if (!ready) reject(RetrievalErrors.create('RECSPINE_ERR_ANN_WORKER', `worker failed to load: ${m.message}`, { stage: STAGE }));
          return;
        }
        const p = m.id === undefined ? undefined : this.pending.get(m.id);
        if (p === undefined) return;
        this.pending.delete(m.id as number);
        slot.inFlight--;
        if (m.t === 'result') p.resolve({ labels: m.labels as Float64Array, distances: m.distances as Float32Array });
        else p.reject(RetrievalErrors.create('RECSPINE_ERR_ANN_WORKER', `worker search failed: ${m.message}`, { stage: STAGE }));
      });
      const die = (why: string, cause?: unknown): void => {
        if (!slot.alive) return;
        slot.alive = false;
        this.slots = this.slots.filter((s) => s !== slot);
        const err = RetrievalErrors.create('RECSPINE_ERR_ANN_WORKER', why, { stage: STAGE, cause });
        if (!ready) reject(err);
        // Reject only this worker's requests: they carry its tag.
        for (const [id, p] of this.pending) {
          if ((p as Pending & { slot?: Slot }).slot === slot) {
            this.pending.delete(id);
            p.reject(err);
          }
        }
      };
      worker.on('error', (e) => die(`worker error: ${e.message}`, e));
      worker.on('exit', (code) => {
        slot.exited = true;
        die(`worker exited with code ${code}`);
      });
      worker.postMessage({ t: 'load', spec: this.spec });
    });
  }

  get workers(): number {
    return this.slots.length;
  }

  get size(): number {
    return this.idMap.liveCount;
  }

  async search(query: Float32Array, k: number, options?: AnnSearchOptions): Promise<AnnHit[]> {
    checkK(k, MAX_K, STAGE);
    checkVector(query, this.dims, STAGE, 'query');
    const total = this.idMap.liveCount;
    if (total === 0) return [];
    const want = Math.min(k, total);
    const predicate = options?.predicate;
    if (predicate === undefined) return this.run(query, want);
    let n = Math.min(total, Math.max(want * 4, want + 64));
    for (;;) {
      const out = (await this.run(query, n)).filter((h) => predicate(h.itemId));
      if (out.length >= want || n >= total) return out.slice(0, want);
      n = Math.min(total, n * 4);
    }
  }

  private async run(query: Float32Array, k: number): Promise<AnnHit[]> {
    if (this.closed) throw RetrievalErrors.create('RECSPINE_ERR_ANN_WORKER', 'the worker pool is closed', { stage: STAGE });
    let slot: Slot | undefined;
    for (const s of this.slots) if (s.alive && (slot === undefined || s.inFlight < slot.inFlight)) slot = s;
    if (slot === undefined) throw RetrievalErrors.create('RECSPINE_ERR_ANN_WORKER', 'no live search worker', { stage: STAGE });
    const id = this.nextId++;
    slot.inFlight++;
    const r = await new Promise<{ labels: Float64Array; distances: Float32Array }>((resolve, reject) => {
      this.pending.set(id, Object.assign({ resolve, reject }, { slot }));
      (slot as Slot).worker.postMessage({ t: 'search', id, q: query, k });
    });
    const labels = this.idMap.labels;
    const out: AnnHit[] = [];
    for (let i = 0; i < r.labels.length; i++) {
      const l = r.labels[i] as number;
      const itemId = labels[l];
      if (itemId === undefined || !this.idMap.isLive(l)) continue;
      out.push({ itemId, score: 1 - (r.distances[i] as number) });
    }
    return out;
  }

  /** Inserts or replaces an item in every worker's copy. */
  upsert(itemId: string, vector: Float32Array): void {
    checkVector(vector, this.dims, STAGE);
    if (typeof itemId !== 'string' || itemId.length === 0) {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', 'item ids must be non-empty strings', {
        stage: STAGE,
        field: 'itemId',
      });
    }
    const replace = this.idMap.hasLive(itemId);
    const label = this.idMap.labelFor(itemId);
    for (const s of this.slots) s.worker.postMessage({ t: 'add', label, v: vector, replace });
  }

  /** Removes an item from every worker's copy. Throws `RECSPINE_ERR_ANN_UNKNOWN_ITEM` if it is not live. */
  remove(itemId: string): void {
    const label = this.idMap.get(itemId);
    if (label === undefined || !this.idMap.isLive(label)) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_UNKNOWN_ITEM', `item ${itemId} is not in the index`, {
        stage: STAGE,
        field: 'itemId',
      });
    }
    this.idMap.kill(label);
    for (const s of this.slots) s.worker.postMessage({ t: 'remove', label });
  }

  /**
   * Loads another saved version into fresh workers, then retires the old ones once their in-flight
   * searches finished. A corrupt directory is refused (`RECSPINE_ERR_ANN_CORRUPT_FILE`) and the old
   * workers keep serving.
   */
  async reload(dir: string): Promise<void> {
    const { spec, idMap } = await AnnWorkerPool.read(dir);
    if (spec.dims !== this.dims) {
      throw RetrievalErrors.create('RECSPINE_ERR_ANN_DIMENSION', `reload: ${spec.dims} dims, pool serves ${this.dims}`, { stage: STAGE });
    }
    const old = this.slots;
    const count = Math.max(1, old.length);
    this.slots = [];
    const prevSpec = this.spec;
    this.spec = spec;
    const native = resolveNative();
    try {
      await Promise.all(Array.from({ length: count }, () => this.spawn(native)));
    } catch (e) {
      for (const s of this.slots) await stopWorker(s);
      this.slots = old;
      this.spec = prevSpec;
      throw e;
    }
    this.idMap = idMap;
    for (const s of old) void this.retire(s);
  }

  private async retire(s: Slot): Promise<void> {
    while (s.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    s.alive = false;
    await stopWorker(s);
  }

  /** Stops every worker; later searches reject with `RECSPINE_ERR_ANN_WORKER`. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    for (const s of slots) s.alive = false;
    await Promise.all(slots.map(stopWorker));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(RetrievalErrors.create('RECSPINE_ERR_ANN_WORKER', 'the worker pool was closed', { stage: STAGE }));
    }
  }
}
