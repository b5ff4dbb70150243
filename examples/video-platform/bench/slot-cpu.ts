/**
 * CPU per request by slot, in process: the serving module built as the server builds it
 * (production mode: Redis, the padded catalog), then sequential requests per slot — no HTTP, no
 * load generator, no concurrency — timed with `process.cpuUsage()`. A same-box load test measures
 * the server's CPU with the generator, Redis and the other worker competing; this measures the
 * pipeline's own work, one slot at a time.
 *
 *   npx tsx bench/slot-cpu.ts [--items 1000000] [--redis-url redis://127.0.0.1:6380] [--requests 300]
 *                             [--rounds 2] [--homepage-quotas 600,200,100,100] [--related-cache-ms 30000] [--live true]
 *                             [--name slot-cpu]
 *
 * On a shared host the absolute CPU per request moves by tens of % between runs of the same build
 * (27 Nov: end-of-video 7.4–12.9 ms); compare configurations by alternating runs, and by the
 * per-run ratio of a changed slot to an unchanged one (`homepageOverEndOfVideo`). Needs Redis
 * (seeded by the server or the load test at the same `--items`). Writes bench-results/<name>.json.
 */
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { buildVideoRecommender, type HomepageQuotas } from '../src/serving/buildVideoRecommender.js';

const flags = parseFlags();
const items = Number(flags.items ?? 1_000_000);
const requests = Number(flags.requests ?? 300);
const rounds = Number(flags.rounds ?? 2);
const q = flags['homepage-quotas']?.split(',').map(Number);
const homepageQuotas: HomepageQuotas | undefined =
  q === undefined ? undefined : { twoTower: q[0] as number, popular: q[1] as number, fresh: q[2] as number, coldStart: q[3] as number };

const vr = await buildVideoRecommender({
  preset: 'demo',
  mode: 'production',
  redis: { url: flags['redis-url'] ?? 'redis://127.0.0.1:6379', failFast: true },
  items,
  ...(homepageQuotas === undefined ? {} : { homepageQuotas }),
  ...(flags['related-cache-ms'] === undefined ? {} : { relatedCacheMs: Number(flags['related-cache-ms']) }),
  log: () => undefined,
});
const { sampleUsers: users, sampleItems: itemIds, sampleQueries: queries } = vr;
const SLOTS = ['homepage', 'end-of-video', 'search'] as const;
/**
 * `--live true`: requests without the sample users' world clock (`context.nowMs`), as the load
 * generator sends them: the serving module then treats them as live traffic (popularity and
 * related-list caches in use, the fresh source empty when nothing is fresh at the wall clock).
 */
const live = flags.live === 'true';
const request = (slot: (typeof SLOTS)[number], i: number) => {
  const s = users[i % users.length] as (typeof users)[number];
  const u = live ? { ...s, context: { ...s.context, nowMs: undefined } } : s;
  const base = { slot, userId: u.userId, limit: slot === 'end-of-video' ? 10 : 20 };
  if (slot === 'end-of-video') return { ...base, context: { ...u.context, itemId: itemIds[(i * 7) % itemIds.length] as string } };
  if (slot === 'search') return { ...base, context: u.context, query: queries[i % queries.length] as string };
  return { ...base, context: u.context };
};
try {
  // warm-up: JIT, caches, first ONNX runs
  for (const slot of SLOTS) for (let i = 0; i < 50; i++) await vr.recommender.recommend(request(slot, i));
  const rows: Record<string, string | number>[] = [];
  const perRound: Record<string, number>[] = [];
  for (let round = 0; round < rounds; round++) {
    const cpu: Record<string, number> = {};
    for (const slot of SLOTS) {
      const lat = new LatencyRecorder();
      let degraded = 0;
      let retrieved = 0;
      const c0 = process.cpuUsage();
      for (let i = 0; i < requests; i++) {
        const t = performance.now();
        const r = await vr.recommender.recommend(request(slot, 1000 * (round + 1) + i));
        lat.recordMs(performance.now() - t);
        if (r.degraded.length > 0) degraded++;
        retrieved += r.candidateCounts.retrieved;
      }
      const c = process.cpuUsage(c0);
      cpu[slot] = (c.user + c.system) / 1000 / requests;
      rows.push({
        round,
        slot,
        cpuMsPerReq: Number((cpu[slot] as number).toFixed(2)),
        p50: lat.pMs(50),
        p99: lat.pMs(99),
        retrieved: Math.round(retrieved / requests),
        degraded,
      });
    }
    perRound.push({ ...cpu, homepageOverEndOfVideo: (cpu['homepage'] as number) / (cpu['end-of-video'] as number) });
  }
  printTable(`CPU per request by slot, in process, ${requests} sequential requests per slot and round (${items} items)`, rows);
  console.log(
    `homepage / end-of-video CPU per round: ${perRound.map((r) => (r['homepageOverEndOfVideo'] as number).toFixed(2)).join(', ')}`,
  );
  const relatedCache = vr.relatedCacheStats();
  console.log(`related-list cache: ${relatedCache.hits} hits, ${relatedCache.misses} misses, ${relatedCache.bypassed} bypassed`);
  writeResult(
    flags.name ?? 'slot-cpu',
    { items, requests, rounds, live, homepageQuotas: vr.homepageQuotas, relatedCacheMs: flags['related-cache-ms'] ?? 'default' },
    { rows, perRound, relatedCache },
  );
} finally {
  await vr.close();
}
