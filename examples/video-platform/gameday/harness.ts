import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadInputs } from '../bench/loadgen.js';
import { FaultProxy, PrivateKafka, PrivateRedis, REPO_ROOT, hasBinary, sleep, tcpOpen } from './infra.js';
import { startLoad, summarize } from './LoadDriver.js';
import { RAMP_S, type GamedayContext, type Scenario, type ScenarioResult } from './scenarios.js';
import { ServerProcess } from './ServerProcess.js';

/** Settings of one game day. */
export interface GamedayOptions {
  readonly preset: string;
  /**
   * Capacity, QPS. `'auto'` (the default): measured against the game day's own server by
   * {@link measureCapacity} right after start-up. A number: taken as given.
   */
  readonly capacityQps?: number | 'auto';
  /** The start-up capacity ladder (with `capacityQps: 'auto'`). */
  readonly ladder?: LadderOptions;
  /** Share of capacity the load runs at. Default 0.8. */
  readonly loadShare?: number;
  readonly faultSeconds: number;
  readonly warmSeconds: number;
  readonly recoverSeconds: number;
  readonly slaMs: number;
  readonly badInputCount: number;
  /** Private ports: Redis, proxy, Kafka (+1 controller), server. */
  readonly ports?: { readonly redis: number; readonly proxy: number; readonly kafka: number; readonly server: number };
  /** Extra server flags. */
  readonly serverFlags?: readonly string[];
  readonly log?: (line: string) => void;
}

export const DEFAULT_PORTS = { redis: 6481, proxy: 6482, kafka: 9482, server: 18481 } as const;

/** How {@link measureCapacity} climbs. */
export interface LadderOptions {
  /** First rate, QPS; also the warm-up's. Default 10. */
  readonly startQps?: number;
  /** Each step's rate is the previous one × this. Default 1.25. */
  readonly factor?: number;
  /** Length of one step, s (its first second is not judged). Default 3. */
  readonly stepSeconds?: number;
  /** Unjudged warm-up at `startQps` before the first step, s (connections, JIT of the HTTP path). Default 3. */
  readonly warmSeconds?: number;
  /** Bound on the whole ladder, warm-up included, s. Default 45. */
  readonly maxSeconds?: number;
  /** A step passes while the client-side p99 of its 200s stays under this, ms. Default 50. */
  readonly p99Ms?: number;
  /**
   * A step with trimmed candidates (quality factor < 1) misses. Default true (capacity at full
   * quality). false: capacity with the trimmer's help, i.e. the most the server sustains at all — a
   * rate whose double surely needs shedding (the CI overload variant).
   */
  readonly fullQuality?: boolean;
}

/** One rung of the capacity ladder. */
export interface LadderStep {
  readonly qps: number;
  readonly p99Ms: number;
  readonly shed: number;
  readonly errors: number;
  readonly minQualityFactor: number;
  readonly pass: boolean;
}

/**
 * Measures the server's capacity with a short open-loop ladder (bounded by `maxSeconds`): after an
 * unjudged warm-up, the rate goes up by `factor` every `stepSeconds` until two steps in a row miss
 * (one noisy step on a shared box does not end it) — a step misses when the client-side p99 of its
 * 200s is over `p99Ms` (the load bench's `maxQpsP99Under50Ms` criterion), more than 1 % of it is
 * shed, any request fails, or the adaptive trimmer cut candidates (quality factor < 1). Capacity is
 * the highest rate that passed before the first miss: what this server sustains at full quality on
 * this box right now, beside the game day's own dependencies and load generator — the figure "80 %
 * of measured capacity" and "2× capacity" mean. (Counting trimmed steps as capacity would spend the
 * trimmer's headroom before the overload scenario starts.) Afterwards it waits (bounded) for the
 * trimmer to climb back to full quality, so the scenarios start from a rested server.
 */
