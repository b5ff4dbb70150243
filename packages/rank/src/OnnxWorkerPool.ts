import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RankErrors } from './errors.js';
import type { ModelBackend, RawTensor, ValueInfo } from './internal/backend.js';
import { WORKER_SCRIPT } from './internal/workerScript.js';

/** Options of {@link OnnxWorkerPool}. */
export interface OnnxWorkerPoolOptions {
  /** Number of worker threads. Default: `max(1, cpus - 1)`, capped at 4. */
  readonly size?: number;
  /** Absolute path of onnxruntime-node's entry; resolved from this package when absent. */
  readonly ortModulePath?: string;
}

interface Pending {
  resolve(v: Reply): void;
  reject(e: unknown): void;
}

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly message?: string;
  readonly inputs?: ValueInfo[];
  readonly outputs?: Record<string, RawTensor> | ValueInfo[];
  readonly computeMs?: number;
}

interface Slot {
  worker: Worker;
  /** Resolves once every registered model is loaded in this worker (after a respawn). */
  ready: Promise<void>;
  readonly pending: Map<number, Pending>;
}

interface Registered {
  readonly bytes: Uint8Array;
  readonly options: Record<string, unknown>;
}

/**
 * A pool of worker threads that run onnxruntime sessions off the main thread.
 *
 * Why: `session.run` in onnxruntime-node computes synchronously on the calling thread (inside a
 * `setImmediate`), so on the main thread every fine-rank run blocks the event loop for its whole
 * duration and every other request's I/O callbacks wait behind it. In the pool the main thread only
 * copies the input tensor into a message (≈ 80 KB for 200 × 100 float32) and the event loop stays
 * free while the model computes. The price is a thread hop and a copy each way (tens of µs) per run;
 * see the package README for the measured trade-off.
 *
 * Contract: every model loaded through the pool is loaded in every worker; a run goes to the worker
 * with the fewest runs in flight. A worker that dies fails its in-flight runs with
 * `RECSPINE_ERR_RANK_WORKER` and is respawned with every model reloaded. Workers are `unref`'d while
 * idle, so an idle pool does not keep the process alive; call {@link OnnxWorkerPool.close} anyway.
 *
 * @example
 * ```ts
 * const pool = new OnnxWorkerPool({ size: 1 });
 * const model = await OnnxModel.load('fine.onnx', spec, { pool });
 * // ... serve ...
 * await model.release();
 * await pool.close();
 * ```
 */
