/**
 * End-to-end freshness: from a watch event POSTed to the API to the first recommendation for that
 * user that changed because of it. Events go API → bus (Kafka in production) → aggregator →
 * feature store; the next request's user tower reads the fresh history.
 *
 * Causation check: each trial first asks twice with the same request id (same exploration draws)
 * and needs identical slates (the control); only then posts the watch and polls, with that same
 * request id, until the slate differs.
 *
 *   npx tsx bench/freshness-e2e.ts [--mode production|embedded] [--trials 30] [--preset demo]
 */
import { parseFlags, printTable, writeResult, LatencyRecorder } from '../../../bench/kit.js';
import { inputsFrom, startChild } from './load.js';

const flags = parseFlags();
const mode = flags.mode ?? 'production';
const preset = flags.preset ?? 'demo';
const trials = Number(flags.trials ?? 30);
const port = Number(flags.port ?? 18081);
const base = `http://127.0.0.1:${port}`;

async function slate(userId: string, requestId: string): Promise<string> {
  const r = await fetch(`${base}/v1/recommend/homepage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, limit: 20, requestId, debug: false }),
  });
  const j = (await r.json()) as { items: { itemId: string }[] };
  return j.items.map((i) => i.itemId).join(',');
}

const child = await startChild({ mode, preset, workers: 1, port });
try {
  const inputs = await inputsFrom(base);
  const rec = new LatencyRecorder();
  let unstableControls = 0;
  let unchanged = 0;
  for (let t = 0; t < trials; t++) {
    const userId = inputs.users[(t * 7) % inputs.users.length] as string;
    const item = inputs.items[(t * 13 + 5) % inputs.items.length] as string;
    const requestId = `fresh-${t}-${Date.now()}`;
    const a = await slate(userId, requestId);
    const b = await slate(userId, requestId);
    if (a !== b) {
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
    let changed = false;
    while (performance.now() - t0 < 5_000) {
      if ((await slate(userId, requestId)) !== a) {
        changed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    if (changed) rec.recordMs(performance.now() - t0);
    else unchanged++;
  }
  printTable(`freshness end to end (${mode}): watch POSTed → changed recommendation`, [
    { trials, measured: rec.count, unchanged, unstableControls, p50Ms: rec.pMs(50), p99Ms: rec.pMs(99), maxMs: rec.summaryMs().max },
  ]);
  writeResult(
    flags.name ?? 'freshness-e2e',
    { mode, preset, trials, pollEveryMs: 5, timeoutMs: 5000 },
    { freshnessP50Ms: rec.pMs(50), freshnessP99Ms: rec.pMs(99), measured: rec.count, unchanged, unstableControls },
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1000));
  if (child.exitCode === null) child.kill('SIGKILL');
}