export async function measureCapacity(
  server: ServerProcess,
  inputs: LoadInputs,
  o: LadderOptions = {},
  log: (line: string) => void = () => undefined,
): Promise<{ qps: number | undefined; steps: LadderStep[] }> {
  const factor = o.factor ?? 1.25;
  const stepS = o.stepSeconds ?? 3;
  const warmS = o.warmSeconds ?? 3;
  const maxS = o.maxSeconds ?? 45;
  const limit = o.p99Ms ?? 50;
  let rate = o.startQps ?? 10;
  const L = startLoad({ baseUrl: server.url, rate, inputs, maxSeconds: maxS + 5, seed: 99 });
  const steps: LadderStep[] = [];
  let capacity: number | undefined;
  let misses = 0;
  try {
    await sleep(warmS * 1000);
    for (let from = L.now(); from + stepS <= maxS && misses < 2; from += stepS) {
      L.setRate(rate);
      const qf: number[] = [];
      while (L.now() < from + stepS) {
        await sleep(500);
        qf.push((await server.json<{ qualityFactor: number }>('/admin/state')).body.qualityFactor);
      }
      const w = summarize(L.records, from + 1, from + stepS);
      const minQf = Math.min(1, ...qf);
      const errors = w.errors5xx + w.otherErrors;
      const pass = w.ok > 0 && w.p99Ms <= limit && w.shed <= 0.01 * w.requests && errors === 0 && (minQf >= 1 || o.fullQuality === false);
      steps.push({ qps: Math.round(rate * 10) / 10, p99Ms: w.p99Ms, shed: w.shed, errors, minQualityFactor: minQf, pass });
      log(
        `  capacity ladder ${rate.toFixed(1)} QPS: p99 ${w.p99Ms.toFixed(1)} ms, ${w.shed} shed, ${errors} errors, quality factor ≥ ${minQf.toFixed(2)} → ${pass ? 'pass' : 'miss'}`,
      );
      if (pass && misses === 0) capacity = rate;
      misses = pass ? 0 : misses + 1;
      rate *= factor;
    }
  } finally {
    await L.stop();
  }
  // Leave the server as the scenarios expect it: full quality (bounded wait; the trimmer climbs back while idle).
  const until = performance.now() + 15_000;
  while (performance.now() < until && (await server.json<{ qualityFactor: number }>('/admin/state')).body.qualityFactor < 1)
    await sleep(500);
  return { qps: capacity === undefined ? undefined : Math.round(capacity), steps };
}

/** Whether this machine can run the game day (binaries, free ports, trained artifacts). */
export async function prerequisites(preset: string, ports = DEFAULT_PORTS): Promise<{ ok: boolean; missing: string[] }> {
  const missing: string[] = [];
  if (!(await hasBinary('redis-server'))) missing.push('redis-server (apt-get install redis-server)');
  if (!(await PrivateKafka.available())) missing.push('java 17+ (for scripts/kafka.sh)');
  if (!existsSync(join(REPO_ROOT, '.cache', 'kafka', 'lib-4.4.0', '.complete')) && !(await hasBinary('mvn', ['-v'])))
    missing.push('Kafka jars in .cache/kafka or Maven to fetch them (scripts/kafka.sh up once)');
  if (!existsSync(join(import.meta.dirname, '..', '.data', `current-${preset}.json`)))
    missing.push(`trained ${preset} artifacts (npm run pipeline -w examples/video-platform -- --preset ${preset} --seeds 1)`);
  for (const [what, p] of Object.entries(ports)) if (await tcpOpen(p, 300)) missing.push(`free port ${p} (${what})`);
  if (await tcpOpen(ports.kafka + 1, 300)) missing.push(`free port ${ports.kafka + 1} (kafka controller)`);
  return { ok: missing.length === 0, missing };
}

/** A running game-day environment: private Redis + fault proxy + private Kafka + the server. */
export interface Gameday {
  readonly ctx: GamedayContext;
  readonly capacitySource: string;
  run(name: string, s: Scenario): Promise<ScenarioResult>;
  teardown(): Promise<void>;
}

/**
 * Starts everything the scenarios need, all private and on loopback: redis-server on its own port
 * (AOF on, so a restart reloads it), the fault proxy in front of it (the server talks to Redis only
 * through the proxy), a Kafka broker on its own ports, and the example server in production mode
 * with the admin endpoints on. Tears down whatever it started if start-up fails.
 */
