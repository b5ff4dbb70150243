/**
 * One command: generate the world(s), train and export every model, evaluate, print the report
 * and write `bench-results/eval.json` + `bench-results/eval.md`.
 *
 *   npm run pipeline -w examples/video-platform                      # demo scale, seeds 1,2,3
 *   npm run pipeline -w examples/video-platform -- --preset tiny --seeds 1
 *   flags: --preset tiny|demo|large  --seeds 1,2,3  --users N --items N  --eval-users N  --force
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, parseFlags, writeResult } from '../../../bench/kit.js';
import { checkTargets } from '../src/eval/report.js';
import { runPipeline } from '../src/runPipeline.js';
import type { WorldPreset } from '../src/world/WorldConfig.js';
import { DATA_DIR, worldOverrides } from './common.js';

const flags = parseFlags();
const preset = (flags['preset'] ?? 'demo') as WorldPreset;
const seeds = (flags['seeds'] ?? '1,2,3').split(',').map(Number);
const t0 = performance.now();
const { runs, markdown } = await runPipeline({
  dataDir: DATA_DIR,
  preset,
  seeds,
  world: worldOverrides(flags),
  ...(flags['eval-users'] ? { evalUsers: Number(flags['eval-users']) } : {}),
  force: flags['force'] === 'true',
  log: (l) => console.log(l),
});
console.log(`\n${markdown}`);
const evals = runs.map((r) => r.evaluation);
const file = writeResult(
  'eval',
  { preset, seeds, world: runs[0]?.world.manifest.config, train: runs[0]?.models.manifest.trainConfig },
  {
    seeds: evals,
    targets: evals.map(checkTargets),
    trainSeconds: Object.fromEntries(evals.map((e) => [String(e.seed), e.trainSeconds])),
    wallSeconds: (performance.now() - t0) / 1000,
  },
);
writeFileSync(join(REPO_ROOT, 'bench-results', 'eval.md'), markdown);
console.log(`wrote ${file} and bench-results/eval.md; artifacts under ${DATA_DIR} (current-${preset}.json points at them)`);
