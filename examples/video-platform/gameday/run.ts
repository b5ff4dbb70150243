/**
 * `npm run gameday`: every failure mode under load against the example server in production mode
 * (private Redis + fault proxy + private Kafka, all on loopback), one scenario after the other.
 * Prints a table of outcomes against the targets, writes it to GAMEDAY.md (repo root) and
 * bench-results/gameday.json (`metrics.scenarios[]`).
 *
 *   npm run gameday -w examples/video-platform -- [--preset demo] [--fault-seconds 30] [--warm-seconds 5]
 *     [--recover-seconds 10] [--capacity auto|N] [--load-share 0.8]
 *     [--sla-ms 100] [--bad-input 10000] [--only redis-killed,overload] [--no-report]
 *
 * Capacity: `auto` (default) measures it at start-up with a short ladder against the game day's own
 * server (≤ 45 s; see `measureCapacity` in harness.ts); `--capacity N` takes N QPS as given.
 * Each scenario is bounded: warm + fault + recover seconds (+ drains bounded at 90 s).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { REPO_ROOT, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { startGameday, prerequisites, DEFAULT_PORTS } from './harness.js';
import { SCENARIOS, type ScenarioResult } from './scenarios.js';

/** The target for each scenario, as printed in the table. */
export const TARGETS: Readonly<Record<string, string>> = {
  'redis-killed':
    'zero 5xx; all within SLA and tagged degraded (degraded model / fallback); breaker opens and closes; full personalisation ≤ 5 s after Redis returns',
  'redis-slow': 'per-group feature timeouts trip; p99 ≤ SLA; missing features counted',
  'kafka-stopped': 'API keeps accepting (spill to disk, bounded); no event lost; no double count after redelivery',
  'bad-index': 'bad swap refused; no request from the bad index; latency unaffected; rollback < 1 s with zero errors',
  'bad-model': 'NaN / spec-mismatch model refused; old model keeps serving',
  'fine-fails': 'fine throws or hangs → coarse ordering within SLA',
  overload: '2× capacity: admitted p99 ≤ SLA; excess fast 503 + Retry-After; trimming lowers keep; recovers; spike cap trims',
  'bad-input': '≥ 10k bad requests/events: zero 5xx, zero crashes, every rejection coded, bad events counted, healthy after',
};

export function markdownTable(results: readonly ScenarioResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.pass ? '**pass**' : '**FAIL**'} | ${r.requests} | ${r.errors5xx} | ${r.p99Ms.toFixed(1)} / ${r.slaMs} | ${(r.degradedShare * 100).toFixed(1)} % | ${r.tiersHit.join(', ') || '–'} | ${r.eventsSent} / ${r.eventsLost} | ${r.recoverySeconds === null ? '–' : r.recoverySeconds.toFixed(1)} |`,
  );
  return [
    '| scenario | outcome | requests | 5xx | p99 / SLA (ms) | degraded (fault window) | tiers hit (fault window) | events sent / lost | recovery (s) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export function checksMarkdown(results: readonly ScenarioResult[]): string {
  return results
    .map((r) =>
      [
        `### ${r.name} — ${r.pass ? 'pass' : 'FAIL'}`,
        '',
        '| target | measured | |',
        '|---|---|---|',
        ...r.checks.map((c) => `| ${c.target} | ${c.measured.replace(/\|/g, '\\|')} | ${c.pass ? 'pass' : '**FAIL**'} |`),
      ].join('\n'),
    )
    .join('\n\n');
}

