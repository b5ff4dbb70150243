/**
 * The inference worker's source, run with `new Worker(WORKER_SCRIPT, { eval: true })`.
 *
 * Hand-written as a string (not a separate file) so the same code works from the TypeScript source
 * (tests, tsx), from the ESM build and from the CJS build without a second bundle entry or a loader.
 * It loads onnxruntime-node from the absolute path the pool resolved in the main thread.
 *
 * Protocol (all replies carry the request `id`):
 * - `{ t: 'load', modelId, bytes, options }` → `{ ok, inputs, outputs }`
 * - `{ t: 'run', modelId, feeds: { name: { type, data, dims } }, fetch }` → `{ ok, outputs, computeMs }`
 * - `{ t: 'unload', modelId }` → `{ ok }`
 * - any failure → `{ ok: false, message }`
 */
export const WORKER_SCRIPT = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const ort = require(workerData.ortPath);
const sessions = new Map();
const info = (m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: Array.from(m.shape) } : { name: m.name, isTensor: false });
parentPort.on('message', async (msg) => {
  try {
    if (msg.t === 'load') {
      const s = await ort.InferenceSession.create(msg.bytes, msg.options);
      sessions.set(msg.modelId, s);
      parentPort.postMessage({ id: msg.id, ok: true, inputs: s.inputMetadata.map(info), outputs: s.outputMetadata.map(info) });
    } else if (msg.t === 'run') {
      const s = sessions.get(msg.modelId);
      if (s === undefined) throw new Error('model ' + msg.modelId + ' is not loaded in this worker');
      const feeds = {};
      for (const name of Object.keys(msg.feeds)) {
        const f = msg.feeds[name];
        feeds[name] = new ort.Tensor(f.type, f.data, f.dims);
      }
      const t0 = performance.now();
      const out = await s.run(feeds, msg.fetch);
      const computeMs = performance.now() - t0;
      const outputs = {};
      const transfer = [];
      for (const name of msg.fetch) {
        const v = out[name];
        if (v === undefined) continue;
        const data = v.data.slice();
        transfer.push(data.buffer);
        outputs[name] = { type: v.type, data, dims: Array.from(v.dims) };
      }
      parentPort.postMessage({ id: msg.id, ok: true, outputs, computeMs }, transfer);
    } else if (msg.t === 'unload') {
      const s = sessions.get(msg.modelId);
      sessions.delete(msg.modelId);
      if (s !== undefined) await s.release();
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: msg.id, ok: false, message: e && e.message ? String(e.message) : String(e) });
  }
});
`;
