/**
 * The search worker's code, run with `new Worker(src, { eval: true })` so that it works the same
 * from the ESM and CJS builds and from the TypeScript sources (no worker file to locate). Plain
 * CommonJS; the native modules' resolved paths come in `workerData`.
 *
 * Messages in:  { t: 'load', spec } | { t: 'search', id, q, k } | { t: 'add', label, v, replace } | { t: 'remove', label }
 * Messages out: { t: 'ready' } | { t: 'result', id, labels: Float64Array, distances: Float32Array } | { t: 'fail', id?, message }
 */
export const ANN_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let index = null; let kind = null; let row = null;
function load(spec) {
  if (spec.backend === 'usearch') {
    const u = require(workerData.usearch);
    const idx = new u.Index({ dimensions: spec.dims, metric: spec.metric, quantization: spec.quantization,
      connectivity: spec.options.connectivity, expansion_add: spec.options.expansionAdd, expansion_search: spec.options.expansionSearch, multi: false });
    idx.load(spec.indexPath); index = idx; kind = 'usearch';
  } else if (spec.backend === 'hnswlib') {
    const h = require(workerData.hnswlib);
    const idx = new h.HierarchicalNSW(spec.metric === 'cos' ? 'cosine' : 'ip', spec.dims);
    idx.readIndexSync(spec.indexPath, false); idx.setEf(spec.options.expansionSearch); index = idx; kind = 'hnswlib';
    row = new Array(spec.dims).fill(0);
  } else throw new Error('worker mode supports usearch and hnswlib, not ' + spec.backend);
}
parentPort.on('message', (m) => {
  try {
    if (m.t === 'load') { load(m.spec); parentPort.postMessage({ t: 'ready' }); return; }
    if (m.t === 'exit') { parentPort.close(); return; }
    if (m.t === 'search') {
      let labels, distances;
      if (kind === 'usearch') {
        const r = index.search(m.q, m.k, 1);
        labels = new Float64Array(r.keys.length); for (let i = 0; i < labels.length; i++) labels[i] = Number(r.keys[i]);
        distances = r.distances;
      } else {
        for (let j = 0; j < row.length; j++) row[j] = m.q[j];
        const r = index.searchKnn(row, m.k);
        labels = Float64Array.from(r.neighbors); distances = Float32Array.from(r.distances);
      }
      parentPort.postMessage({ t: 'result', id: m.id, labels, distances }, [labels.buffer, distances.buffer]);
      return;
    }
    if (m.t === 'add') {
      if (kind === 'usearch') {
        const key = new BigUint64Array([BigInt(m.label)]);
        if (m.replace) index.remove(key);
        index.add(key, m.v, 1);
      } else {
        if (m.label >= index.getMaxElements()) index.resizeIndex(Math.max(m.label + 1, index.getMaxElements() * 2));
        index.addPoint(Array.from(m.v), m.label);
      }
      return;
    }
    if (m.t === 'remove') {
      if (kind === 'usearch') index.remove(new BigUint64Array([BigInt(m.label)])); else index.markDelete(m.label);
      return;
    }
  } catch (e) {
    parentPort.postMessage({ t: 'fail', id: m.id, message: String(e && e.message || e) });
  }
});
`;