export async function startGameday(o: GamedayOptions): Promise<Gameday> {
  const log = o.log ?? ((l: string) => console.log(l));
  const ports = o.ports ?? DEFAULT_PORTS;
  const work = mkdtempSync(join(tmpdir(), 'recspine-gameday-'));
  const redis = new PrivateRedis(ports.redis);
  const proxy = new FaultProxy(ports.proxy, ports.redis);
  const kafka = new PrivateKafka(ports.kafka);
  const topic = `recspine.gameday.${Date.now().toString(36)}`;
  const server = new ServerProcess({
    port: ports.server,
    preset: o.preset,
    redisUrl: `redis://127.0.0.1:${ports.proxy}`,
    kafkaBrokers: kafka.brokers,
    kafkaTopic: topic,
    spillDir: join(work, 'spill'),
    logFile: join(work, 'server.log'),
    extra: o.serverFlags ?? [],
  });
  let kafkaUp = false;
  const teardown = async (): Promise<void> => {
    await server.stop().catch(() => undefined);
    if (kafkaUp) await kafka.down().catch(() => undefined);
    await proxy.stop().catch(() => undefined);
    await redis.stop().catch(() => undefined);
    if (process.env.RECSPINE_GAMEDAY_KEEP !== '1') rmSync(work, { recursive: true, force: true });
  };
  try {
    log(
      `game day: private redis :${ports.redis}, proxy :${ports.proxy}, kafka :${ports.kafka}, server :${ports.server} (work dir ${work})`,
    );
    await redis.start();
    await proxy.start();
    const tk = performance.now();
    kafkaUp = true; // `down` is harmless if `up` failed half-way
    await kafka.up();
    log(`  kafka up in ${((performance.now() - tk) / 1000).toFixed(1)} s`);
    const ts = performance.now();
    await server.start();
    log(`  server ready in ${((performance.now() - ts) / 1000).toFixed(1)} s (log ${join(work, 'server.log')})`);
  } catch (e) {
    await teardown();
    throw e;
  }
  const inputs = await server.inputs();
  let cap: { qps: number; source: string };
  if (typeof o.capacityQps === 'number') cap = { qps: o.capacityQps, source: '--capacity flag' };
  else {
    const tc = performance.now();
    const m = await measureCapacity(server, inputs, o.ladder, log);
    const secs = ((performance.now() - tc) / 1000).toFixed(0);
    if (m.qps === undefined) {
      // Not even the ladder's first rate held: the box is saturated (other jobs?). Run anyway at that
      // rate, and say so: figures from such a run judge the box, not the server.
      cap = {
        qps: o.ladder?.startQps ?? 10,
        source: `NOT measured: no ladder rate held p99 ≤ ${o.ladder?.p99Ms ?? 50} ms (box saturated?), so the ladder's first rate (${secs} s)`,
      };
    } else {
      cap = {
        qps: m.qps,
        source: `measured at start-up: highest ladder rate at full quality with client p99 ≤ ${o.ladder?.p99Ms ?? 50} ms and ≤ 1 % shed (${secs} s)`,
      };
    }
  }
  const ctx: GamedayContext = {
    server,
    redis,
    proxy,
    kafka,
    kafkaTopic: topic,
    inputs,
    preset: o.preset,
    capacityQps: cap.qps,
    qps: Math.max(1, Math.round(cap.qps * (o.loadShare ?? 0.8))),
    faultSeconds: o.faultSeconds,
    // the baseline before a fault needs load after the ramp-up that the figures skip
    warmSeconds: Math.max(o.warmSeconds, RAMP_S + 2),
    recoverSeconds: o.recoverSeconds,
    slaMs: o.slaMs,
    badInputCount: o.badInputCount,
    log,
  };
  return {
    ctx,
    capacitySource: cap.source,
    async run(name, s) {
      log(`\n▶ ${name}`);
      // Each scenario starts from a healthy system: dependencies up, no fault, no proxy latency.
      proxy.setLatency(0);
      if (!redis.running) await redis.start();
      await proxy.start();
      await server.json('/admin/faults/fine', { mode: 'none' }).catch(() => undefined);
      await server.json('/admin/spike', { cap: 1 }).catch(() => undefined);
      const r = await s(ctx);
      const out = { ...r, slaMs: o.slaMs };
      for (const c of out.checks) log(`  ${c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.measured}`);
      if (!server.alive) throw new Error(`the server died during ${name}; see its log`);
      return out;
    },
    teardown,
  };
}
