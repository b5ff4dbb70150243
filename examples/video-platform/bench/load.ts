/**
 * Load test: starts the server as a child process, finds the highest open-loop arrival rate whose
 * p99 stays ≤ 50 ms (the seed's harder drill SLA), then measures p99 at 50 % and 80 % of that
 * capacity and at 200 QPS (last: an overloaded step leaves a backlog). Slot mix: homepage 25 %,
 * end-of-video 62 %, search 13 %. Every run starts with a 15 s warm-up at 50 QPS; a ladder step
 * that misses the SLA is run once more before it ends the search (one stall on this shared 2-core
 * box can fail a rate that passes minutes later).
 *
 *   npm run load -w examples/video-platform -- --items 1000000          # the target setting: 1M items, production mode
 *   npx tsx bench/load.ts [--mode production|embedded] [--preset demo] [--items N] [--workers auto|N]
 *                         [--step-seconds 8] [--redis-url redis://127.0.0.1:6379] [--kafka-topic recspine.events]
 *
 * `--url http://127.0.0.1:PORT` measures a server that is already running instead of starting one
 * (then `--mode/--items/--workers` only label the result).
 *
 * Fixed-rate mode (CPU work per request, profiling): `--rates 4,8,16` runs only these open-loop
 * steps (each `--step-seconds`, after a warm-up), no capacity search, and reports per step the
 * latency, the per-stage p99, and the server's CPU time per request (user + system of the server
 * process and its cluster workers from /proc, over the step: Linux; with `--url`, pass `--server-pid`) next to
 * the load average. `--cpu-prof-dir /tmp/prof` runs the server with `node --cpu-prof` (a
 * `.cpuprofile` per process, cluster workers included, written when the server exits);
 * `--server-node-args=--trace-gc,--max-semi-space-size=32` passes other `node` flags. Writes
 * bench-results/<--name, default load-fixed>.json.
 *
 *   npx tsx bench/load.ts --items 1000000 --workers 1 --rates 5,10,20 --step-seconds 20
 * `--items N` serves the trained demo world with its catalog padded to N items (see
 * `src/serving/padCatalog.ts`); the first run at a new size builds the ANN index and seeds Redis
 * once (cached under `.data/ann-cache/` and by a Redis marker key), later runs start in 1–2 min.
 * Production mode needs Redis and `scripts/kafka.sh up`. Writes bench-results/load.json.
 * The generator runs at SCHED_FIFO once the server is up (`--rt-loadgen false`: normal priority):
 * on a 2-core box a normal-priority generator read the slowest responses 60–80 ms late.
 * Loopback only; every phase is bounded in time, and the server is idle again before each step.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { runOpenLoop, type LoadInputs, type LoadResult } from './loadgen.js';
import { setRealtime } from '../gameday/infra.js';
import { withStallProbe, type StallReport } from './stallProbe.js';

const flags = parseFlags();
const mode = flags.mode ?? 'production';
const preset = flags.preset ?? 'demo';
// one worker per core by default: measured by bench/workers.ts (see the example README)
const workers = flags.workers === undefined || flags.workers === 'auto' ? cpus().length : Number(flags.workers);
const stepSeconds = Number(flags['step-seconds'] ?? 8);
const port = Number(flags.port ?? 18080);
const items = flags.items === undefined ? undefined : Number(flags.items);
const childEnv: Record<string, string> = {
  ...(flags['redis-url'] ? { REDIS_URL: flags['redis-url'] } : {}),
  ...(flags['kafka-topic'] ? { KAFKA_TOPIC: flags['kafka-topic'] } : {}),
};
const fixedRates = flags.rates === undefined ? undefined : flags.rates.split(',').map(Number);
// --cpu-prof-dir DIR: the server (and its cluster workers) run with `node --cpu-prof`
const profDir = flags['cpu-prof-dir'];
// --server-node-args=--trace-gc,--max-semi-space-size=32: more `node` flags for the server (comma-separated)
const serverNodeArgs = [
  ...(profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir]),
  ...(flags['server-node-args'] === undefined ? [] : flags['server-node-args'].split(',').filter((a) => a.length > 0)),
];
const SLA_P99_MS = 50;
/**
 * `--population true|false` (default true): users from the whole world and the watched item by
 * popularity over the whole catalog (`--zipf-s`, default 1), rather than 50 sample users and 50
 * sample items (until 27 Nov; it made the related-list and item-feature caches hit on almost every
 * request). See `inputsFrom`.
 */
