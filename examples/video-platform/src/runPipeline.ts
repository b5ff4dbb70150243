import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SeedEval } from './eval/evaluate.js';
import { evaluate } from './eval/evaluate.js';
import { markdownReport } from './eval/report.js';
import type { ModelsHandle, TrainConfig } from './train/trainModels.js';
import { resolveTrainConfig, trainModels } from './train/trainModels.js';
import type { WorldHandle } from './world/generateWorld.js';
import { generateWorld } from './world/generateWorld.js';
import type { WorldConfig, WorldPreset } from './world/WorldConfig.js';
import { resolveWorldConfig } from './world/WorldConfig.js';

/** Options of {@link runPipeline}. */
export interface PipelineOptions {
  readonly dataDir: string;
  readonly preset: WorldPreset;
  readonly seeds: readonly number[];
  readonly world?: Partial<WorldConfig>;
  readonly train?: Partial<TrainConfig>;
  readonly evalUsers?: number;
  readonly force?: boolean;
  readonly progress?: boolean;
  readonly log?: (line: string) => void;
}

/** One seed's artifacts and evaluation. */
export interface SeedRun {
  readonly world: WorldHandle;
  readonly models: ModelsHandle;
  readonly evaluation: SeedEval;
}

/**
 * The one-command pipeline: for each seed, generate (or reuse) the world, train and export every
 * model (or reuse), evaluate on the held-out window; then write the markdown report and
 * `.data/current.json`, the pointer a server follows to the promoted artifacts of the first seed.
 *
 * @example
 * ```ts
 * const runs = await runPipeline({ dataDir: '.data', preset: 'tiny', seeds: [1] });
 * ```
 */
export async function runPipeline(o: PipelineOptions): Promise<{ runs: SeedRun[]; markdown: string }> {
  const log = o.log ?? (() => undefined);
  const runs: SeedRun[] = [];
  for (const seed of o.seeds) {
    const cfg = resolveWorldConfig({ ...o.world, seed }, o.preset);
    const world = generateWorld(cfg, {
      dataDir: o.dataDir,
      ...(o.force === undefined ? {} : { force: o.force }),
      ...(o.progress === undefined ? {} : { progress: o.progress }),
    });
    log(
      `seed ${seed}: world ${world.cached ? 'cached' : 'generated'} (${world.manifest.counts.impressions} impressions, ${world.manifest.generationSeconds.toFixed(1)} s) at ${world.dir}`,
    );
    const models = await trainModels(world, resolveTrainConfig({ ...o.train, seed }, o.preset), {
      ...(o.force === undefined ? {} : { force: o.force }),
      ...(o.progress === undefined ? {} : { progress: o.progress }),
      log: (l) => log(`seed ${seed}: ${l}`),
    });
    log(`seed ${seed}: models ${models.cached ? 'cached' : 'trained'} (${models.manifest.trainSeconds.toFixed(1)} s) at ${models.dir}`);
    const evaluation = await evaluate(world, models, {
      ...(o.evalUsers === undefined ? {} : { maxUsers: o.evalUsers }),
      ...(o.progress === undefined ? {} : { progress: o.progress }),
    });
    log(`seed ${seed}: evaluated ${evaluation.evalUsers} users in ${evaluation.evalSeconds.toFixed(1)} s`);
    runs.push({ world, models, evaluation });
  }
  const first = runs[0];
  const settings = first ? { preset: o.preset, ...pickSettings(first.world.manifest.config) } : {};
  const markdown = markdownReport(
    runs.map((r) => r.evaluation),
    settings,
  );
  mkdirSync(o.dataDir, { recursive: true });
  writeFileSync(join(o.dataDir, `report-${o.preset}.md`), markdown);
  if (first) {
    const pointer = {
      kind: 'recspine-video-current',
      preset: o.preset,
      seed: first.evaluation.seed,
      world: relative(o.dataDir, first.world.dir),
      worldManifest: relative(o.dataDir, join(first.world.dir, 'manifest.json')),
      models: relative(o.dataDir, first.models.dir),
      modelsManifest: relative(o.dataDir, join(first.models.dir, 'manifest.json')),
      promoted: first.evaluation.drift.promoted,
      drift: first.evaluation.drift,
      updatedAt: new Date().toISOString(),
    };
    writeFileSync(join(o.dataDir, `current-${o.preset}.json`), JSON.stringify(pointer, null, 2));
  }
  return { runs, markdown };
}

function pickSettings(c: WorldConfig): Record<string, unknown> {
  return {
    users: c.users,
    items: c.items,
    trainDays: c.trainDays,
    evalDays: c.evalDays,
    dailyActiveRate: c.dailyActiveRate,
    slateSize: c.slateSize,
    dim: c.dim,
    categories: c.categories,
    coldUserShare: c.coldUserShare,
    explorationRate: c.explorationRate,
  };
}
