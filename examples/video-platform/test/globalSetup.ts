import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runPipeline } from '../src/runPipeline.js';

/**
 * Makes sure the tiny world's trained artifacts exist before any test file needs them (the server
 * and dashboard tests serve them). Cached under `.data/`, so this costs nothing after the first run;
 * on a clean clone it generates, trains and evaluates the tiny world once.
 */
export default async function setup(): Promise<void> {
  const dataDir = process.env.RECSPINE_VP_DATA ?? join(import.meta.dirname, '..', '.data');
  if (existsSync(join(dataDir, 'current-tiny.json'))) return;
  await runPipeline({ dataDir, preset: 'tiny', seeds: [1], force: false, log: () => undefined });
}