const population = flags.population !== 'false';
const zipfS = Number(flags['zipf-s'] ?? 1);
/**
 * `--agent-scheduling fifo|lifo` (default fifo): which idle keep-alive connection the generator's
 * next request takes (see `runOpenLoop`). `lifo` (Node's default) loaded one of two workers with
 * ~95 % of the requests; kept as a flag to reproduce that.
 */
const scheduling = flags['agent-scheduling'] === 'lifo' ? 'lifo' : 'fifo';
/** The generator's scheduling: raised to SCHED_FIFO once the server runs, unless `--rt-loadgen false`. */
let loadgenPriority = 'normal';
// --url: measure a server that is already running (started by hand, e.g. with --items 1000000)
const base = flags.url ?? `http://127.0.0.1:${port}`;

export async function startChild(args: {
  mode: string;
  preset: string;
  workers: number;
  port: number;
  extra?: string[];
  env?: Record<string, string>;
  /** Extra `node` flags for the server process (cluster workers inherit them), e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Startup bound (index build and seeding at 1M items take minutes the first time). Default 180 s. */
  readyTimeoutMs?: number;
}): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(args.nodeArgs ?? []),
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
        RECSPINE_ADMISSION_TARGET_MS: '0', // capacity is measured with load protection off
        ...args.env,
      },
    },
  );
  const readyMs = args.readyTimeoutMs ?? 180_000;
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${args.port}/readyz`);
      if (r.ok && (args.workers <= 1 || (await listeningWorkers(args.port)) >= args.workers)) return child;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready within ${readyMs / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The generator's inputs from the server's dashboard status. With `population` (the load bench's
 * default, `--population false` to opt out) users are drawn from all the world's users and the
 * watched item by Zipf(`zipfS`, `--zipf-s`, default 1) over the whole served catalog; otherwise
 * from the 50 sample users and items the dashboard lists.
 */
export async function inputsFrom(url: string, opts: { population?: boolean; zipfS?: number } = {}): Promise<LoadInputs> {
  const d = (await (await fetch(`${url}/v1/dashboard`)).json()) as {
    sampleUsers: string[];
    sampleItems: string[];
    sampleQueries: string[];
    catalogItems?: number;
    worldUsers?: number;
  };
  const base = { users: d.sampleUsers, items: d.sampleItems, queries: d.sampleQueries.length ? d.sampleQueries : ['music'] };
  if (opts.population !== true) return base;
  if (!(d.catalogItems !== undefined && d.catalogItems > 0 && d.worldUsers !== undefined && d.worldUsers > 0)) {
    throw new Error('the server does not report catalogItems / worldUsers: run with --population false');
  }
  return { ...base, population: { users: d.worldUsers, items: d.catalogItems, zipfS: opts.zipfS ?? 1 } };
}

/**
 * How many cluster workers answer: distinct pids from `/healthz` over a few fresh connections
 * (node:cluster hands each new connection to a listening worker, round robin). Not
 * `process_start_time_seconds`: it has whole-second resolution, and workers forked in the same
 * second report the same value.
 */
async function listeningWorkers(port: number): Promise<number> {
  const seen = new Set<number>();
  for (let i = 0; i < 12; i++) {
    // a fresh connection each time (agent: false): fetch keeps one alive, which would pin one worker
    const pid = await new Promise<number | undefined>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          try {
            resolve((JSON.parse(body) as { pid?: number }).pid);
          } catch {
            resolve(undefined);
          }
        });
      });
      req.on('error', () => resolve(undefined));
      req.setTimeout(5_000, () => req.destroy());
    });
    if (pid !== undefined) seen.add(pid);
  }
  return seen.size;
}

/** Waits (bounded) until the server answers /healthz quickly: the backlog of an overloaded step is gone. */
export async function waitIdle(url: string, maxMs = 60_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    const t0 = performance.now();
    try {
      await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    } catch {
      /* busy */
    }
    if (performance.now() - t0 < 20) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const child =
    flags.url === undefined
      ? await startChild({
          mode,
          preset,
          workers,
          port,
          extra: items === undefined ? [] : ['--items', String(items)],
          env: childEnv,
          nodeArgs: serverNodeArgs,
          // first start at 1M items: pad, seed Redis, build and cache the index
          readyTimeoutMs: items !== undefined && items > 100_000 ? 900_000 : 180_000,
        })
      : undefined;
  const startupS = (performance.now() - t0) / 1000;
  try {
    const inputs = await inputsFrom(base, { population, zipfS });
    console.log(
      inputs.population === undefined
        ? "inputs: the dashboard's sample users and items"
        : `inputs: ${inputs.population.users} users (uniform), watched item Zipf(${inputs.population.zipfS}) over ${inputs.population.items} items`,
    );
    if (flags['rt-loadgen'] !== 'false') {
      // The generator shares the box with the server: raise it (all its threads, not the server,
      // which was forked before) to SCHED_FIFO so its timers and response reads are not queued
      // behind the server's CPU work; its latencies then measure the server, not its neighbour
      // (the slowest requests' client time was 60–80 ms over their server time without it).
      // Default since 27 Nov; `--rt-loadgen false` keeps the generator at normal priority.
      loadgenPriority = setRealtime(true) ? 'SCHED_FIFO 40' : 'normal (chrt failed)';
    }
    console.log(`load generator priority: ${loadgenPriority}`);
    console.log(`server up (${mode}, preset ${preset}, ${workers} worker(s)); warming up`);
    // Warm-up: JIT, the feature store's local cache, the popularity lists — a serving process is
    // warm; 5 s at 20 QPS left the first measured step 3–4× worse at p99 than the same rate later.
    await runOpenLoop({ baseUrl: base, rate: 50, seconds: 15, inputs, scheduling });
    if (fixedRates !== undefined) {
      // --server-pid: CPU accounting for a server started by hand (--url)
      await fixedRateSteps(fixedRates, inputs, child?.pid ?? (flags['server-pid'] ? Number(flags['server-pid']) : undefined), startupS, t0);
      return;
    }

    const ladder: Measured[] = [];
    const step = async (rate: number): Promise<Measured> => {
      await waitIdle(base);
      // a seed per step (a confirming run of a rate must not replay the requests its first run sent)
      const r = await measured({ baseUrl: base, rate, seconds: stepSeconds, inputs, seed: rate + 1000 * ladder.length, scheduling });
      ladder.push(r);
      console.log(
        `  ${rate} QPS → p50 ${r.overall.p50.toFixed(1)} p99 ${r.overall.p99.toFixed(1)} ms, achieved ${r.achievedQps.toFixed(0)}, errors ${r.errors}${stallNote(r.hostStalls)}`,
      );
      return r;
    };
    const pass = (r: LoadResult): boolean => r.overall.p99 <= SLA_P99_MS && r.errors === 0 && r.achievedQps >= r.rate * 0.95;
    // A failed step is run once more before it counts: a step's p99 is its worst 1 % (≈ 30 requests
    // at 150 QPS × 20 s), and one GC or scheduler stall on this shared 2-core box can put a rate the
    // server sustains over the line (seen: the same rate passing and failing minutes apart).
    const good = async (r: LoadResult): Promise<boolean> => {
      if (pass(r)) return true;
      console.log(`  ${r.rate} QPS failed (p99 ${r.overall.p99.toFixed(1)} ms): confirming`);
      return pass(await step(r.rate));
    };
    let lo = 0;
    let hi = 0;
    for (const rate of [10, 20, 35, 50, 75, 100, 150, 200, 300, 400, 550, 700, 900, 1200]) {
      if (await good(await step(rate))) lo = rate;
      else {
        hi = rate;
        break;
      }
    }
    if (hi > 0) {
      for (let i = 0; i < 3 && hi - lo > Math.max(4, lo * 0.1); i++) {
        const mid = Math.round((lo + hi) / 2);
        if (await good(await step(mid))) lo = mid;
        else hi = mid;
      }
    }
    const capacity = lo;
    console.log(`capacity (p99 ≤ ${SLA_P99_MS} ms): ${capacity} QPS`);
    const at = async (rate: number, seconds = stepSeconds * 2): Promise<Measured> => {
      await waitIdle(base);
      return measured({ baseUrl: base, rate: Math.max(1, Math.round(rate)), seconds, inputs, seed: 7 });
    };
    const at50 = await at(capacity * 0.5);
    const at80 = await at(capacity * 0.8);
    // Last, and shorter when it is beyond capacity: an overload leaves a backlog behind it.
    const at200 = await at(200, capacity >= 200 ? stepSeconds * 2 : Math.min(stepSeconds, 6));
    await waitIdle(base);
    const dash = (await (await fetch(`${base}/v1/dashboard`)).json()) as { items?: number };
    const rssBytes = await residentBytes(base);

    printTable(`load (${mode}, ${workers} worker(s), ${dash.items ?? '?'} items)`, [
      {
        point: '200 QPS',
        p50: at200.overall.p50,
        p99: at200.overall.p99,
        p999: at200.overall.p999,
        qps: at200.achievedQps,
        errors: at200.errors,
        degraded: at200.degraded,
        serverP99: at200.serverTotal.p99,
        maxStallMs: at200.hostStalls?.maxGapMs ?? '–',
        maxWorkerShare: Number((at200.workerShares[0] ?? 0).toFixed(2)),
      },
      {
        point: `50% (${Math.round(capacity * 0.5)})`,
        p50: at50.overall.p50,
        p99: at50.overall.p99,
        p999: at50.overall.p999,
        qps: at50.achievedQps,
        errors: at50.errors,
        degraded: at50.degraded,
        serverP99: at50.serverTotal.p99,
        maxStallMs: at50.hostStalls?.maxGapMs ?? '–',
        maxWorkerShare: Number((at50.workerShares[0] ?? 0).toFixed(2)),
      },
      {
        point: `80% (${Math.round(capacity * 0.8)})`,
        p50: at80.overall.p50,
        p99: at80.overall.p99,
        p999: at80.overall.p999,
        qps: at80.achievedQps,
        errors: at80.errors,
        degraded: at80.degraded,
        serverP99: at80.serverTotal.p99,
        maxStallMs: at80.hostStalls?.maxGapMs ?? '–',
        maxWorkerShare: Number((at80.workerShares[0] ?? 0).toFixed(2)),
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
        loadgenPriority,
        inputs: inputs.population ?? 'sample',
        agentScheduling: scheduling,
        itemsFlag: items ?? null,
        loadAverage: loadavg(),
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
        errorsAt200Qps: at200.errors,
        achievedQpsAt200: at200.achievedQps,
        perSlotAt200Qps: at200.perSlot,
        perStageP99MsAt200Qps: at200.perStageP99Ms,
        serverRssBytes: rssBytes,
        startupSeconds: startupS,
        wallSeconds: (performance.now() - t0) / 1000,
        serverP99MsAt200Qps: at200.serverTotal.p99,
        serverP99MsAt80PctCapacity: at80.serverTotal.p99,
        hostStalls: { at200: at200.hostStalls, at50: at50.hostStalls, at80: at80.hostStalls },
        slowestAt80: at80.slowest,
        ladder: ladder.map((r) => ({
          rate: r.rate,
          p50: r.overall.p50,
          p99: r.overall.p99,
          serverP99: r.serverTotal.p99,
          achievedQps: r.achievedQps,
          errors: r.errors,
          maxStallMs: r.hostStalls?.maxGapMs,
          stallsOver30Ms: r.hostStalls?.over30Ms,
          workerShares: r.workerShares,
        })),
      },
    );
  } finally {
    if (child !== undefined) {
      child.kill('SIGTERM');
      // a CPU profile is written while the server exits: give it time
      const until = Date.now() + (profDir !== undefined ? 30_000 : 1_000);
      while (child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
}

/**
 * Counters read from the server's `/metrics` around a step: GC pause seconds by kind, the
 * related-list cache and the feature store's item cache (hits / misses), so a step reports the
 * hit rates its inputs produced.
 */
interface MetricSnapshot {
  readonly gc: Record<string, number>;
  readonly related: Record<string, number>;
  readonly featureStore: Record<string, number>;
}

async function metricSnapshot(url: string): Promise<MetricSnapshot> {
  const out: MetricSnapshot = { gc: {}, related: {}, featureStore: {} };
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    // one labelled series: `<name>{<label>="k"} v` lines into `{ k: v }`
    const series = (name: string, label: string, into: Record<string, number>): void => {
      for (const m of text.matchAll(new RegExp(`^${name}\\{${label}="(\\w+)"\\} ([\\d.e+-]+)$`, 'gm'))) into[m[1] as string] = Number(m[2]);
    };
    series('nodejs_gc_duration_seconds_sum', 'kind', out.gc);
    series('recspine_related_cache', 'stat', out.related);
    series('recspine_feature_store', 'stat', out.featureStore);
  } catch {
    /* no metrics */
  }
  return out;
}

/** hits / (hits + misses) between two counter snapshots, or null when nothing was looked up. */
function hitRate(a: Record<string, number>, b: Record<string, number>, hits: string, misses: string): number | null {
  const h = (b[hits] ?? 0) - (a[hits] ?? 0);
  const m = (b[misses] ?? 0) - (a[misses] ?? 0);
  return h + m > 0 ? Number((h / (h + m)).toFixed(3)) : null;
}

/** A load step's result with the host-stall report of the probe that ran beside it. */
type Measured = LoadResult & { readonly hostStalls?: StallReport };

/** One open-loop step with the stall probe alongside (see `stallProbe.ts`). */
async function measured(opts: Parameters<typeof runOpenLoop>[0]): Promise<Measured> {
  const { result, stalls } = await withStallProbe(opts.seconds, () => runOpenLoop(opts));
  return stalls === undefined ? result : { ...result, hostStalls: stalls };
}

/** `, host stalls: max 76 ms, 2 over 30 ms` for a step's progress line. */
function stallNote(s: StallReport | undefined): string {
  return s === undefined ? '' : `, host stalls${s.realtime ? '' : ' (not realtime)'}: max ${s.maxGapMs} ms, ${s.over30Ms} over 30 ms`;
}

/** CPU seconds (user + system) of a process and all its descendants, from /proc (Linux). */
function treeCpuSeconds(rootPid: number): number {
  const ticks = 100; // USER_HZ: 100 on Linux
  const parentOf = new Map<number, number>();
  const cpuOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      // fields after the command (which may hold spaces) start after the last ')'
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(d), Number(f[1]));
      cpuOf.set(Number(d), (Number(f[11]) + Number(f[12])) / ticks);
    } catch {
      /* exited meanwhile */
    }
  }
  let sum = 0;
  for (const [pid, cpu] of cpuOf) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentOf.get(p)) {
      if (p === rootPid) {
        sum += cpu;
        break;
      }
    }
  }
  return sum;
}

/** Busy and total jiffies of the whole machine (`/proc/stat`, first line; Linux). */
function machineJiffies(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** CPU seconds Redis has used (`INFO cpu`, user + system, main and children), or undefined without redis-cli. */
function redisCpuSeconds(url: string): number | undefined {
  try {
    const u = new URL(url);
    const out = execFileSync('redis-cli', ['-h', u.hostname, '-p', u.port || '6379', 'info', 'cpu'], { encoding: 'utf8', timeout: 2_000 });
    let sum = 0;
    for (const m of out.matchAll(/^used_cpu_(?:sys|user)(?:_children)?:([\d.]+)/gm)) sum += Number(m[1]);
    return sum;
  } catch {
    return undefined;
  }
}

/**
 * Fixed-rate steps (`--rates`): latency, per-stage p99 and server CPU per request at each rate,
 * and where the rest of the machine's CPU went over the step: the load generator (this process),
 * Redis (`INFO cpu` of `--redis-url`), and the whole machine's busy cores (`/proc/stat`), so a
 * step that saturates the box shows as such.
 */
async function fixedRateSteps(
  rates: readonly number[],
  inputs: LoadInputs,
  pid: number | undefined,
  startupS: number,
  t0: number,
): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  const results: Record<string, unknown>[] = [];
  for (const [stepIndex, rate] of rates.entries()) {
    await waitIdle(base);
    const cpu0 = pid === undefined ? undefined : treeCpuSeconds(pid);
    const snap0 = await metricSnapshot(base);
    const redisUrl = flags['redis-url'] ?? 'redis://127.0.0.1:6379';
    const redis0 = mode === 'production' ? redisCpuSeconds(redisUrl) : undefined;
    const gen0 = process.cpuUsage();
    const box0 = machineJiffies();
    const w0 = performance.now();
    // a seed per step: repeated rates (`--rates 100,100,100`) must not replay the same requests,
    // which the per-item caches would then answer from the previous step
    const r = await measured({ baseUrl: base, rate, seconds: stepSeconds, inputs, seed: rate + 1000 * stepIndex, scheduling });
    const wallS = (performance.now() - w0) / 1000;
    const box1 = machineJiffies();
    const gen = process.cpuUsage(gen0);
    const redis1 = redis0 === undefined ? undefined : redisCpuSeconds(redisUrl);
    const cpuS = pid === undefined || cpu0 === undefined ? undefined : treeCpuSeconds(pid) - cpu0;
    const perReq = (seconds: number | undefined): number | null =>
      seconds === undefined || r.ok === 0 ? null : Number(((seconds * 1000) / r.ok).toFixed(2));
    const loadgenCpuMsPerRequest = perReq((gen.user + gen.system) / 1e6);
    const redisCpuMsPerRequest = perReq(redis1 === undefined || redis0 === undefined ? undefined : redis1 - redis0);
    const machineBusyCores = Number((((box1.busy - box0.busy) / Math.max(1, box1.total - box0.total)) * cpus().length).toFixed(2));
    const load = loadavg();
    const snap1 = await metricSnapshot(base);
    // GC pause time by kind over the step, per request: every worker's (a worker's /metrics is the whole server's since 27 Nov)
    const gcMsPerRequest = Object.fromEntries(
      Object.entries(snap1.gc).map(([k, v]) => [k, r.ok > 0 ? Number((((v - (snap0.gc[k] ?? 0)) * 1000) / r.ok).toFixed(2)) : 0]),
    );
    const relatedHitRate = hitRate(snap0.related, snap1.related, 'hits', 'misses');
    const itemCacheHitRate = hitRate(snap0.featureStore, snap1.featureStore, 'cacheHits', 'cacheMisses');
    const cpuMsPerRequest = cpuS === undefined || r.ok === 0 ? null : (cpuS * 1000) / r.ok;
    rows.push({
      rate,
      achieved: Number(r.achievedQps.toFixed(1)),
      p50: r.overall.p50,
      p99: r.overall.p99,
      p999: r.overall.p999,
      serverP99: r.serverTotal.p99,
      errors: r.errors,
      degradedShare: r.ok > 0 ? Number((r.degraded / r.ok).toFixed(3)) : 0,
      cpuMsPerReq: cpuMsPerRequest === null ? '–' : Number(cpuMsPerRequest.toFixed(1)),
      serverCpuShare: cpuS === undefined ? '–' : Number((cpuS / wallS).toFixed(2)),
      maxStallMs: r.hostStalls?.maxGapMs ?? '–',
      maxWorkerShare: Number((r.workerShares[0] ?? 0).toFixed(2)),
      genCpuMsPerReq: loadgenCpuMsPerRequest ?? '–',
      redisCpuMsPerReq: redisCpuMsPerRequest ?? '–',
      busyCores: machineBusyCores,
      gcMsPerReq: Object.values(gcMsPerRequest).reduce((a, b) => a + b, 0),
      majorGcMsPerReq: gcMsPerRequest['major'] ?? 0,
      relatedHit: relatedHitRate ?? '–',
      itemCacheHit: itemCacheHitRate ?? '–',
      load1: Number((load[0] ?? 0).toFixed(1)),
    });
    results.push({
      ...r,
      cpuSeconds: cpuS ?? null,
      wallSeconds: wallS,
      cpuMsPerRequest,
      loadgenCpuMsPerRequest,
      redisCpuMsPerRequest,
      machineBusyCores,
      gcMsPerRequest,
      relatedHitRate,
      itemCacheHitRate,
      loadAverage: load,
    });
    console.log(
      `  ${rate} QPS → p50 ${r.overall.p50.toFixed(1)} p99 ${r.overall.p99.toFixed(1)} ms, CPU ${cpuMsPerRequest?.toFixed(1) ?? '–'} ms/request, load ${(load[0] ?? 0).toFixed(1)}${stallNote(r.hostStalls)}`,
    );
  }
  printTable(`fixed rates (${mode}, ${workers} worker(s), items ${items ?? 'world'})`, rows);
  for (const [i, res] of results.entries()) {
    printTable(
      `per stage p99 at ${rates[i]} QPS (ms)`,
      Object.entries((res as unknown as LoadResult).perStageP99Ms).map(([stage, p99]) => ({ stage, p99 })),
    );
    printTable(
      `slowest requests at ${rates[i]} QPS (client ms from the scheduled send; server ms inside the handler)`,
      (res as unknown as LoadResult).slowest.map((x) => ({
        ms: Number(x.ms.toFixed(1)),
        serverMs: x.serverMs === undefined ? '–' : Number(x.serverMs.toFixed(1)),
        slot: x.slot,
        degraded: x.degraded ? 'yes' : 'no',
        stages: Object.entries(x.stages)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', '),
      })),
    );
  }
  writeResult(
    flags.name ?? 'load-fixed',
    {
      mode,
      preset,
      workers,
      stepSeconds,
      rates,
      itemsFlag: items ?? null,
      serverNodeArgs,
      loadgen: 'open-loop, same machine',
      loadgenPriority,
      agentScheduling: scheduling,
      inputs: inputs.population ?? 'sample',
    },
    { steps: results, serverRssBytes: await residentBytes(base), startupSeconds: startupS, wallSeconds: (performance.now() - t0) / 1000 },
  );
}

/** Resident memory of the server process(es), from `/metrics` (one worker's answer when clustered). */
async function residentBytes(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes'));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  } catch {
    return undefined;
  }
}

if (process.argv[1] === import.meta.filename) await main();
