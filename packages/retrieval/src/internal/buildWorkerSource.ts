/**
 * The index-build worker's code, run with `new Worker(src, { eval: true })` like the search
 * worker (`annWorkerSource.ts`): no worker file to locate, so it works the same from the ESM and
 * CJS builds and from the TypeScript sources. Plain CommonJS; the native modules' resolved paths
 * come in `workerData`.
 *
 * It builds one index version with the real native library (the same calls and options as
 * `UsearchIndex` / `HnswlibIndex`; label = input row), computes validation's exact top-K truth for
 * the probes, and saves the native file `index.bin` with its size and SHA-256 into the directory
 * it is given. The main thread checks both before the native loader reads a byte (a file that is
 * not what the worker wrote is refused, not loaded), and builds the id map itself from the ids it
 * already holds (label = row), in slices, instead of parsing them back from JSON in one block.
 *
 * First thing, the worker lowers its own scheduling priority (Linux: nice 19 on its thread id,
 * read from /proc/thread-self/stat, field 1). On Linux `setpriority(PRIO_PROCESS, tid)` changes
 * only that thread and the threads it creates afterwards (usearch's insert threads), not the
 * process: the serving thread keeps its priority. Elsewhere (no /proc) it silently stays as is.
 *
 * Messages in:  { t: 'ids', ids: string[] } … (chunks, in row order), then
 *               { t: 'build', spec, dims, metric, vectors: Float32Array (usually on a SharedArrayBuffer),
 *                 probes: Float32Array (p × dims), k, dir, batchRows, sliceRows,
 *                 locality?: { metric, params } (buildOrder 'locality': insert in that order, keys stay input rows) }
 * Messages out: { t: 'done', size, file: { name, bytes, sha256 }, truth: Int32Array (p × k rows, -1 = none),
 *                 nice, buildMs, truthMs, saveMs }
 *             | { t: 'fail', code?, message }   (code: a client error code for bad input)
 */
import { localityOrderSteps } from './localityOrderCore.js';

export const BUILD_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');

function lowerPriority() {
  if (!workerData.lowPriority) return null;
  try {
    const tid = Number(fs.readFileSync('/proc/thread-self/stat', 'utf8').split(' ', 1)[0]);
    if (!Number.isInteger(tid) || tid <= 0) return null;
    os.setPriority(tid, 19);
    return os.getPriority(tid);
  } catch (e) {
    return null;
  }
}
const nice = lowerPriority();

// The locality order's algorithm, embedded from src/internal/localityOrderCore.ts (self-contained).
${localityOrderSteps.toString()}

class InputError extends Error { constructor(code, message) { super(message); this.code = code; } }

function sha256(p) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) { const n = fs.readSync(fd, buf, 0, buf.length, null); if (n === 0) break; h.update(buf.subarray(0, n)); }
  } finally { fs.closeSync(fd); }
  return h.digest('hex');
}
function entry(p) { return { name: path.basename(p), bytes: fs.statSync(p).size, sha256: sha256(p) }; }

function checkRows(m, row0, dims) {
  for (let i = 0; i < m.length; i++) {
    if (!Number.isFinite(m[i])) throw new InputError('RECSPINE_ERR_ANN_NON_FINITE', 'input.vectors: row ' + (row0 + Math.floor(i / dims)) + ' has ' + String(m[i]));
  }
}

