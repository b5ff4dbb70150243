/**
 * `npm run demo`: the whole video recommender on embedded defaults (no Redis, no Kafka, no network).
 *
 * 1. generates a small world and trains every model, or reuses the cached ones (progress is printed);
 * 2. builds the ANN index and starts the server in embedded mode;
 * 3. prints sample slates for each slot with their per-stage timings, and a watch that changes the next slate;
 * 4. prints the dashboard URL and keeps serving until Ctrl-C (`--once` exits after step 3).
 *
 * Flags: --preset tiny|demo (default demo), --port 8080, --once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlags } from '../../../bench/kit.js';
import { runPipeline } from './runPipeline.js';
import { loadConfig } from './server/config.js';
import { startServer } from './server/startServer.js';
import type { WorldPreset } from './world/WorldConfig.js';

const flags = parseFlags();
const preset = (flags.preset ?? 'demo') as WorldPreset;
const dataDir = process.env.RECSPINE_VP_DATA ?? join(import.meta.dirname, '..', '.data');
const t0 = performance.now();

if (!existsSync(join(dataDir, `current-${preset}.json`))) {
  console.log(`No trained ${preset} models yet: generating the world, training, exporting to ONNX and evaluating (one seed)…`);
  await runPipeline({ dataDir, preset, seeds: [1], evalUsers: 100, force: false, progress: true, log: (l) => console.log(l) });
} else {
  console.log(`Using cached ${preset} world and models from ${dataDir}`);
}

const server = await startServer(loadConfig({}, ['--preset', preset, '--port', flags.port ?? '8080', '--mode', 'embedded']));
console.log(`\nServer ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${server.vr.composition.split(';')[0]})`);

interface Item {
  itemId: string;
  position: number;
  score: number;
  sources?: string[];
  explore?: { policy: string };
}
interface Res {
  arm?: string;
  items: Item[];
  debug?: {
    timings: { totalMs: number; stages: Record<string, number> };
    orderedBy: string;
    degradation: { mode: string; tier: string }[];
  };
}
const post = async (slot: string, body: Record<string, unknown>): Promise<Res> =>
  (await (
    await fetch(`${server.url}/v1/recommend/${slot}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  ).json()) as Res;
const show = (title: string, r: Res): void => {
  const d = r.debug;
  const stages = d
    ? Object.entries(d.timings.stages)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(' · ')
    : '';
  console.log(`\n${title}  [arm ${r.arm ?? '-'}, ordered by ${d?.orderedBy}, ${d?.timings.totalMs.toFixed(1)} ms: ${stages}]`);
  for (const it of r.items.slice(0, 8)) {
    console.log(
      `  ${String(it.position + 1).padStart(2)}. ${it.itemId.padEnd(10)} ${it.score.toFixed(4)}  ${(it.sources ?? []).join('+')}${it.explore ? `  (explore: ${it.explore.policy})` : ''}`,
    );
  }
  for (const x of d?.degradation ?? []) console.log(`  degraded: ${x.mode} → ${x.tier}`);
};

const user = server.vr.sampleUsers[0];
const userId = user?.userId;
const item = server.vr.sampleItems[0];
const query = server.vr.sampleQueries[0] ?? 'music';
show(`homepage for ${userId}`, await post('homepage', { userId, limit: 10, requestId: 'demo-1' }));
show(`end-of-video after ${item}`, await post('end-of-video', { userId, itemId: item, limit: 5 }));
show(`search "${query}"`, await post('search', { userId, query, limit: 5 }));
show('homepage, logged out', await post('homepage', { limit: 5 }));

// Streaming in the loop: a watch goes through the bus and the aggregator into the feature store;
// the next homepage request (same request id, so the same exploration draws) reflects it.
const watched = server.vr.sampleItems[7] ?? item;
const now = Date.now();
await fetch(`${server.url}/v1/events`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    events: [{ id: `demo-${now}`, type: 'watch', userId, itemId: watched, atMs: now, watchMs: 600_000, completed: true }],
  }),
});
await new Promise((r) => setTimeout(r, 200));
show(`homepage for ${userId} after watching ${watched}`, await post('homepage', { userId, limit: 10, requestId: 'demo-1' }));

console.log(`\nDashboard: ${server.url}/   ·   metrics: ${server.url}/metrics   ·   Ctrl-C to stop`);
if (flags.once === 'true') await server.close();
else {
  const stop = async (): Promise<void> => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
