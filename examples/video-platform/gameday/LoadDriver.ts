/**
 * The game day's open-loop load: requests at a fixed arrival rate whatever the server does, latency
 * measured from each request's scheduled send time (no coordinated omission), and every response
 * kept as a compact record (when, status, latency, degraded, what ordered the slate, which tiers
 * were hit) so a scenario can cut the run into phases (before / during / after a fault) and measure
 * recovery. The request mix and inputs are the load bench's (`bench/loadgen.ts`); this driver adds
 * the per-response record the bench's aggregate-only generator does not keep. Loopback only,
 * bounded in time and in requests in flight.
 */
import http from 'node:http';
import { SEED_MIX, type LoadInputs, type Mix } from '../bench/loadgen.js';
import { mulberry32 as rng } from '../src/mulberry32.js';

/** One response. `t` is the scheduled send time, seconds since the driver started. */
export interface Rec {
  readonly t: number;
  readonly slot: string;
  /** HTTP status; 0 = connection error or client-side cap. */
  readonly status: number;
  readonly ms: number;
  readonly degraded: boolean;
  readonly orderedBy: string | undefined;
  /** `mode:tier` of each degradation on the response. */
  readonly tiers: readonly string[];
  /** Retry-After header on a 503. */
  readonly retryAfter: string | undefined;
  /** Error code of a non-200. */
  readonly code: string | undefined;
}

/** A running load. */
export interface RunningLoad {
  /** Seconds since the load started. */
  now(): number;
  /** Changes the arrival rate from now on. */
  setRate(qps: number): void;
  /** Every response so far (a live array). */
  readonly records: readonly Rec[];
  /** Stops sending, waits for in-flight responses (bounded), returns every record. */
  stop(): Promise<readonly Rec[]>;
}

/** Starts an open-loop load at `rate` QPS against `baseUrl` (loopback only) until `stop()` or `maxSeconds`. */
export function startLoad(opts: {
  readonly baseUrl: string;
  readonly rate: number;
  readonly inputs: LoadInputs;
  readonly maxSeconds: number;
  readonly mix?: Mix;
  readonly seed?: number;
  readonly maxInFlight?: number;
}): RunningLoad {
  const url = new URL(opts.baseUrl);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname)) throw new Error('game-day load targets loopback only');
  const mix = opts.mix ?? SEED_MIX;
  const rand = rng(opts.seed ?? 7);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const maxInFlight = opts.maxInFlight ?? 3000;
  const records: Rec[] = [];
  const { users, items, queries } = opts.inputs;
  const regions = opts.inputs.regions ?? ['US'];
  const anon = opts.inputs.anonymousShare ?? 0.12;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  let inFlight = 0;
  let rate = opts.rate;
  let stopped = false;
  const t0 = performance.now();
  const now = (): number => (performance.now() - t0) / 1000;

  const send = (scheduledAt: number): void => {
    const r = rand();
    const slot = r < mix.homepage ? 'homepage' : r < mix.homepage + mix['end-of-video'] ? 'end-of-video' : 'search';
    const t = (scheduledAt - t0) / 1000;
    if (inFlight >= maxInFlight) {
      records.push({
        t,
        slot,
        status: 0,
        ms: 0,
        degraded: false,
        orderedBy: undefined,
        tiers: [],
        retryAfter: undefined,
        code: 'client_cap',
      });
      return;
    }
    const p: Record<string, unknown> = { limit: slot === 'end-of-video' ? 10 : 20, context: { region: pick(regions) } };
    if (rand() >= anon) p.userId = pick(users);
    if (slot === 'end-of-video') p.itemId = pick(items);
    if (slot === 'search') p.query = pick(queries);
    const payload = JSON.stringify(p);
    inFlight++;
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
          const status = res.statusCode ?? 0;
          let degraded = false;
          let orderedBy: string | undefined;
          let tiers: string[] = [];
          let code: string | undefined;
          try {
            const j = JSON.parse(Buffer.concat(chunks).toString()) as {
              degraded?: boolean;
              code?: string;
              debug?: { orderedBy?: string; degradation?: { mode: string; tier: string }[] };
            };
            degraded = j.degraded === true;
            orderedBy = j.debug?.orderedBy;
            tiers = (j.debug?.degradation ?? []).map((d) => `${d.mode}:${d.tier}`);
            code = j.code;
          } catch {
            code = 'unparseable_body';
          }
          const ra = res.headers['retry-after'];
          records.push({ t, slot, status, ms, degraded, orderedBy, tiers, retryAfter: typeof ra === 'string' ? ra : undefined, code });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => {
      inFlight--;
      records.push({
        t,
        slot,
        status: 0,
        ms: performance.now() - scheduledAt,
        degraded: false,
        orderedBy: undefined,
        tiers: [],
        retryAfter: undefined,
        code: `conn:${(e as NodeJS.ErrnoException).code ?? e.message}`,
      });
    });
    req.end(payload);
  };

  // The schedule: the next send time advances by 1/rate from the previous one (rate may change).
  let nextAt = t0;
  const endAt = t0 + opts.maxSeconds * 1000;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (stopped) return;
    const nowMs = performance.now();
    while (nextAt <= nowMs && nextAt < endAt) {
      send(nextAt);
      nextAt += 1000 / rate;
    }
    if (nextAt >= endAt) {
      stopped = true;
      return;
    }
    timer = setTimeout(tick, 1);
  };
  tick();

  return {
    now,
    records,
    setRate(q: number) {
      rate = Math.max(1, q);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      const until = performance.now() + 12_000;
      while (inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
      agent.destroy();
      return records;
    },
  };
}