/** `--capacity`: absent or `auto` = measured at start-up; otherwise a positive number of QPS. */
export function capacityFlag(v: string | undefined): number | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--capacity expects 'auto' or a positive number of QPS, got '${v}'`);
  return n;
}

async function main(): Promise<void> {
  const flags = parseFlags();
  const preset = flags.preset ?? 'demo';
  const only = flags.only?.split(',').map((s) => s.trim());
  const names = Object.keys(SCENARIOS).filter((n) => only === undefined || only.includes(n));
  const unknown = (only ?? []).filter((n) => !(n in SCENARIOS));
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const pre = await prerequisites(preset, DEFAULT_PORTS);
  if (!pre.ok) {
    console.error(`game day cannot start; missing:\n  - ${pre.missing.join('\n  - ')}`);
    process.exit(2);
  }
  const opts = {
    preset,
    capacityQps: capacityFlag(flags.capacity),
    loadShare: Number(flags['load-share'] ?? 0.8),
    faultSeconds: Number(flags['fault-seconds'] ?? 30),
    warmSeconds: Number(flags['warm-seconds'] ?? 5),
    recoverSeconds: Number(flags['recover-seconds'] ?? 10),
    slaMs: Number(flags['sla-ms'] ?? 100),
    badInputCount: Number(flags['bad-input'] ?? 10_000),
  };
  const t0 = performance.now();
  const load0 = loadavg();
  const gd = await startGameday(opts);
  const results: ScenarioResult[] = [];
  try {
    console.log(
      `capacity ${gd.ctx.capacityQps} QPS (${gd.capacitySource}); load ${gd.ctx.qps} QPS; fault ${opts.faultSeconds} s; SLA p99 ${opts.slaMs} ms`,
    );
    for (const n of names) results.push(await gd.run(n, SCENARIOS[n] as (typeof SCENARIOS)[string]));
  } finally {
    await gd.teardown();
  }
  const wall = (performance.now() - t0) / 1000;
  const load1 = loadavg();
  printTable(
    `game day (${preset}, ${gd.ctx.qps} QPS = ${Math.round(opts.loadShare * 100)} % of ${gd.ctx.capacityQps}, fault ${opts.faultSeconds} s)`,
    results.map((r) => ({
      scenario: r.name,
      outcome: r.pass ? 'pass' : 'FAIL',
      requests: r.requests,
      '5xx': r.errors5xx,
      'p99 ms': r.p99Ms,
      'sla ms': r.slaMs,
      degraded: r.degradedShare,
      'events sent': r.eventsSent,
      lost: r.eventsLost,
      'recovery s': r.recoverySeconds ?? '–',
    })),
  );
  if (flags['no-report'] === 'true') return;
  const md = [
    '# Game day',
    '',
    `Generated by \`npm run gameday\` on ${new Date().toISOString()} (${wall.toFixed(0)} s wall). Preset \`${preset}\`; production mode`,
    `(private redis-server behind a TCP fault proxy, private Kafka broker, all on loopback). Open-loop load at ${gd.ctx.qps} QPS`,
    `= ${Math.round(opts.loadShare * 100)} % of a capacity of ${gd.ctx.capacityQps} QPS (${gd.capacitySource}); slot mix homepage 25 %,`,
    `end-of-video 62 %, search 13 %. Fault windows ${opts.faultSeconds} s, warm-up ${opts.warmSeconds} s, recovery window ${opts.recoverSeconds} s.`,
    `SLA: p99 ≤ ${opts.slaMs} ms measured at the client from each request's scheduled send time. Load average at start / end:`,
    `${load0.map((x) => x.toFixed(2)).join(' ')} / ${load1.map((x) => x.toFixed(2)).join(' ')} (2 cores, shared with the load generator).`,
    '',
    '"degraded" and "tiers hit" are measured over the fault window; requests, 5xx and p99 over the whole scenario',
    "(after its first 2 s: the load's ramp-up, before any fault).",
    '',
    markdownTable(results),
    '',
    '## Targets',
    '',
    ...names.map((n) => `- **${n}**: ${TARGETS[n]}`),
    '',
    '## Checks per scenario',
    '',
    checksMarkdown(results),
    '',
    '## Known limits of this set-up',
    '',
    '- Everything runs on one machine: the load generator, the server, redis-server and the Kafka JVM share its cores, so',
    '  a dependency restart (Redis reloading its AOF, the JVM starting) takes CPU from the server for a few seconds —',
    '  look at the per-second p99 in the run log. In production those run on other hosts.',
    "- An index rebuild runs on a nice-19 worker thread (`IndexManager` `buildIn: 'worker'`); the serving thread still",
    '  copies the vectors, loads the built file (a few ms at 10k items) and runs the probe searches, and on 2 shared',
    '  cores the build still competes for memory bandwidth, so "unaffected" is judged as p99 ≤ 1.5× baseline + 5 ms.',
    '- Scenario 7 sheds only what admission control cannot absorb by trimming: at 2× a conservatively measured capacity',
    '  (the ladder stops at the first rate whose p99 passes 50 ms at full quality) few requests are shed, so its shed',
    '  p99 rests on few samples. Run `--capacity N` with a larger N to drive more of the shed path.',
    "- Latency targets are client-side (scheduled send → response) and include the generator's own queueing.",
    '',
  ].join('\n');
  writeFileSync(join(REPO_ROOT, 'GAMEDAY.md'), md);
  const file = writeResult(
    'gameday',
    {
      ...opts,
      qps: gd.ctx.qps,
      capacityQps: gd.ctx.capacityQps,
      capacitySource: gd.capacitySource,
      loadavgStart: load0,
      loadavgEnd: load1,
    },
    {
      pass: results.every((r) => r.pass),
      wallSeconds: wall,
      scenarios: results.map((r) => ({
        name: r.name,
        pass: r.pass,
        requests: r.requests,
        errors5xx: r.errors5xx,
        p99Ms: r.p99Ms,
        slaMs: r.slaMs,
        degradedShare: r.degradedShare,
        eventsSent: r.eventsSent,
        eventsLost: r.eventsLost,
        recoverySeconds: r.recoverySeconds,
        tiersHit: r.tiersHit,
        checks: r.checks,
        seconds: r.seconds,
      })),
    },
  );
  console.log(`\nwrote GAMEDAY.md and ${file}`);
  if (!results.every((r) => r.pass)) process.exitCode = 1;
}

if (process.argv[1] === import.meta.filename) await main();
