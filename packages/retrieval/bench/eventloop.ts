/**
 * What an ANN search costs the event loop, and whether running it on worker threads pays.
 *
 *   npx tsx bench/eventloop.ts --items 200000 --k 1000 --rates 200,500 --seconds 5
 *
 * 1. Blocking cost: a search is synchronous native code; its wall time is event-loop time.
 * 2. Under open-loop load (fixed arrival rate; latency counted from the scheduled arrival, so
 *    queueing shows), three modes: inline (search on the main thread), AnnWorkerPool with 1 and
 *    with 2 workers. Alongside, a 1 ms ticker stands for the rest of the process's work (other
 *    requests' I/O callbacks); we report the event-loop delay it sees.
 *
 * Writes bench-results/retrieval-eventloop.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import type { AnnSearcher } from '../src/AnnIndex.js';
import { AnnWorkerPool } from '../src/AnnWorkerPool.js';
import { UsearchIndex } from '../src/UsearchIndex.js';
import { clusteredItems, userQueries } from './data.js';

const flags = parseFlags();
const items = Number(flags.items ?? 200_000);
const dims = Number(flags.dims ?? 64);
const k = Number(flags.k ?? 1000);
const seconds = Number(flags.seconds ?? 5);
const rates = (flags.rates ?? '200,500').split(',').map(Number);

const data = clusteredItems(items, dims, { seed: 42 });
const queries = userQueries(data, 500);
const index = new UsearchIndex({ dims, metric: 'cos', quantization: 'f32' });
const t0 = performance.now();
index.upsertBatch(data.ids, data.vectors);
console.log(`built ${items} × ${dims} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const dir = mkdtempSync(join(tmpdir(), 'recspine-el-'));
await index.save(join(dir, 'idx'));

// 1. blocking cost per search, by k
const blocking: Record<string, number | string>[] = [];
for (const kk of [10, 100, 1000, 2000]) {
  const rec = new LatencyRecorder();
  for (let i = 0; i < 300; i++) {
    const s = performance.now();
    index.search(queries[i % queries.length] as Float32Array, kk);
    rec.recordMs(performance.now() - s);
  }
  blocking.push({ k: kk, blockP50Ms: rec.pMs(50), blockP99Ms: rec.pMs(99), blockMaxMs: rec.summaryMs().max });
}
printTable(`event-loop block per search (usearch f32, ${items} × ${dims}; the loop is blocked for the whole search)`, blocking);

// idle round-trip overhead of the pool
async function idleLatency(s: AnnSearcher, n = 300): Promise<LatencyRecorder> {
  const rec = new LatencyRecorder();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await s.search(queries[i % queries.length] as Float32Array, k);
    rec.recordMs(performance.now() - t);
  }
  return rec;
}

async function underLoad(s: AnnSearcher, rate: number): Promise<Record<string, number>> {
  const lat = new LatencyRecorder();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now() + 20;
  let launched = 0;
  let done = 0;
  let tickerRuns = 0;
  const ticker = setInterval(() => tickerRuns++, 1);
  eld.enable();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      const now = performance.now();
      while (launched < total && start + launched * interval <= now) {
        const scheduled = start + launched * interval;
        const q = queries[launched % queries.length] as Float32Array;
        launched++;
        void Promise.resolve(s.search(q, k)).then(() => {
          lat.recordMs(performance.now() - scheduled);
          if (++done === total) resolve();
        });
      }
      if (launched < total) setImmediate(pump);
    };
    pump();
  });
  eld.disable();
  clearInterval(ticker);
  const elapsed = (performance.now() - start) / 1000;
  return {
    rate,
    achievedRps: total / elapsed,
    p50Ms: lat.pMs(50),
    p99Ms: lat.pMs(99),
    p999Ms: lat.pMs(99.9),
    loopDelayP50Ms: eld.percentile(50) / 1e6,
    loopDelayP99Ms: eld.percentile(99) / 1e6,
    loopDelayMaxMs: eld.max / 1e6,
  };
}

const inline: AnnSearcher = index;
const pool1 = await AnnWorkerPool.start({ dir: join(dir, 'idx'), workers: 1 });
const pool2 = await AnnWorkerPool.start({ dir: join(dir, 'idx'), workers: 2 });
const modes: [string, AnnSearcher][] = [
  ['inline', inline],
  ['worker×1', pool1],
  ['worker×2', pool2],
];

const idle: Record<string, number | string>[] = [];
for (const [name, s] of modes) {
  await idleLatency(s, 50);
  const r = await idleLatency(s);
  idle.push({ mode: name, p50Ms: r.pMs(50), p99Ms: r.pMs(99), p999Ms: r.pMs(99.9) });
}
printTable(`one search at a time, k=${k} (pool cost = message round trip)`, idle);

const load: Record<string, number | string>[] = [];
for (const rate of rates) {
  for (const [name, s] of modes) load.push({ mode: name, ...(await underLoad(s, rate)) });
}
printTable(`open-loop load, k=${k}, ${seconds} s per run (latency from scheduled arrival; loop delay seen by a 1 ms ticker)`, load);

await pool1.close();
await pool2.close();
rmSync(dir, { recursive: true, force: true });
const file = writeResult(
  'retrieval-eventloop',
  { items, dims, k, seconds, rates, backend: 'usearch', quantization: 'f32' },
  { blocking, idle, load },
);
console.log(`wrote ${file}`);
