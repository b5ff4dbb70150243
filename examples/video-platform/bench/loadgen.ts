/**
 * An open-loop load generator: requests are sent at a fixed arrival rate whether or not earlier
 * ones have finished, and latency is measured from each request's *scheduled* send time, so
 * queueing delay is counted rather than hidden (no coordinated omission).
 *
 * Hand-written rather than autocannon: autocannon is closed-loop per connection (a slow response
 * delays the next send), and wrk2 is not in Debian. It is bounded: a fixed duration, a cap on
 * requests in flight (beyond it a send counts as an error, not as a silent skip), loopback only.
 */
import http from 'node:http';
import { LatencyRecorder } from '../../../bench/kit.js';
import { mulberry32 as rng } from '../src/mulberry32.js';

export interface Mix {
  readonly homepage: number;
  readonly 'end-of-video': number;
  readonly search: number;
}

/** The seed's peak-QPS ratio: homepage 25 %, end-of-video 62 %, search 13 %. */
export const SEED_MIX: Mix = { homepage: 0.25, 'end-of-video': 0.62, search: 0.13 };

export interface LoadInputs {
  readonly users: readonly string[];
  readonly items: readonly string[];
  readonly queries: readonly string[];
  readonly regions?: readonly string[];
  /** Share of requests without a userId (logged-out / cold). Default 0.12. */
  readonly anonymousShare?: number;
  /**
   * Draw from the whole population instead of the sample lists: the user uniformly from
   * `u0…u<users-1>`, and end-of-video's watched item by popularity, Zipf(`zipfS`) over the whole
   * catalog `v0…v<items-1>` (rank → id through a fixed permutation, so popularity is not tied to
   * the id). What was just watched follows views, and views are heavy-tailed; drawing it from 50
   * sample items made every per-item cache (the related list, stable item features) hit on
   * nearly every request.
   */
  readonly population?: { readonly users: number; readonly items: number; readonly zipfS: number };
}

/**
 * A Zipf(s) sampler over ranks `0…n-1` (rank r has weight 1/(r+1)^s): an inverse-CDF table and a
 * binary search. Hand-written: it is ten lines, and the npm Zipf packages either approximate the
 * distribution (rejection on a continuous bound) or are unmaintained; an exact table for 1M ranks
 * is 8 MB, built once per load run.
 */
export function zipfSampler(n: number, s: number, rand: () => number): () => number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`zipf: n must be a positive integer, got ${n}`);
  if (!(s >= 0)) throw new Error(`zipf: s must be ≥ 0, got ${s}`);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 0; r < n; r++) cdf[r] = acc += 1 / Math.pow(r + 1, s);
  return () => {
    const u = rand() * acc;
    let lo = 0,
      hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A fixed permutation of `0…n-1`: r ↦ (r·a + b) mod n with gcd(a, n) = 1 (a bijection). */
export function rankPermutation(n: number): (r: number) => number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  let a = 2_654_435_761 % n || 1; // Knuth's multiplicative constant, nudged until coprime with n
  while (gcd(a, n) !== 1) a = (a + 1) % n || 1;
  const b = Math.floor(n / 3);
  // r·a < 2^53 for n ≤ 5M (MAX_PADDED_ITEMS): a < n, so r·a < n² ≤ 2.5e13
  return (r) => (r * a + b) % n;
}

export interface LoadResult {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly ok: number;
  readonly shed: number;
  readonly errors: number;
  readonly errors5xx: number;
  readonly degraded: number;
  readonly achievedQps: number;
  readonly overall: { p50: number; p99: number; p999: number; count: number };
  readonly perSlot: Record<string, { p50: number; p99: number; p999: number; count: number }>;
  readonly perStageP99Ms: Record<string, number>;
  /**
   * The server's own time per request (the response's `debug.timings.totalMs`): next to `overall`
   * it separates time inside the pipeline from time spent before the handler ran (a busy event
   * loop, the socket, the load generator itself).
   */
  readonly serverTotal: { p50: number; p99: number; p999: number; count: number };
  /**
   * Share of the answered requests each server process answered (`debug.worker`, its pid),
   * largest first: node:cluster balances connections, not requests, so this shows
   * whether the step loaded every worker.
   */
  readonly workerShares: readonly number[];
  /** The slowest requests (client ms, server ms, per-stage ms, slot, degraded), slowest first. */
  readonly slowest: readonly { ms: number; serverMs?: number; slot: string; degraded: boolean; stages: Record<string, number> }[];
}

/** How many of the slowest requests a step keeps for its report. */
const SLOWEST_KEPT = 8;

