import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VideoPlatformErrors } from '../../errors.js';
import type { ModelsManifest } from '../../train/trainModels.js';
import type { WorldPreset } from '../../world/WorldConfig.js';

/** `.data/current-<preset>.json`, written by the pipeline. */
export interface CurrentPointer {
  readonly kind: 'recspine-video-current';
  readonly preset: string;
  readonly seed: number;
  readonly world: string;
  readonly models: string;
  readonly promoted: boolean;
}

/** Resolved artifact directories. */
export interface ArtifactDirs {
  readonly worldDir: string;
  readonly modelsDir: string;
  readonly models: ModelsManifest;
  readonly pointer: CurrentPointer | undefined;
}

function fail(msg: string, cause?: unknown): never {
  throw VideoPlatformErrors.create('RECSPINE_ERR_VP_ARTIFACT', msg, { stage: 'artifacts', ...(cause === undefined ? {} : { cause }) });
}

/** Finds the trained artifacts: explicit directories, else the pointer `current-<preset>.json` in `dataDir`. */
export function resolveArtifacts(o: {
  readonly dataDir: string;
  readonly preset: WorldPreset;
  readonly worldDir?: string;
  readonly modelsDir?: string;
}): ArtifactDirs {
  let pointer: CurrentPointer | undefined;
  let worldDir = o.worldDir;
  let modelsDir = o.modelsDir;
  if (worldDir === undefined || modelsDir === undefined) {
    const p = join(o.dataDir, `current-${o.preset}.json`);
    if (!existsSync(p))
      fail(`no trained artifacts for preset ${o.preset}: ${p} is missing (run \`npm run pipeline -- --preset ${o.preset}\`)`);
    try {
      pointer = JSON.parse(readFileSync(p, 'utf8')) as CurrentPointer;
    } catch (cause) {
      fail(`unreadable pointer ${p}`, cause);
    }
    worldDir ??= join(o.dataDir, pointer.world);
    modelsDir ??= join(o.dataDir, pointer.models);
  }
  let models: ModelsManifest;
  try {
    models = JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')) as ModelsManifest;
  } catch (cause) {
    fail(`no readable models manifest in ${modelsDir}`, cause);
  }
  if (models.kind !== 'recspine-video-models') fail(`${modelsDir} is not a models directory`);
  return { worldDir, modelsDir, models, pointer };
}
