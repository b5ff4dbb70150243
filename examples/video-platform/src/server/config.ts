import { cpus } from 'node:os';
import { CoreErrors } from '@recspine/core';

/** Server configuration: from environment variables, overridden by `--flags`. */
export interface ServerConfig {
  /** `embedded`: in-memory store + in-process bus, no servers. `production`: Redis + Kafka. */
  readonly mode: 'embedded' | 'production';
  readonly host: string;
  readonly port: number;
  /** World/model preset whose artifacts to serve (`.data/current-<preset>.json`). */
  readonly preset: string;
  readonly redisUrl: string;
  /** Comma-separated `host:port` list: use Redis Cluster instead of a single node. */
  readonly redisCluster: readonly string[];
  readonly kafkaBrokers: readonly string[];
  readonly kafkaTopic: string;
  readonly kafkaPartitions: number;
  /**
   * How long the broker holds an aggregator fetch that finds no new event, ms (kafkajs
   * `maxWaitTimeInMs`). A fetch returns as soon as an event arrives, so this sets only how often an
   * idle consumer polls (each poll is a round trip plus decoding on the serving thread). Default
   * 250 (the features package's latency default is 20): an idle 10k-item server's CPU went 99 → 50
   * ms/s, and the end-to-end freshness was unchanged (see the example README).
   */
  readonly kafkaMaxWaitMs: number;
  /**
   * Apply `@recspine/features`' workaround for kafkajs 2.2.x's idle 1 ms timer loop
   * (`KafkaEventBus` `patchIdleLoop`, tulios/kafkajs#1556). Default true; `false` to measure
   * kafkajs as released.
   */
  readonly kafkaIdlePatch: boolean;
  /** How long an end-of-video related list is served from memory, ms (`relatedCacheMs` of `buildVideoRecommender`; 0 = off). Default 30 000. */
  readonly relatedCacheMs: number;
  /** HTTP worker processes (node:cluster). 1 = no cluster (unless `semiSpaceMb` needs a worker process). */
  readonly workers: number;
  /**
   * V8 young-generation semi-space of the HTTP worker processes, MiB (`--max-semi-space-size`);
   * 0 = V8's default (16). `auto` (default): 64 when `workers` > 1, else 0. A heap flag takes
   * effect only at process start, so the cluster primary passes it to the workers it forks (and
   * forks one worker when `workers` is 1 and a size is set); a `--max-semi-space-size` given to
   * `node` itself wins. Measured in the example README (GC per request at 1M items).
   */
  readonly semiSpaceMb: number | 'auto';
  readonly slaMs: number;
  readonly debugByDefault: boolean;
  readonly maxInFlight: number;
  /**
   * Requests a worker runs through the pipeline at once; later ones wait in a FIFO queue (their
   * wait counts against the SLA: core's `startedAt`). 0 = no limit. Why: requests interleave at
   * every await (Redis, ONNX), so at high load a worker held dozens of half-done requests, each
   * with ~1–2 MB of candidates and features alive; young-generation GC promoted that in-flight
   * data (4–17 MB per scavenge at 200 QPS, 20–40 ms pauses) and the pauses queued more requests. A
   * small limit keeps the CPU busy through the I/O waits and bounds the live set.
   */
  readonly concurrency: number;
  readonly maxLoopDelayMs: number;
  /**
   * Admission control's adaptive in-flight limit steers admitted requests (admit → response)
   * under this latency, ms; 0 = off (only `maxInFlight` and `maxLoopDelayMs`).
   */
  readonly admissionTargetMs: number;
  /**
   * The adaptive in-flight limit also backs off while the event loop's delay (p99 over a 250 ms
   * window) is above this, ms, so the loop stays free to answer the sheds fast; 0 = off (default).
   * Off by default: on a CPU-starved host (noisy neighbours) the loop is late at normal load too,
   * and in A/B game-day runs on a saturated box it kept the limit down after the overload and shed
   * normal traffic (10–13 requests after every overload, vs 0 with it off). Worth an A/B on a quiet host.
   */
  readonly admissionLoopDelayMs: number;
  /** p99 the adaptive trimmer steers towards. */
  readonly trimTargetP99Ms: number;
  /** Planned-spike cap on the quality factor (1 = off; 0.75 trims 200 → 150 ahead of an event). */
  readonly plannedSpikeCap: number;
  /** Append impressions to this JSONL file; empty = off. */
  readonly impressionLog: string;
  /** Candidates coarse rank passes on (the base of adaptive trimming). */
  readonly coarseKeep: number;
  /**
   * Items asked of the homepage's two-tower and popularity sources per request; 0 (default) = the
   * serving module's homepage quotas (`DEFAULT_HOMEPAGE_QUOTAS`: two-tower 600, popularity 200,
   * fresh 100, cold-start 100 — about 1 000 candidates into coarse rank).
   */
  readonly retrieveK: number;
  /** Serve the catalog padded to this many items (load tests at 1M); 0 = the world's own count. */
  readonly items: number;
  /**
   * ANN backend of the item index: `auto` (exact in embedded mode; in production usearch, or
   * IVF above 100k items), `exact`, `usearch`, `hnswlib` or `ivf`.
   */
  readonly ann: 'auto' | 'exact' | 'usearch' | 'hnswlib' | 'ivf';
  /**
   * Operator endpoints under `/admin/*` (fault injection, index rebuild/rollback, model push, spike
   * cap, item counters) for game days and deploy hooks. Off by default; loopback callers only.
   */
  readonly admin: boolean;
  /** Production mode: where events spill to disk while Kafka is unreachable (`SpillingEventBus`); empty = `<tmp>/recspine-spill-<port>`. */
  readonly spillDir: string;
  /** Bound of the event spill, bytes; beyond it events are refused with 503 + Retry-After. */
  readonly spillMaxBytes: number;
  /** How long a publish waits for Kafka before spilling, ms. */
  readonly spillPublishTimeoutMs: number;
  /** How long an open breaker waits before its half-open trial, ms (recovery time after a dependency returns). */
  readonly breakerHalfOpenMs: number;
}