function build(m, ids) {
  const n = ids.length, d = m.dims, spec = m.spec, o = spec.options;
  const seen = new Set();
  for (const id of ids) {
    if (typeof id !== 'string' || id.length === 0) throw new InputError('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', 'item ids must be non-empty strings');
    if (seen.has(id)) throw new InputError('RECSPINE_ERR_RETRIEVAL_BAD_ITEM', 'duplicate item id ' + id + ' in the build input');
    seen.add(id);
  }
  seen.clear();
  // Rows are copied batch by batch into a private scratch buffer: the native calls get an ordinary
  // ArrayBuffer at offset 0 (usearch's exactSearch rejects SharedArrayBuffer views), and the worker
  // returns to JS between batches, so terminate() (timeout) takes effect within one batch.
  const batch = Math.max(1, Math.min(n, m.batchRows));
  const scratch = new Float32Array(Math.max(1, batch) * d);
  // buildOrder 'locality': the rows are inserted in the order localityOrderSteps computes (the
  // library's own function, embedded below), still keyed by their input row.
  let order = null;
  if (m.locality) {
    const steps = localityOrderSteps(m.vectors, d, m.locality.metric, m.locality.params, require(workerData.usearch).exactSearch);
    for (let r = steps.next(); ; r = steps.next()) if (r.done) { order = r.value; break; }
  }
  const rowAt = order === null ? (j) => j : (j) => order[j];
  // Rows off..end of the insertion order, copied into the scratch buffer and checked.
  const gather = (off, end) => {
    const v = scratch.subarray(0, (end - off) * d);
    if (order === null) { v.set(m.vectors.subarray(off * d, end * d)); checkRows(v, off, d); return v; }
    for (let j = off; j < end; j++) {
      const r = order[j], dst = v.subarray((j - off) * d, (j - off + 1) * d);
      dst.set(m.vectors.subarray(r * d, (r + 1) * d));
      checkRows(dst, r, d);
    }
    return v;
  };
  let index, save;
  if (spec.backend === 'usearch') {
    const u = require(workerData.usearch);
    index = new u.Index({ dimensions: d, metric: m.metric, quantization: spec.quantization, connectivity: o.connectivity,
      expansion_add: o.expansionAdd, expansion_search: o.expansionSearch, multi: false });
    for (let off = 0; off < n; off += batch) {
      const end = Math.min(n, off + batch), rows = end - off;
      const v = gather(off, end);
      const keys = new BigUint64Array(rows);
      for (let i = 0; i < rows; i++) keys[i] = BigInt(rowAt(off + i));
      index.add(keys, v, rows > 64 ? spec.buildThreads : 1);
    }
    save = (p) => index.save(p);
  } else if (spec.backend === 'hnswlib') {
    const h = require(workerData.hnswlib);
    index = new h.HierarchicalNSW(m.metric === 'cos' ? 'cosine' : 'ip', d);
    index.initIndex({ maxElements: Math.max(1, n), m: o.connectivity, efConstruction: o.expansionAdd, randomSeed: spec.seed, allowReplaceDeleted: false });
    index.setEf(o.expansionSearch);
    const row = new Array(d).fill(0);
    for (let off = 0; off < n; off += batch) {
      const end = Math.min(n, off + batch), rows = end - off;
      const v = gather(off, end);
      for (let i = 0; i < rows; i++) { for (let j = 0; j < d; j++) row[j] = v[i * d + j]; index.addPoint(row, rowAt(off + i)); }
    }
    save = (p) => index.writeIndexSync(p);
  } else {
    throw new Error('a worker build supports usearch and hnswlib, not ' + spec.backend);
  }
  return save;
}

/** Exact top-k rows of every probe, all probes per slice (one pass over the matrix). */
function truth(m) {
  const d = m.dims, n = m.vectors.length / d, p = m.probes.length / d, k = m.k;
  const out = new Int32Array(p * k).fill(-1);
  if (p === 0 || n === 0) return out;
  const u = require(workerData.usearch);
  const slice = Math.max(1, Math.min(n, m.sliceRows));
  const scratch = new Float32Array(slice * d);
  const cand = Array.from({ length: p }, () => []);
  for (let start = 0; start < n; start += slice) {
    const end = Math.min(n, start + slice), want = Math.min(k, end - start);
    const s = scratch.subarray(0, (end - start) * d);
    s.set(m.vectors.subarray(start * d, end * d));
    const r = u.exactSearch(s, m.probes, d, want, m.metric, 1);
    for (let q = 0; q < p; q++) {
      const mq = p === 1 ? r : r.get(q);
      const c = cand[q];
      for (let i = 0; i < mq.keys.length; i++) c.push({ row: start + Number(mq.keys[i]), d: mq.distances[i] });
      if (c.length > 4 * k) { c.sort((a, b) => a.d - b.d); c.length = k; }
    }
  }
  for (let q = 0; q < p; q++) {
    const c = cand[q].sort((a, b) => a.d - b.d);
    for (let i = 0; i < Math.min(k, c.length); i++) out[q * k + i] = c[i].row;
  }
  return out;
}

let ids = [];
parentPort.on('message', (m) => {
  if (m.t === 'ids') { for (const id of m.ids) ids.push(id); return; }
  if (m.t !== 'build') return;
  try {
    const t0 = performance.now();
    const save = build(m, ids);
    const t1 = performance.now();
    const rows = truth(m);
    const t2 = performance.now();
    const indexPath = path.join(m.dir, 'index.bin');
    save(indexPath);
    const file = entry(indexPath);
    const t3 = performance.now();
    parentPort.postMessage({ t: 'done', size: ids.length, file, truth: rows, nice, buildMs: t1 - t0, truthMs: t2 - t1, saveMs: t3 - t2 }, [rows.buffer]);
  } catch (e) {
    parentPort.postMessage({ t: 'fail', code: e instanceof InputError ? e.code : undefined, message: String((e && e.message) || e) });
  }
});
`;