export class OnnxWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly models = new Map<number, Registered>();
  private readonly ortPath: string;
  private nextId = 1;
  private nextModel = 1;
  private closed = false;
  private restartCount = 0;
  private inFlightCount = 0;

  constructor(options: OnnxWorkerPoolOptions = {}) {
    const size = options.size ?? Math.min(4, Math.max(1, cpus().length - 1));
    if (!Number.isInteger(size) || size < 1 || size > 64) {
      throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `pool size must be an integer in 1..64, got ${size}`, { field: 'size' });
    }
    this.ortPath = options.ortModulePath ?? createRequire(import.meta.url).resolve('onnxruntime-node');
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Number of worker threads. */
  get size(): number {
    return this.slots.length;
  }

  /** Runs currently in flight across all workers. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** How many workers died and were respawned. */
  get restarts(): number {
    return this.restartCount;
  }

  /**
   * Terminates one worker on purpose (ops: recycle a worker; tests: simulate a crash). Its in-flight
   * runs fail with `RECSPINE_ERR_RANK_WORKER`; a replacement is spawned with every model reloaded.
   */
  async recycleWorker(index: number): Promise<void> {
    const slot = this.slots[index];
    if (slot === undefined) throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `no worker ${index}`, { field: 'index' });
    await slot.worker.terminate();
  }

  /** Stops every worker. In-flight runs fail with `RECSPINE_ERR_RANK_WORKER`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /**
   * Loads a model into every worker and returns a backend that runs it in the pool.
   * @internal used by `OnnxModel.load`.
   */
  async loadModel(bytes: Uint8Array, options: Record<string, unknown>): Promise<ModelBackend> {
    if (this.closed) throw RankErrors.create('RECSPINE_ERR_RANK_WORKER', 'the worker pool is closed');
    const modelId = this.nextModel++;
    this.models.set(modelId, { bytes, options });
    let replies: Reply[];
    try {
      replies = await Promise.all(this.slots.map((s) => s.ready.then(() => this.call(s, { t: 'load', modelId, bytes, options }))));
    } catch (e) {
      this.models.delete(modelId);
      await Promise.allSettled(this.slots.map((s) => this.call(s, { t: 'unload', modelId })));
      throw e;
    }
    const first = replies[0] as Reply;
    return {
      inputs: first.inputs ?? [],
      outputs: (first.outputs as ValueInfo[] | undefined) ?? [],
      run: (feeds, fetch) => this.run(modelId, feeds, fetch),
      release: async () => {
        this.models.delete(modelId);
        await Promise.allSettled(this.slots.map((s) => this.call(s, { t: 'unload', modelId })));
      },
    };
  }

  private async run(
    modelId: number,
    feeds: Readonly<Record<string, RawTensor>>,
    fetch: readonly string[],
  ): Promise<Record<string, RawTensor>> {
    if (this.closed) throw RankErrors.create('RECSPINE_ERR_RANK_WORKER', 'the worker pool is closed');
    let slot = this.slots[0] as Slot;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    // Copy the inputs (callers reuse their buffers) and transfer the copies: one copy, no clone.
    const msgFeeds: Record<string, RawTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      const data = t.data.slice();
      transfer.push(data.buffer as ArrayBuffer);
      msgFeeds[name] = { type: t.type, data, dims: t.dims };
    }
    await slot.ready;
    const reply = await this.call(slot, { t: 'run', modelId, feeds: msgFeeds, fetch }, transfer);
    return reply.outputs as Record<string, RawTensor>;
  }

  private call(slot: Slot, msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.closed && msg.t !== 'unload')
      return Promise.reject(RankErrors.create('RECSPINE_ERR_RANK_WORKER', 'the worker pool is closed'));
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (this.inFlightCount++ === 0) for (const s of this.slots) s.worker.ref();
      slot.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private settle(slot: Slot, id: number): Pending | undefined {
    const p = slot.pending.get(id);
    if (p === undefined) return undefined;
    slot.pending.delete(id);
    if (--this.inFlightCount === 0) for (const s of this.slots) s.worker.unref();
    return p;
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { ortPath: this.ortPath } });
    worker.unref();
    const slot: Slot = { worker, ready: Promise.resolve(), pending: new Map() };
    worker.on('message', (reply: Reply) => {
      const p = this.settle(slot, reply.id);
      if (p === undefined) return;
      if (reply.ok) p.resolve(reply);
      else
        p.reject(RankErrors.create('RECSPINE_ERR_RANK_INFERENCE', `worker: ${reply.message ?? 'unknown error'}`, { cause: reply.message }));
    });
    worker.on('error', () => {
      // 'exit' follows; failing the in-flight runs happens there.
    });
    worker.on('exit', (code) => {
      for (const id of [...slot.pending.keys()]) {
        this.settle(slot, id)?.reject(
          RankErrors.create('RECSPINE_ERR_RANK_WORKER', `inference worker exited (code ${code}) with the run in flight`),
        );
      }
      if (this.closed) return;
      this.restartCount++;
      const idx = this.slots.indexOf(slot);
      const fresh = this.spawn();
      fresh.ready = Promise.all(
        [...this.models].map(([modelId, m]) => this.call(fresh, { t: 'load', modelId, bytes: m.bytes, options: m.options })),
      ).then(() => undefined);
      // A failed reload is reported on the next run through this slot.
      fresh.ready.catch(() => undefined);
      if (idx >= 0) this.slots[idx] = fresh;
    });
    return slot;
  }
}
