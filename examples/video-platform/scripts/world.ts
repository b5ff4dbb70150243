/** Generates (or reuses) a world. Flags: --preset tiny|demo|large --seed N --users N --items N --shift X --force */
import { parseFlags } from '../../../bench/kit.js';
import { generateWorld } from '../src/world/generateWorld.js';
import type { WorldPreset } from '../src/world/WorldConfig.js';
import { resolveWorldConfig } from '../src/world/WorldConfig.js';
import { DATA_DIR, worldOverrides } from './common.js';

const flags = parseFlags();
const cfg = resolveWorldConfig({ ...worldOverrides(flags), seed: Number(flags['seed'] ?? 1) }, (flags['preset'] ?? 'demo') as WorldPreset);
const t0 = performance.now();
const h = generateWorld(cfg, { dataDir: DATA_DIR, force: flags['force'] === 'true' });
const mem = process.memoryUsage();
console.log(
  `${h.cached ? 'cached' : 'generated'} world ${h.manifest.key} at ${h.dir}\n` +
    `  ${cfg.users} users, ${cfg.items} items, ${h.manifest.counts.creators} creators, ${h.manifest.counts.sessions} sessions, ${h.manifest.counts.impressions} impressions (${h.manifest.counts.clicks} clicks)\n` +
    `  ${((performance.now() - t0) / 1000).toFixed(1)} s, peak RSS ≈ ${(mem.rss / 2 ** 20).toFixed(0)} MiB`,
);