const ENV: Record<keyof ServerConfig, string> = {
  mode: 'RECSPINE_MODE',
  host: 'HOST',
  port: 'PORT',
  preset: 'RECSPINE_PRESET',
  redisUrl: 'REDIS_URL',
  redisCluster: 'REDIS_CLUSTER',
  kafkaBrokers: 'KAFKA_BROKERS',
  kafkaTopic: 'KAFKA_TOPIC',
  kafkaPartitions: 'KAFKA_PARTITIONS',
  kafkaMaxWaitMs: 'KAFKA_MAX_WAIT_MS',
  relatedCacheMs: 'RECSPINE_RELATED_CACHE_MS',
  kafkaIdlePatch: 'RECSPINE_KAFKA_IDLE_PATCH',
  workers: 'RECSPINE_WORKERS',
  semiSpaceMb: 'RECSPINE_SEMI_SPACE_MB',
  slaMs: 'RECSPINE_SLA_MS',
  debugByDefault: 'RECSPINE_DEBUG',
  maxInFlight: 'RECSPINE_MAX_IN_FLIGHT',
  concurrency: 'RECSPINE_CONCURRENCY',
  maxLoopDelayMs: 'RECSPINE_MAX_LOOP_DELAY_MS',
  admissionTargetMs: 'RECSPINE_ADMISSION_TARGET_MS',
  admissionLoopDelayMs: 'RECSPINE_ADMISSION_LOOP_DELAY_MS',
  trimTargetP99Ms: 'RECSPINE_TRIM_TARGET_P99_MS',
  plannedSpikeCap: 'RECSPINE_SPIKE_CAP',
  impressionLog: 'RECSPINE_IMPRESSION_LOG',
  coarseKeep: 'RECSPINE_COARSE_KEEP',
  retrieveK: 'RECSPINE_RETRIEVE_K',
  items: 'RECSPINE_ITEMS',
  ann: 'RECSPINE_ANN',
  admin: 'RECSPINE_ADMIN',
  spillDir: 'RECSPINE_SPILL_DIR',
  spillMaxBytes: 'RECSPINE_SPILL_MAX_BYTES',
  spillPublishTimeoutMs: 'RECSPINE_SPILL_PUBLISH_TIMEOUT_MS',
  breakerHalfOpenMs: 'RECSPINE_BREAKER_HALF_OPEN_MS',
};

