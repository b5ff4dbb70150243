import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorldConfig } from '../src/world/WorldConfig.js';

/** The example's artifact cache: `examples/video-platform/.data` (git-ignored). */
export const DATA_DIR = process.env['RECSPINE_VP_DATA'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '.data');

/** World settings given as flags (`--users`, `--items`, `--shift`, …). */
export function worldOverrides(flags: Record<string, string>): Partial<WorldConfig> {
  const out: Record<string, number> = {};
  for (const k of [
    'users',
    'items',
    'trainDays',
    'evalDays',
    'dailyActiveRate',
    'shift',
    'slateSize',
    'dim',
    'priorHistory',
    'historyLength',
    'tasteNoise',
    'priorExposureDays',
    'priorPageSize',
  ]) {
    const v = flags[k] ?? flags[k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)];
    if (v !== undefined) out[k] = Number(v);
  }
  return out as Partial<WorldConfig>;
}