/** Summary of the records whose scheduled time falls in [from, to). */
export interface Window {
  readonly requests: number;
  readonly ok: number;
  readonly shed: number;
  readonly errors5xx: number;
  /** Non-503 4xx + connection errors (should be 0 for well-formed load). */
  readonly otherErrors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** p99 of the 503s (sheds must be fast). */
  readonly shedP99Ms: number;
  readonly degradedShare: number;
  readonly orderedBy: Readonly<Record<string, number>>;
  readonly tiers: Readonly<Record<string, number>>;
  /** Every 503 carried Retry-After. */
  readonly shedWithRetryAfter: boolean;
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return 0;
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] as number;
};

export function summarize(records: readonly Rec[], from = 0, to = Number.POSITIVE_INFINITY): Window {
  const rs = records.filter((r) => r.t >= from && r.t < to);
  const okLat: number[] = [];
  const shedLat: number[] = [];
  let ok = 0,
    shed = 0,
    e5 = 0,
    other = 0,
    deg = 0,
    shedRA = true;
  const orderedBy: Record<string, number> = {};
  const tiers: Record<string, number> = {};
  for (const r of rs) {
    if (r.status === 200) {
      ok++;
      okLat.push(r.ms);
      if (r.degraded) deg++;
      if (r.orderedBy) orderedBy[r.orderedBy] = (orderedBy[r.orderedBy] ?? 0) + 1;
      for (const t of r.tiers) tiers[t] = (tiers[t] ?? 0) + 1;
    } else if (r.status === 503) {
      shed++;
      shedLat.push(r.ms);
      if (r.retryAfter === undefined) shedRA = false;
    } else if (r.status >= 500) e5++;
    else other++;
  }
  return {
    requests: rs.length,
    ok,
    shed,
    errors5xx: e5,
    otherErrors: other,
    p50Ms: pct(okLat, 50),
    p99Ms: pct(okLat, 99),
    p999Ms: pct(okLat, 99.9),
    shedP99Ms: pct(shedLat, 99),
    degradedShare: ok === 0 ? 0 : deg / ok,
    orderedBy,
    tiers,
    shedWithRetryAfter: shedRA,
  };
}

/**
 * Seconds from `from` until responses are healthy again: the start of the first 1-second bucket
 * (at or after `from`) from which `holdSeconds` consecutive buckets each have at least `minShare` of
 * their 200s passing `healthy` (and at least one 200). Undefined when that never happens before `to`.
 */
export function recoverySeconds(
  records: readonly Rec[],
  from: number,
  to: number,
  healthy: (r: Rec) => boolean,
  minShare = 0.95,
  holdSeconds = 2,
): number | undefined {
  const buckets: { ok: number; good: number }[] = [];
  for (const r of records) {
    if (r.t < from || r.t >= to || r.status !== 200) continue;
    const b = Math.floor(r.t - from);
    const x = (buckets[b] ??= { ok: 0, good: 0 });
    x.ok++;
    if (healthy(r)) x.good++;
  }
  const good = (i: number): boolean => {
    const b = buckets[i];
    return b !== undefined && b.ok > 0 && b.good / b.ok >= minShare;
  };
  for (let i = 0; i < buckets.length; i++) {
    let hold = true;
    for (let j = 0; j < holdSeconds; j++) if (!good(i + j)) hold = false;
    if (hold) return i;
  }
  return undefined;
}