const DEFAULTS: ServerConfig = {
  mode: 'embedded',
  host: '127.0.0.1',
  port: 8080,
  preset: 'demo',
  redisUrl: 'redis://127.0.0.1:6379',
  redisCluster: [],
  kafkaBrokers: ['127.0.0.1:9092'],
  kafkaTopic: 'recspine.events',
  kafkaPartitions: 6,
  kafkaMaxWaitMs: 250,
  relatedCacheMs: 30_000,
  kafkaIdlePatch: true,
  workers: 1,
  semiSpaceMb: 'auto',
  slaMs: 85,
  debugByDefault: true,
  maxInFlight: 256,
  concurrency: 8,
  maxLoopDelayMs: 60,
  admissionTargetMs: 60,
  admissionLoopDelayMs: 0,
  trimTargetP99Ms: 40,
  plannedSpikeCap: 1,
  impressionLog: '',
  coarseKeep: 200,
  retrieveK: 0,
  items: 0,
  ann: 'auto',
  admin: false,
  spillDir: '',
  spillMaxBytes: 256 * 1024 * 1024,
  spillPublishTimeoutMs: 1_000,
  breakerHalfOpenMs: 1_000,
};

const bad = (key: string, msg: string): never => {
  throw CoreErrors.create(
    'RECSPINE_ERR_CONFIG',
    `invalid server config \`${key}\` (${ENV[key as keyof ServerConfig] ?? key} / --${key}): ${msg}`,
    { field: key },
  );
};

function num(key: string, v: string, min: number, max: number, int = true): number {
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min || n > max)
    bad(key, `expected ${int ? 'an integer' : 'a number'} in [${min}, ${max}], got '${v}'`);
  return n;
}

/**
 * Reads the config from `env` and `argv` (`--port 9000`, `--mode=production`, `--workers auto`).
 * Unknown flags and bad values throw `RECSPINE_ERR_CONFIG` naming the key: a server must not start
 * half-configured.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2)): ServerConfig {
  const raw: Record<string, string> = {};
  for (const [k, e] of Object.entries(ENV)) if (env[e] !== undefined && env[e] !== '') raw[k] = env[e] as string;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) bad(a, 'positional arguments are not accepted');
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (!(key in ENV)) bad(key, `unknown flag; known: ${Object.keys(ENV).join(', ')}`);
    const val =
      eq > 0 ? a.slice(eq + 1) : argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith('--') ? (argv[++i] as string) : 'true';
    raw[key] = val;
  }
  const c: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(raw)) {
    switch (k) {
      case 'mode':
        if (v !== 'embedded' && v !== 'production') bad(k, "expected 'embedded' or 'production'");
        c[k] = v;
        break;
      case 'ann':
        if (v !== 'auto' && v !== 'exact' && v !== 'usearch' && v !== 'hnswlib' && v !== 'ivf')
          bad(k, "expected 'auto', 'exact', 'usearch', 'hnswlib' or 'ivf'");
        c[k] = v;
        break;
      case 'port':
        c[k] = num(k, v, 0, 65535);
        break;
      case 'workers':
        c[k] = v === 'auto' ? cpus().length : num(k, v, 1, 64);
        break;
      case 'items':
        c[k] = num(k, v, 0, 5_000_000);
        break;
      case 'semiSpaceMb':
        c[k] = v === 'auto' ? v : num(k, v, 0, 1024);
        break;
      case 'kafkaPartitions':
        c[k] = num(k, v, 1, 1024);
        break;
      case 'kafkaMaxWaitMs':
        c[k] = num(k, v, 1, 10_000);
        break;
      case 'relatedCacheMs':
        c[k] = num(k, v, 0, 3_600_000);
        break;
      case 'coarseKeep':
        c[k] = num(k, v, 10, 10_000);
        break;
      case 'retrieveK':
        c[k] = v === '0' ? 0 : num(k, v, 10, 10_000);
        break;
      case 'slaMs':
      case 'maxLoopDelayMs':
      case 'trimTargetP99Ms':
        c[k] = num(k, v, 1, 60_000, false);
        break;
      case 'admissionTargetMs':
      case 'admissionLoopDelayMs':
        c[k] = num(k, v, 0, 60_000, false);
        break;
      case 'maxInFlight':
        c[k] = num(k, v, 1, 100_000);
        break;
      case 'concurrency':
        c[k] = num(k, v, 0, 10_000);
        break;
      case 'plannedSpikeCap':
        c[k] = num(k, v, 0.1, 1, false);
        break;
      case 'spillMaxBytes':
        c[k] = num(k, v, 1024, 1024 ** 4);
        break;
      case 'spillPublishTimeoutMs':
      case 'breakerHalfOpenMs':
        c[k] = num(k, v, 50, 600_000);
        break;
      case 'debugByDefault':
      case 'admin':
      case 'kafkaIdlePatch':
        if (v !== 'true' && v !== 'false') bad(k, "expected 'true' or 'false'");
        c[k] = v === 'true';
        break;
      case 'redisCluster':
      case 'kafkaBrokers': {
        const list = v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const hp of list) if (!/^[\w.-]+:\d+$/.test(hp)) bad(k, `'${hp}' is not host:port`);
        c[k] = list;
        break;
      }
      default:
        c[k] = v;
    }
  }
  return c as unknown as ServerConfig;
}

/** Semi-space of the clustered workers when `semiSpaceMb` is `auto`, MiB (see the example README). */
export const AUTO_SEMI_SPACE_MB = 64;

