/**
 * How far the ANN bench's exact baseline (`ExactIndex` = usearch `exactSearch`) is from the fastest
 * exact scan this machine allows: times it against the hand-written C scan in exact-roofline.c,
 * alternating the two in rounds so both see the same load.
 *
 *   gcc -O3 -march=native -ffast-math -o /tmp/exact-roofline packages/retrieval/bench/exact-roofline.c -lm
 *   npx tsx bench/exactBaseline.ts --items 1000000 --k 1000 --queries 30 --rounds 3 --roofline /tmp/exact-roofline
 *
 * Prints p50 per round; nothing is written to bench-results (a reference, not a result).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { LatencyRecorder, parseFlags } from '../../../bench/kit.js';
import { ExactIndex } from '../src/ExactIndex.js';
import { clusteredItems, userQueries } from './data.js';

const flags = parseFlags();
const items = Number(flags.items ?? 1_000_000);
const k = Number(flags.k ?? 1000);
const nq = Number(flags.queries ?? 30);
const rounds = Number(flags.rounds ?? 3);
const dims = 64;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const data = clusteredItems(items, dims, { seed: 42 });
const queries = userQueries(data, nq);
const variants = [1, 0].map((threads) => {
  const e = new ExactIndex({ dims, metric: 'cos', threads });
  e.upsertBatch(data.ids, data.vectors);
  return { name: `ExactIndex (usearch exactSearch, ${threads === 0 ? 'all cores' : '1 thread'})`, e };
});
for (let r = 0; r < rounds; r++) {
  for (const { name, e } of variants) {
    const rec = new LatencyRecorder();
    for (const q of queries) {
      const s = performance.now();
      e.search(q, k);
      rec.recordMs(performance.now() - s);
    }
    console.log(`round ${r}: ${name}: p50 ${rec.pMs(50).toFixed(2)} ms, min ${rec.pMs(0).toFixed(2)} ms; load ${load()}`);
  }
  if (flags.roofline !== undefined) {
    const out = execFileSync(flags.roofline, [String(items), String(k), String(nq)], { encoding: 'utf8' }).trim();
    console.log(`round ${r}: C roofline: ${out}; load ${load()}`);
  }
}
