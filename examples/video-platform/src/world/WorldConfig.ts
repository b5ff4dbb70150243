import { createHash } from 'node:crypto';
import { VideoPlatformErrors } from '../errors.js';

/** Version of the on-disk world format; part of the cache key. */
export const WORLD_SCHEMA_VERSION = 5;

/**
 * The settings of a synthetic world. Every field is part of the cache key, so a world is
 * regenerated exactly when a setting (or the seed) changes.
 */
export interface WorldConfig {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  /** Items per creator on average (creators = ceil(items / itemsPerCreator)). */
  readonly itemsPerCreator: number;
  /** Latent dimension of tastes and topics (also the content-vector width). */
  readonly dim: number;
  readonly categories: number;
  readonly regions: number;
  readonly languages: number;
  readonly devices: number;
  readonly ageBands: number;
  /** Training window in days, followed by the held-out evaluation window. */
  readonly trainDays: number;
  readonly evalDays: number;
  /** Probability that a user has a session on a given day. */
  readonly dailyActiveRate: number;
  readonly slateSize: number;
  /** Share of users that are cold: no history in the training window; they appear in the held-out window. */
  readonly coldUserShare: number;
  /** Share of items published after the training window started (fresh / cold items). */
  readonly freshItemShare: number;
  readonly kidsRestrictedShare: number;
  readonly regionRestrictedShare: number;
  readonly misinformationShare: number;
  /** Logging policy: share of uniformly random picks mixed into the popularity draw. */
  readonly explorationRate: number;
  /** Recent-history length kept per user (the pooled history feature): clicks with watched fraction ≥ 0.1. */
  readonly historyLength: number;
  /**
   * Mean length of a warm user's watch history from *before* the logged window (a platform has a
   * past): `k ~ Binomial(2 · priorHistory, ½)` items, capped at `historyLength`, each drawn like a
   * logged click (logging policy draw, accepted with the true pClick at world time 0). 0 = none.
   */
  readonly priorHistory: number;
  /** Size of the page of random catalog items a prior (pre-window) watch is chosen from (the best by true pClick). */
  readonly priorPageSize: number;
  /**
   * Weight of a user's idiosyncratic taste direction, next to their two interest categories:
   * `taste ∝ 0.75 c₁ + 0.45 c₂ + tasteNoise · g / √dim` with `g ~ N(0, I)` (see `World`).
   */
  readonly tasteNoise: number;
  /**
   * Days of logging-policy traffic *before* the window that item counters already hold (lifetime
   * counters of a catalog that existed before the log): an item published `A` days before the
   * window starts with the counters of `min(A, priorExposureDays)` days of that traffic. 0 = none.
   */
  readonly priorExposureDays: number;
  /**
   * Deliberate distribution shift of the held-out window, for testing the drift gate: 0 = none.
   * At 1, held-out traffic comes mostly from one device and one region, and history pools shrink.
   */
  readonly shift: number;
}

/** Named scales. `tiny` is the CI world, `demo` the default, `large` the 1M × 1M world. */
export const WORLD_PRESETS = {
  tiny: { users: 1500, items: 800, trainDays: 6, evalDays: 2, dailyActiveRate: 0.5 },
  demo: { users: 20000, items: 10000, trainDays: 14, evalDays: 2, dailyActiveRate: 0.3 },
  // At 1M users the prior history is shorter and chosen from smaller pages (generation time).
  large: { users: 1_000_000, items: 1_000_000, trainDays: 7, evalDays: 1, dailyActiveRate: 0.1, priorHistory: 10, priorPageSize: 10 },
} as const satisfies Record<string, Partial<WorldConfig>>;

/** Name of a preset scale. */
export type WorldPreset = keyof typeof WORLD_PRESETS;

const DEFAULTS: Omit<WorldConfig, 'seed'> = {
  ...WORLD_PRESETS.demo,
  itemsPerCreator: 10,
  dim: 16,
  categories: 20,
  regions: 8,
  languages: 6,
  devices: 3,
  ageBands: 5,
  slateSize: 10,
  coldUserShare: 0.12,
  freshItemShare: 0.15,
  kidsRestrictedShare: 0.03,
  regionRestrictedShare: 0.02,
  misinformationShare: 0.01,
  explorationRate: 0.15,
  historyLength: 50,
  priorHistory: 30,
  priorPageSize: 20,
  tasteNoise: 0.5,
  priorExposureDays: 14,
  shift: 0,
};

function fail(field: string, msg: string): never {
  throw VideoPlatformErrors.create('RECSPINE_ERR_VP_WORLD_CONFIG', `world.${field}: ${msg}`, { field, stage: 'world' });
}

/**
 * Fills defaults from a preset and validates every setting.
 *
 * @throws RECSPINE_ERR_VP_WORLD_CONFIG on an invalid setting (with `field`).
 * @example
 * ```ts
 * const cfg = resolveWorldConfig({ seed: 7 }, 'tiny');
 * ```
 */
export function resolveWorldConfig(partial: Partial<WorldConfig> & { seed: number }, preset: WorldPreset = 'demo'): WorldConfig {
  const cfg: WorldConfig = { ...DEFAULTS, ...WORLD_PRESETS[preset], ...partial };
  const int = (k: keyof WorldConfig, min: number, max: number): void => {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      fail(k, `must be an integer in [${min}, ${max}], got ${String(v)}`);
  };
  const share = (k: keyof WorldConfig, max = 1): void => {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) fail(k, `must be a number in [0, ${max}], got ${String(v)}`);
  };
  int('seed', 0, 0xffffffff);
  int('users', 10, 50_000_000);
  int('items', 20, 50_000_000);
  int('itemsPerCreator', 1, 10_000);
  int('dim', 2, 256);
  int('categories', 2, 255);
  int('regions', 1, 255);
  int('languages', 1, 255);
  int('devices', 1, 255);
  int('ageBands', 2, 255);
  int('trainDays', 1, 365);
  int('evalDays', 1, 365);
  int('slateSize', 1, 100);
  int('historyLength', 1, 1000);
  int('priorHistory', 0, 1000);
  int('priorExposureDays', 0, 3650);
  int('priorPageSize', 1, 10_000);
  share('dailyActiveRate');
  share('coldUserShare', 0.9);
  share('freshItemShare', 0.9);
  share('kidsRestrictedShare', 0.5);
  share('regionRestrictedShare', 0.5);
  share('misinformationShare', 0.5);
  share('explorationRate');
  share('shift');
  share('tasteNoise', 4);
  if (cfg.slateSize * 4 > cfg.items) fail('slateSize', `too large for ${cfg.items} items`);
  return cfg;
}

/** Stable 12-hex-digit key of a world's settings (cache directory name). */
export function worldCacheKey(cfg: WorldConfig): string {
  const keys = Object.keys(cfg).sort() as (keyof WorldConfig)[];
  const canon = JSON.stringify({ v: WORLD_SCHEMA_VERSION, ...Object.fromEntries(keys.map((k) => [k, cfg[k]])) });
  return createHash('sha256').update(canon).digest('hex').slice(0, 12);
}
