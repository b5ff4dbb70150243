/**
 * What an index rebuild costs the requests served meanwhile: `IndexManager.rebuild` on the
 * serving thread (`buildIn: 'main'`, in `--chunk`-item slices) vs on a low-priority worker thread
 * (`buildIn: 'worker'`), under an open-loop search load on the same manager.
 *
 *   npx tsx bench/rebuild.ts --items 50000 --dims 64 --rate 200 --k 300 --chunk 32 --rounds 2
 *
 * Per round, back to back on the same data: a quiet window (no rebuild, as long as the last
 * rebuild took), a main-thread rebuild, a worker rebuild. For each: search latency counted from
 * the scheduled arrival (so queueing behind a stall shows), the event-loop delay
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution), the rebuild's wall time, and ratios to the
 * quiet window. The box is shared: compare the rows of one run, and quote `uptime` with them.
 *
 * Writes bench-results/retrieval-rebuild.json.
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { type AnnBuildSpec, IndexManager } from '../src/IndexManager.js';
import { clusteredItems, userQueries } from './data.js';

const flags = parseFlags();
const items = Number(flags.items ?? 50_000);
const dims = Number(flags.dims ?? 64);
const rate = Number(flags.rate ?? 200);
const k = Number(flags.k ?? 300);
const chunk = Number(flags.chunk ?? 32);
const rounds = Number(flags.rounds ?? 2);

const data = clusteredItems(items, dims, { seed: 42 });
const queries = userQueries(data, 500);
const spec: AnnBuildSpec = { backend: 'usearch', quantization: 'f32', expansionSearch: 128 };
const validation = { k: 100, probes: 50, minRecall: 0.8, minOverlap: 0.5 };
const managers = {
  main: new IndexManager({ dims, metric: 'cos', spec, buildIn: 'main', buildChunk: chunk, validation }),
  worker: new IndexManager({ dims, metric: 'cos', spec, buildIn: 'worker', validation }),
};
const input = { ids: data.ids, vectors: data.vectors };
for (const [name, m] of Object.entries(managers)) {
  const t = performance.now();
  const r = await m.rebuild(input);
  if (!r.accepted) throw new Error(`initial ${name} build refused: ${r.reason}`);
  console.log(`initial ${name} build of ${items} × ${dims}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** Open-loop searches at `rate` against `m` until `work` settles (or for `quietMs` when there is none). */
async function window(m: IndexManager, work: (() => Promise<unknown>) | undefined, quietMs: number): Promise<Record<string, number>> {
  const lat = new LatencyRecorder();
  const eld = monitorEventLoopDelay({ resolution: 1 });
  const interval = 1000 / rate;
  const start = performance.now() + 5;
  let launched = 0;
  let finished = false;
  let workMs = 0;
  // Stalls: gaps of a 1 ms ticker longer than 20 ms (what a request arriving then waits at least).
  let stalls = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - last > 20) stalls++;
    last = now;
  }, 1);
  eld.enable();
  const load = new Promise<void>((resolve) => {
    const pump = (): void => {
      const now = performance.now();
      while (start + launched * interval <= now) {
        const scheduled = start + launched * interval;
        m.search(queries[launched % queries.length] as Float32Array, k);
        lat.recordMs(performance.now() - scheduled);
        launched++;
      }
      // Sleep until the next arrival (a setImmediate spin would keep the serving thread busy and
      // starve a low-priority build thread of the CPU an idle server leaves it).
      if (finished) resolve();
      else setTimeout(pump, Math.max(0, start + launched * interval - performance.now()));
    };
    pump();
  });
  if (work === undefined) await new Promise((r) => setTimeout(r, quietMs));
  else {
    const t = performance.now();
    await work();
    workMs = performance.now() - t;
  }
  finished = true;
  await load;
  eld.disable();
  clearInterval(ticker);
  return {
    searches: launched,
    stallsOver20msPerS: stalls / Math.max(0.001, (performance.now() - start) / 1000),
    rebuildS: workMs / 1000,
    p50Ms: lat.pMs(50),
    p99Ms: lat.pMs(99),
    maxMs: lat.summaryMs().max,
    loopP50Ms: eld.percentile(50) / 1e6,
    loopP99Ms: eld.percentile(99) / 1e6,
    loopMaxMs: eld.max / 1e6,
  };
}

const rows: Record<string, number | string>[] = [];
let lastMs = 5000;
for (let round = 1; round <= rounds; round++) {
  const quiet = await window(managers.worker, undefined, lastMs);
  rows.push({
    round,
    mode: 'quiet',
    load1: loadavg()[0] as number,
    ...quiet,
    p99VsQuiet: 1,
    loopMaxVsQuiet: 1,
    loadMs: 0,
    workerNice: '-',
  });
  for (const mode of ['main', 'worker'] as const) {
    const m = managers[mode];
    const res = await window(
      m,
      async () => {
        const r = await m.rebuild(input);
        if (!r.accepted) throw new Error(`${mode} rebuild refused: ${r.reason}`);
      },
      0,
    );
    lastMs = Math.max(lastMs, (res.rebuildS as number) * 1000);
    const b = m.state().lastBuild;
    rows.push({
      round,
      mode,
      load1: loadavg()[0] as number,
      ...res,
      p99VsQuiet: (res.p99Ms as number) / Math.max(0.001, quiet.p99Ms as number),
      loopMaxVsQuiet: (res.loopMaxMs as number) / Math.max(0.001, quiet.loopMaxMs as number),
      loadMs: b?.loadMs ?? 0,
      workerNice: b?.workerNice ?? '-',
    });
  }
}
printTable(
  `rebuild of ${items} × ${dims} (usearch f32, cos) under ${rate} searches/s at k=${k}; main = buildChunk ${chunk}; latency from scheduled arrival`,
  rows,
);
const file = writeResult('retrieval-rebuild', { items, dims, rate, k, chunk, rounds, spec, validation }, { rows });
console.log(`wrote ${file}`);
