/**
 * End-to-end freshness: from a watch event POSTed to the API to the first recommendation for that
 * user that changed because of it. Events go API → bus (Kafka in production) → aggregator →
 * feature store; the next request's user tower reads the fresh history.
 *
 * Causation check: each trial first asks twice with the same request id (same exploration draws)
 * and needs identical slates (the control); only then posts the watch and polls, with that same
 * request id, until the slate differs.
 *
 *   npm run freshness -w examples/video-platform -- --mode production
 *   npx tsx bench/freshness-e2e.ts [--mode production|embedded] [--trials 30] [--preset demo] [--items N]
 *                                  [--redis-url redis://127.0.0.1:6379] [--kafka-topic recspine.events]
 *                                  [--warmup-seconds 15]
 *
 * Before the trials the server gets `--warmup-seconds` (15) of open-loop traffic (50 QPS, the load
 * test's warm-up): a just-started server answers its first requests degraded (cold JIT, first
 * ONNX runs), and a degraded answer is no evidence either way, so a cold first trial measured how
 * long the server took to warm up rather than the event's trip (per trial, `degradedPolls` says
 * how many polls were discarded that way). `--warmup-seconds 0` measures from cold. `FRESH_DEBUG=1`
 * prints the debug block of the first three degraded answers (which stage, which code).
 *
 * Writes bench-results/freshness-e2e.json (`freshnessP50Ms`, `freshnessP99Ms`).
 */
import { loadavg } from 'node:os';
import { parseFlags, printTable, writeResult, LatencyRecorder } from '../../../bench/kit.js';
import { inputsFrom, startChild } from './load.js';
import { runOpenLoop } from './loadgen.js';

const flags = parseFlags();
const mode = flags.mode ?? 'production';
const preset = flags.preset ?? 'demo';
const trials = Number(flags.trials ?? 30);
const warmupSeconds = Number(flags['warmup-seconds'] ?? 15);
/** Degraded answers seen by `slate` (discarded polls). */
let degradedSeen = 0;
const port = Number(flags.port ?? 18081);
const base = `http://127.0.0.1:${port}`;

/**
 * The slate for `userId` (same request id → same exploration draws), or `undefined` when the
 * response was degraded: a stage that ran out of budget on a busy machine changes the slate for
 * reasons other than the watch, so degraded answers are neither controls nor "changed" evidence.
 */
