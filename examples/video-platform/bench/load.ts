/**
 * Load test: starts the server as a child process, finds the highest open-loop arrival rate whose
 * p99 stays ≤ 50 ms (the seed's harder drill SLA), then measures p99 at 200 QPS and at 50 % and
 * 80 % of that capacity. Slot mix: homepage 25 %, end-of-video 62 %, search 13 %.
 *
 *   npx tsx bench/load.ts [--mode production|embedded] [--preset demo] [--workers 1] [--step-seconds 8]
 *
 * Production mode needs Redis on :6379 and `scripts/kafka.sh up`. Writes bench-results/load.json.
 * Loopback only; every phase is bounded in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { runOpenLoop, type LoadInputs, type LoadResult } from './loadgen.js';

const flags = parseFlags();
const mode = flags.mode ?? 'production';
const preset = flags.preset ?? 'demo';
const workers = Number(flags.workers ?? 1);
const stepSeconds = Number(flags['step-seconds'] ?? 8);
const port = Number(flags.port ?? 18080);
const SLA_P99_MS = 50;
const base = `http://127.0.0.1:${port}`;

export async function startChild(args: {
  mode: string;
  preset: string;
  workers: number;
  port: number;
  extra?: string[];
}): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'src', 'server', 'main.ts'),
      '--mode',
      args.mode,
      '--preset',
      args.preset,
      '--workers',
      String(args.workers),
      '--port',
      String(args.port),
      ...(args.extra ?? []),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        RECSPINE_MAX_IN_FLIGHT: '100000',
        RECSPINE_MAX_LOOP_DELAY_MS: '60000',
        RECSPINE_TRIM_TARGET_P99_MS: '60000',
      },
    },
  );
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${args.port}/readyz`);
      if (r.ok) return child;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error('server not ready within 180 s');
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function inputsFrom(url: string): Promise<LoadInputs> {
  const d = (await (await fetch(`${url}/v1/dashboard`)).json()) as {
    sampleUsers: string[];
    sampleItems: string[];
    sampleQueries: string[];
  };
  return { users: d.sampleUsers, items: d.sampleItems, queries: d.sampleQueries.length ? d.sampleQueries : ['music'] };
}

async function main(): Promise<void> {
  const child = await startChild({ mode, preset, workers, port });
  try {
    const inputs = await inputsFrom(base);
    console.log(`server up (${mode}, preset ${preset}, ${workers} worker(s)); warming up`);
    await runOpenLoop({ baseUrl: base, rate: 50, seconds: 5, inputs });

    const ladder: LoadResult[] = [];
    const step = async (rate: number): Promise<LoadResult> => {
      const r = await runOpenLoop({ baseUrl: base, rate, seconds: stepSeconds, inputs, seed: rate });
      ladder.push(r);
      console.log(
        `  ${rate} QPS → p50 ${r.overall.p50.toFixed(1)} p99 ${r.overall.p99.toFixed(1)} ms, achieved ${r.achievedQps.toFixed(0)}, errors ${r.errors}`,
      );
      return r;
    };
    const good = (r: LoadResult): boolean => r.overall.p99 <= SLA_P99_MS && r.errors === 0 && r.achievedQps >= r.rate * 0.95;
    let lo = 0;
    let hi = 0;
    for (const rate of [50, 100, 150, 200, 300, 400, 550, 700, 900, 1200]) {
      if (good(await step(rate))) lo = rate;
      else {
        hi = rate;
        break;
      }
    }
    if (hi > 0) {
      for (let i = 0; i < 2 && hi - lo > 25; i++) {
        const mid = Math.round((lo + hi) / 2);
        if (good(await step(mid))) lo = mid;
        else hi = mid;
      }
    }
    const capacity = lo;
    console.log(`capacity (p99 ≤ ${SLA_P99_MS} ms): ${capacity} QPS`);
    const at = async (rate: number): Promise<LoadResult> =>
      runOpenLoop({ baseUrl: base, rate: Math.max(1, Math.round(rate)), seconds: stepSeconds * 2, inputs, seed: 7 });
    const at200 = await at(200);
    const at50 = await at(capacity * 0.5);
    const at80 = await at(capacity * 0.8);
    const dash = (await (await fetch(`${base}/v1/dashboard`)).json()) as { items?: number };

    printTable(`load (${mode}, ${workers} worker(s), ${dash.items ?? '?'} items)`, [
      {
        point: '200 QPS',
        p50: at200.overall.p50,
        p99: at200.overall.p99,
        p999: at200.overall.p999,
        qps: at200.achievedQps,
        errors: at200.errors,
        degraded: at200.degraded,
      },
      {
        point: `50% (${Math.round(capacity * 0.5)})`,
        p50: at50.overall.p50,
        p99: at50.overall.p99,
        p999: at50.overall.p999,
        qps: at50.achievedQps,
        errors: at50.errors,
        degraded: at50.degraded,
      },
      {
        point: `80% (${Math.round(capacity * 0.8)})`,
        p50: at80.overall.p50,
        p99: at80.overall.p99,
        p999: at80.overall.p999,
        qps: at80.achievedQps,
        errors: at80.errors,
        degraded: at80.degraded,
      },
    ]);
    printTable(
      'per slot at 80 % of capacity (ms)',
      Object.entries(at80.perSlot).map(([slot, s]) => ({ slot, p50: s.p50, p99: s.p99, p999: s.p999, n: s.count })),
    );
    printTable(
      'per stage p99 at 80 % (ms)',
      Object.entries(at80.perStageP99Ms).map(([stage, p99]) => ({ stage, p99 })),
    );
    writeResult(
      flags.name ?? 'load',
      {
        mode,
        preset,
        workers,
        stepSeconds,
        slaP99Ms: SLA_P99_MS,
        mix: 'homepage 25%, end-of-video 62%, search 13%',
        loadgen: 'open-loop, same machine',
      },
      {
        items: dash.items,
        cores: cpus().length,
        maxQpsP99Under50Ms: capacity,
        qpsPerCore: capacity / cpus().length,
        p99MsAt200Qps: at200.overall.p99,
        p99MsAt50PctCapacity: at50.overall.p99,
        p99MsAt80PctCapacity: at80.overall.p99,
        perSlot: at80.perSlot,
        perStageP99Ms: at80.perStageP99Ms,
        errors: at200.errors + at50.errors + at80.errors,
        ladder: ladder.map((r) => ({ rate: r.rate, p50: r.overall.p50, p99: r.overall.p99, achievedQps: r.achievedQps, errors: r.errors })),
      },
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

if (process.argv[1] === import.meta.filename) await main();
