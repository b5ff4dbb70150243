/** Evaluates one seed (generating/training as needed) and prints the report. Flags: --preset --seed --eval-users N, world flags. */
import { parseFlags } from '../../../bench/kit.js';
import { runPipeline } from '../src/runPipeline.js';
import type { WorldPreset } from '../src/world/WorldConfig.js';
import { DATA_DIR, worldOverrides } from './common.js';

const flags = parseFlags();
const { markdown } = await runPipeline({
  dataDir: DATA_DIR,
  preset: (flags['preset'] ?? 'demo') as WorldPreset,
  seeds: [Number(flags['seed'] ?? 1)],
  world: worldOverrides(flags),
  ...(flags['eval-users'] ? { evalUsers: Number(flags['eval-users']) } : {}),
  log: (l) => console.log(l),
});
console.log(markdown);