async function slate(userId: string, requestId: string): Promise<string | undefined> {
  const r = await fetch(`${base}/v1/recommend/homepage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, limit: 20, requestId, debug: true }),
  });
  const j = (await r.json()) as { items: { itemId: string }[]; debug?: { degradation?: { tier: string }[] } };
  // tier `none` (a stage that finished late but dropped nothing) leaves the slate as it would be
  if ((j.debug?.degradation ?? []).some((d) => d.tier !== 'none')) {
    if (process.env.FRESH_DEBUG && degradedSeen < 3) console.log(JSON.stringify(j.debug));
    degradedSeen++;
    return undefined;
  }
  return j.items.map((i) => i.itemId).join(',');
}

/** Two identical, non-degraded slates in a row (up to 10 tries): the control. */
async function control(userId: string, requestId: string): Promise<string | undefined> {
  let prev: string | undefined;
  for (let i = 0; i < 10; i++) {
    const s = await slate(userId, requestId);
    if (s !== undefined && s === prev) return s;
    prev = s;
  }
  return undefined;
}

const items = flags.items === undefined ? undefined : Number(flags.items);
const child = await startChild({
  mode,
  preset,
  workers: 1,
  port,
  extra: items === undefined ? [] : ['--items', String(items)],
  env: {
    ...(flags['redis-url'] ? { REDIS_URL: flags['redis-url'] } : {}),
    ...(flags['kafka-topic'] ? { KAFKA_TOPIC: flags['kafka-topic'] } : {}),
  },
  readyTimeoutMs: items !== undefined && items > 100_000 ? 900_000 : 180_000,
});
try {
  const inputs = await inputsFrom(base);
  if (warmupSeconds > 0) {
    // The load test's warm-up (15 s at 50 QPS): 5 s at 20 QPS left the server answering the first
    // trial's polls degraded for ~1.4 s on the host of 27 Nov 09:10 (47 polls discarded), which that
    // trial then counted as freshness.
    await runOpenLoop({ baseUrl: base, rate: 50, seconds: warmupSeconds, inputs });
    // One event through the producer before the trials, for a user no trial uses: the first send
    // connects and fetches metadata (196 ms then, 5–24 ms after), a start-up cost, not a trip time.
    const now = Date.now();
    await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [
          {
            id: `w-warmup-${now}`,
            type: 'watch',
            userId: 'fresh-warmup',
            itemId: inputs.items[0],
            atMs: now,
            watchMs: 1_000,
            completed: false,
          },
        ],
      }),
    });
  }
  const rec = new LatencyRecorder();
  const degradedPolls: number[] = [];
  let unstableControls = 0;
  let unchanged = 0;
  const perTrialMs: (number | null)[] = [];
  // how long each POST /v1/events took (the producer's send): tells a slow publish from a slow consume
  const postMs: number[] = [];
  // A different (user, item) walk on every run: re-watching an item already at the head of the user's
  // history (the same pairs as the previous run against the same Redis) changes nothing to see.
  const salt = Date.now() % 100_003;
  for (let t = 0; t < trials; t++) {
    const userId = inputs.users[(t * 7 + salt) % inputs.users.length] as string;
    const item = inputs.items[(t * 13 + 5 + salt * 31) % inputs.items.length] as string;
    const requestId = `fresh-${t}-${Date.now()}`;
    const a = await control(userId, requestId);
    if (a === undefined) {
      unstableControls++;
      continue;
    }
    const t0 = performance.now();
    const now = Date.now();
    const post = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        events: [{ id: `w-${t}-${now}`, type: 'watch', userId, itemId: item, atMs: now, watchMs: 600_000, completed: true }],
      }),
    });
    if (post.status !== 202) throw new Error(`event rejected: ${await post.text()}`);
    postMs.push(Math.round((performance.now() - t0) * 10) / 10);
    const degraded0 = degradedSeen;
    let changed = false;
    while (performance.now() - t0 < 5_000) {
      const s = await slate(userId, requestId);
      if (s !== undefined && s !== a) {
        changed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    degradedPolls.push(degradedSeen - degraded0);
    if (changed) {
      const ms = performance.now() - t0;
      rec.recordMs(ms);
      perTrialMs.push(Math.round(ms * 10) / 10);
    } else {
      unchanged++;
      perTrialMs.push(null);
    }
  }
  printTable(`freshness end to end (${mode}): watch POSTed → changed recommendation`, [
    { trials, measured: rec.count, unchanged, unstableControls, p50Ms: rec.pMs(50), p99Ms: rec.pMs(99), maxMs: rec.summaryMs().max },
  ]);
  console.log(`per trial (ms): ${perTrialMs.map((x) => (x === null ? '–' : String(x))).join(' ')}`);
  console.log(`POST /v1/events per trial (ms): ${postMs.join(' ')}`);
  console.log(`degraded polls discarded per trial: ${degradedPolls.join(' ')}`);
  writeResult(
    flags.name ?? 'freshness-e2e',
    { mode, preset, trials, pollEveryMs: 5, timeoutMs: 5000, warmupSeconds },
    {
      // null, not 0, when no trial could be measured (every control unstable or no change seen)
      freshnessP50Ms: rec.count > 0 ? rec.pMs(50) : null,
      freshnessP99Ms: rec.count > 0 ? rec.pMs(99) : null,
      freshnessMaxMs: rec.count > 0 ? rec.summaryMs().max : null,
      measured: rec.count,
      unchanged,
      unstableControls,
      perTrialMs, // in trial order (null: no change seen), so a first-trial or one-off outlier is visible
      postMs, // the publish part of each measured trial
      degradedPolls, // per trial: polls answered degraded (discarded, neither control nor evidence)
      loadAverage: loadavg(),
    },
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1000));
  if (child.exitCode === null) child.kill('SIGKILL');
}
