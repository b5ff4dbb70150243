/** Generates (or reuses) a world and trains + exports every model. Flags: --preset --seed --force, world flags. */
import { parseFlags } from '../../../bench/kit.js';
import { resolveTrainConfig, trainModels } from '../src/train/trainModels.js';
import { generateWorld } from '../src/world/generateWorld.js';
import type { WorldPreset } from '../src/world/WorldConfig.js';
import { resolveWorldConfig } from '../src/world/WorldConfig.js';
import { DATA_DIR, worldOverrides } from './common.js';

const flags = parseFlags();
const preset = (flags['preset'] ?? 'demo') as WorldPreset;
const seed = Number(flags['seed'] ?? 1);
const world = generateWorld(resolveWorldConfig({ ...worldOverrides(flags), seed }, preset), { dataDir: DATA_DIR });
const models = await trainModels(world, resolveTrainConfig({ seed }, preset), {
  force: flags['force'] === 'true',
  log: (l) => console.log(l),
});
console.log(`${models.cached ? 'cached' : 'trained'} models at ${models.dir} (${models.manifest.trainSeconds.toFixed(1)} s)`);
