import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultProxy, PrivateKafka, PrivateRedis, REPO_ROOT, hasBinary, tcpOpen } from './infra.js';
import { RAMP_S, type GamedayContext, type Scenario, type ScenarioResult } from './scenarios.js';
import { ServerProcess } from './ServerProcess.js';

/** Settings of one game day. */
export interface GamedayOptions {
  readonly preset: string;
  /** Capacity, QPS (default: bench-results/load.json `maxQpsP99Under50Ms`, else `fallbackCapacityQps`). */
  readonly capacityQps?: number;
  readonly fallbackCapacityQps?: number;
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

/** Where the capacity comes from. */
export function capacityFrom(opts: Pick<GamedayOptions, 'capacityQps' | 'fallbackCapacityQps'>): { qps: number; source: string } {
  if (opts.capacityQps !== undefined) return { qps: opts.capacityQps, source: '--capacity flag' };
  const f = join(REPO_ROOT, 'bench-results', 'load.json');
  if (existsSync(f)) {
    try {
      const j = JSON.parse(readFileSync(f, 'utf8')) as { metrics?: { maxQpsP99Under50Ms?: number } };
      const q = j.metrics?.maxQpsP99Under50Ms;
      if (typeof q === 'number' && q > 0) return { qps: q, source: 'bench-results/load.json maxQpsP99Under50Ms' };
    } catch {
      /* fall through */
    }
  }
  return { qps: opts.fallbackCapacityQps ?? 200, source: 'default (no bench-results/load.json)' };
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
  const cap = capacityFrom(o);
  const inputs = await server.inputs();
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
