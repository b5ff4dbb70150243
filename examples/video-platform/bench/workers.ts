/**
 * Does a second HTTP worker pay? Starts the server with 1 worker, then with 2 (node:cluster), and
 * sends the same open-loop fixed-rate steps to each, back to back, so the two are compared under
 * the same machine load. Writes bench-results/workers.json (p50/p99/p999, achieved QPS, degraded
 * share per rate and worker count, and the load average during each step).
 *
 *   npx tsx bench/workers.ts [--rates 20,40,60,80] [--step-seconds 10] [--items N] [--mode production]
 *                            [--redis-url redis://127.0.0.1:6379] [--kafka-topic recspine.events]
 *
 * Loopback only; each step is bounded, and the server is idle again before each step.
 */
import { cpus, loadavg } from 'node:os';
import { parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { inputsFrom, startChild, waitIdle } from './load.js';
import { runOpenLoop } from './loadgen.js';

const flags = parseFlags();
const mode = flags.mode ?? 'production';
const preset = flags.preset ?? 'demo';
const rates = (flags.rates ?? '20,40,60,80').split(',').map(Number);
const stepSeconds = Number(flags['step-seconds'] ?? 10);
const items = flags.items === undefined ? undefined : Number(flags.items);
const env: Record<string, string> = {
  ...(flags['redis-url'] ? { REDIS_URL: flags['redis-url'] } : {}),
  ...(flags['kafka-topic'] ? { KAFKA_TOPIC: flags['kafka-topic'] } : {}),
};

interface Row {
  workers: number;
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  achievedQps: number;
  errors: number;
  degradedShare: number;
  load1: number;
}

const rows: Row[] = [];
for (const workers of [1, 2]) {
  const port = Number(flags.port ?? 18380) + workers;
  const child = await startChild({
    mode,
    preset,
    workers,
    port,
    extra: items === undefined ? [] : ['--items', String(items)],
    env,
    readyTimeoutMs: items !== undefined && items > 100_000 ? 900_000 : 180_000,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    const inputs = await inputsFrom(base);
    await runOpenLoop({ baseUrl: base, rate: 20, seconds: 4, inputs });
    for (const rate of rates) {
      await waitIdle(base);
      const r = await runOpenLoop({ baseUrl: base, rate, seconds: stepSeconds, inputs, seed: rate });
      const row: Row = {
        workers,
        rate,
        p50: r.overall.p50,
        p99: r.overall.p99,
        p999: r.overall.p999,
        achievedQps: r.achievedQps,
        errors: r.errors,
        degradedShare: r.ok > 0 ? r.degraded / r.ok : 0,
        load1: loadavg()[0] ?? 0,
      };
      rows.push(row);
      console.log(
        `  ${workers} worker(s), ${rate} QPS → p50 ${row.p50.toFixed(1)} p99 ${row.p99.toFixed(1)} ms, degraded ${(row.degradedShare * 100).toFixed(0)} %`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 3000));
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
printTable(
  '1 vs 2 workers (same rates, back to back)',
  rows.map((r) => ({ ...r, degradedShare: Number(r.degradedShare.toFixed(3)), load1: Number(r.load1.toFixed(1)) })),
);
const ratio = rates.map((rate) => {
  const one = rows.find((r) => r.workers === 1 && r.rate === rate);
  const two = rows.find((r) => r.workers === 2 && r.rate === rate);
  return { rate, p99TwoOverOne: one && two && one.p99 > 0 ? two.p99 / one.p99 : null };
});
writeResult(
  flags.name ?? 'workers',
  { mode, preset, items: items ?? null, rates, stepSeconds, cores: cpus().length },
  { rows, p99RatioTwoWorkersOverOne: ratio },
);