export async function runOpenLoop(opts: {
  readonly baseUrl: string;
  readonly rate: number;
  readonly seconds: number;
  readonly inputs: LoadInputs;
  readonly mix?: Mix;
  readonly maxInFlight?: number;
  readonly seed?: number;
  /**
   * Which idle keep-alive connection the next request takes (default `fifo`, round-robin over
   * the pool, as a load balancer's upstream pool does). node:cluster hands each *connection* to a
   * worker, and Node's agent defaults to `lifo`: when one or two requests are in flight it reuses
   * the same socket or two, so which worker answers depends on which sockets happen to be warm.
   * Seen once (27 Nov, a `--cpu-prof` run at 100 QPS, `lifo`): one worker 70–83 % busy, the other
   * 2–4 %. Unprofiled A/B pairs: largest worker share 0.51–0.67 with `lifo`, 0.51–0.60 with `fifo`.
   */
  readonly scheduling?: 'fifo' | 'lifo';
}): Promise<LoadResult> {
  const url = new URL(opts.baseUrl);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname)) throw new Error('load tests target loopback only');
  const mix = opts.mix ?? SEED_MIX;
  const rand = rng(opts.seed ?? 42);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: opts.scheduling ?? 'fifo' });
  const byWorker = new Map<number, number>();
  const total = Math.round(opts.rate * opts.seconds);
  const maxInFlight = opts.maxInFlight ?? 2000;
  const overall = new LatencyRecorder();
  const perSlot: Record<string, LatencyRecorder> = {};
  const perStage: Record<string, LatencyRecorder> = {};
  const serverTotal = new LatencyRecorder();
  const slowest: { ms: number; serverMs?: number; slot: string; degraded: boolean; stages: Record<string, number> }[] = [];
  let sent = 0,
    ok = 0,
    shed = 0,
    errors = 0,
    errors5xx = 0,
    degraded = 0,
    inFlight = 0;
  const { users, items, queries } = opts.inputs;
  const regions = opts.inputs.regions ?? ['US'];
  const anon = opts.inputs.anonymousShare ?? 0.12;

  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const pop = opts.inputs.population;
  const pickUser = pop === undefined ? () => pick(users) : () => `u${Math.floor(rand() * pop.users)}`;
  let pickItem = (): string => pick(items);
  if (pop !== undefined) {
    const rank = zipfSampler(pop.items, pop.zipfS, rand);
    const perm = rankPermutation(pop.items);
    pickItem = () => `v${perm(rank())}`;
  }
  const body = (): { slot: string; payload: string } => {
    const r = rand();
    const slot = r < mix.homepage ? 'homepage' : r < mix.homepage + mix['end-of-video'] ? 'end-of-video' : 'search';
    const p: Record<string, unknown> = { limit: slot === 'end-of-video' ? 10 : 20, context: { region: pick(regions) } };
    if (rand() >= anon) p.userId = pickUser();
    if (slot === 'end-of-video') p.itemId = pickItem();
    if (slot === 'search') p.query = pick(queries);
    return { slot, payload: JSON.stringify(p) };
  };

  const t0 = performance.now();
  const send = (scheduledAt: number): void => {
    sent++;
    if (inFlight >= maxInFlight) {
      errors++;
      return;
    }
    inFlight++;
    const { slot, payload } = body();
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: `/v1/recommend/${slot}`,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          inFlight--;
          const ms = performance.now() - scheduledAt;
          const code = res.statusCode ?? 0;
          if (code === 200) {
            ok++;
            overall.recordMs(ms);
            (perSlot[slot] ??= new LatencyRecorder()).recordMs(ms);
            try {
              const j = JSON.parse(Buffer.concat(chunks).toString()) as {
                degraded?: boolean;
                debug?: { timings?: { totalMs?: number; stages?: Record<string, number> }; worker?: number };
              };
              if (j.degraded) degraded++;
              const w = j.debug?.worker;
              if (w !== undefined) byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
              const stages = j.debug?.timings?.stages ?? {};
              for (const [st, v] of Object.entries(stages)) (perStage[st] ??= new LatencyRecorder()).recordMs(v);
              const serverMs = j.debug?.timings?.totalMs;
              if (serverMs !== undefined) serverTotal.recordMs(serverMs);
              if (slowest.length < SLOWEST_KEPT || ms > (slowest[slowest.length - 1] as { ms: number }).ms) {
                slowest.push({ ms, ...(serverMs === undefined ? {} : { serverMs }), slot, degraded: j.degraded === true, stages });
                slowest.sort((a, b) => b.ms - a.ms);
                slowest.length = Math.min(slowest.length, SLOWEST_KEPT);
              }
            } catch {
              errors++;
            }
          } else if (code === 503) shed++;
          else {
            errors++;
            if (code >= 500) errors5xx++;
          }
        });
      },
    );
    req.on('error', () => {
      inFlight--;
      errors++;
    });
    req.end(payload);
  };

  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * opts.rate) + 1);
      while (next < due) {
        send(t0 + (next / opts.rate) * 1000);
        next++;
      }
      if (next >= total) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  // drain, bounded
  const drainUntil = performance.now() + 10_000;
  while (inFlight > 0 && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  const s = (r: LatencyRecorder): LoadResult['overall'] => ({ p50: r.pMs(50), p99: r.pMs(99), p999: r.pMs(99.9), count: r.count });
  return {
    rate: opts.rate,
    seconds: opts.seconds,
    sent,
    ok,
    shed,
    errors: errors + inFlight,
    errors5xx,
    degraded,
    achievedQps: ok / elapsed,
    overall: s(overall),
    perSlot: Object.fromEntries(Object.entries(perSlot).map(([k, v]) => [k, s(v)])),
    perStageP99Ms: Object.fromEntries(Object.entries(perStage).map(([k, v]) => [k, v.pMs(99)])),
    serverTotal: s(serverTotal),
    workerShares: [...byWorker.values()].sort((a, b) => b - a).map((n) => n / Math.max(ok, 1)),
    slowest,
  };
}