/**
 * The `node` flags the cluster workers need on top of this process's own (`execArgv`), or
 * `undefined` when this process already runs with what the config asks (V8's default semi-space,
 * or a `--max-semi-space-size` given to `node` explicitly, which wins).
 *
 * With a semi-space set, the workers also run with `--no-memory-reducer`: V8's memory reducer
 * starts a full GC when allocation slows down (a lull in traffic) to give memory back, and its
 * final pause landed in the traffic that followed — 82–122 ms `Mark-Compact (reduce)` pauses at
 * 1M items (`--trace-gc`), p99 17 → 355 ms in that 20 s step. Regular GCs still run.
 *
 * And with `--no-allocation-site-pretenuring`: V8 allocates objects from an allocation site
 * straight into the old generation once most of that site's young objects survive a scavenge. On
 * a serving worker some request-scoped site sooner or later qualifies (a slow scavenge with
 * requests in flight), and then every request's young objects hang off dead old-space objects that
 * only a full GC can free, so each scavenge promotes them: the worker flipped into a state with
 * 18–28 % of the young generation surviving each scavenge (1.5 % otherwise), 10–15 MB promoted per
 * scavenge, scavenges of 16–33 ms and a Mark-Compact every ≈ 3 s (`--trace-gc-nvp`, 27 Nov, 1M
 * items, 100 QPS). Alternated runs, 3 × 20 s at 100 QPS each: with pretenuring 4 of 5 runs fell
 * into that state (p99 35–101 ms), without it 0 of 5 (p99 10.9–18.7 ms).
 *
 * And with `--heap-growing-percent=100` ({@link WORKER_HEAP_GROWING_PERCENT}): after a full GC V8
 * sets the next old-generation limit to the live size times a factor it picks from the GC's speed
 * (≈ 1.36 here), and starts incremental marking once the free room under that limit is about a
 * young generation (≈ 75 MB with a 64 MiB semi-space). With ≈ 240 MB live at 1M items that left
 * ≈ 15 MB of room, so a worker ran a full GC every 10–20 s from ≈ 90 s after start, each with
 * 18–105 ms of marking steps on the main thread inside ≈ 120 ms plus an 8–15 ms final pause
 * (`--trace-incremental-marking`, 27 Nov). p99 at a steady 200 QPS went from 6–7 ms to
 * 19–36 ms once they began. A factor of 2 leaves ≈ 165 MB of room: a full GC every ≈ 110 s per
 * worker, and p99 6.7–10.2 ms over 8 × 30 s at 200 QPS. The price is ≈ 200 MB more peak heap
 * per worker (≈ 500 MB before a full GC instead of ≈ 300).
 */
export function workerExecArgv(config: Pick<ServerConfig, 'semiSpaceMb' | 'workers'>, execArgv: readonly string[]): string[] | undefined {
  const mb = config.semiSpaceMb === 'auto' ? (config.workers > 1 ? AUTO_SEMI_SPACE_MB : 0) : config.semiSpaceMb;
  if (mb === 0) return undefined;
  if (execArgv.some((a) => a.startsWith('--max-semi-space-size') || a.startsWith('--max_semi_space_size'))) return undefined;
  // Each default is left out when `node` was given its own setting of that flag.
  const defaults = WORKER_V8_DEFAULTS.filter((d) => !execArgv.some((a) => d.given.test(a))).map((d) => d.flag);
  return [...execArgv, `--max-semi-space-size=${mb}`, ...defaults];
}

/** The old-generation growing factor of the clustered workers, in percent over 1 (see {@link workerExecArgv}). */
export const WORKER_HEAP_GROWING_PERCENT = 100;

const WORKER_V8_DEFAULTS: readonly { readonly flag: string; readonly given: RegExp }[] = [
  { flag: '--no-memory-reducer', given: /^--(no-)?memory[-_]reducer$/ },
  { flag: '--no-allocation-site-pretenuring', given: /^--(no-)?allocation[-_]site[-_]pretenuring$/ },
  { flag: `--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`, given: /^--heap[-_]growing[-_]percent(=|$)/ },
];
