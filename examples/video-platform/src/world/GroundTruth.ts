import { hashGaussian, sigmoid } from './internal/random.js';
import type { World } from './World.js';
import { DAY_S } from './World.js';

/**
 * The true propensities of one user–item pair at one time. **This file is the one place where the
 * world's truth is defined.** Everything else (logged traffic, the oracle, evaluation labels) calls it.
 *
 * Notation: `s_u` user taste (unit norm), `t_i` item topic (unit norm), `q_i ∈ (0,1)` item
 * quality, `z_c` the standardised log-popularity of the item's creator (Pareto α = 1.1, heavy
 * tailed), `age` the item's age in days at time `t` (≥ 0), `L = 1` when the user's language is the
 * item's, `M = 1` for misinformation, `ε_ui ~ N(0, 0.35²)` a fixed per-pair noise (a pure
 * function of the seed and the pair, so the truth is deterministic).
 *
 * ```text
 * a      = s_u · t_i                                   affinity, in [-1, 1]
 * f      = exp(-age / 10)                              freshness
 * pClick = σ(-2.6 + 3.5 a + 2.4 (q - ½) + 0.6 f + 0.35 z_c + 1.0 L - 0.8 (1 - L) + ε_ui)
 * watch  = σ(-0.3 + 2.5 a + 3.0 (q - ½) + ε_ui / 2)    expected watched fraction, given a click
 * pReport= σ(-4.5 + 2.5 M - 3.0 (q - ½) - 1.0 a)        P(report | click)
 * pSat   = σ(-0.5 + 2.0 a + 4.0 (q - ½) - 1.5 M)         P(satisfied | click)
 * value  = pClick · (watch + ½ pSat - 3 pReport)         the objective the oracle ranks by
 * ```
 *
 * Logged outcomes of an impression at 0-based position `p` (see `generateWorld`):
 * examined ~ Bernoulli(examination(p)) with `examination(p) = (1 + p)^-0.9` (position bias);
 * click ~ Bernoulli(pClick) if examined; given a click, watched fraction
 * `w = clamp(watch + N(0, 0.15²), 0, 1)` (completion when w ≥ 0.9), report ~ Bernoulli(pReport),
 * satisfied ~ Bernoulli(pSat) unless reported. The realised value of an impression is
 * `click · (w + ½ satisfied - 3 reported)`.
 */
export interface Truth {
  pClick: number;
  watch: number;
  pReport: number;
  pSat: number;
  value: number;
}

/** Weights of the objective `value = pClick · (watch + SAT_W · pSat - REPORT_W · pReport)`. */
export const OBJECTIVE = { satisfaction: 0.5, report: 3 } as const;

const NOISE_TAG = 0x6e6f6973;

/** Examination probability of 0-based slate position `p` (position bias). */
export function examination(p: number): number {
  return Math.pow(1 + p, -0.9);
}

/** The objective from head values (same formula for predictions and for the truth). */
export function objectiveValue(pClick: number, watch: number, pReport: number, pSat: number): number {
  return pClick * (watch + OBJECTIVE.satisfaction * pSat - OBJECTIVE.report * pReport);
}

/**
 * Computes the truth for user `u`, item `i` at world time `tS` (seconds) into `out` (no allocation).
 *
 * @example
 * ```ts
 * const t = groundTruth(world, 3, 17, 5 * DAY_S);
 * t.value; // the oracle's ranking key
 * ```
 */
export function groundTruth(world: World, u: number, i: number, tS: number, out: Truth = newTruth()): Truth {
  const D = world.cfg.dim;
  const uo = u * D;
  const io = i * D;
  let a = 0;
  for (let d = 0; d < D; d++) a += (world.userTaste[uo + d] as number) * (world.itemTopic[io + d] as number);
  const q = (world.itemQuality[i] as number) - 0.5;
  const age = Math.max(0, (tS - (world.itemPublishedS[i] as number)) / DAY_S);
  const f = Math.exp(-age / 10);
  const z = world.creatorPopZ[world.itemCreator[i] as number] as number;
  const L = world.userLanguage[u] === world.itemLanguage[i] ? 1 : 0;
  const M = world.itemMisinfo[i] as number;
  const eps = 0.35 * hashGaussian(world.cfg.seed, NOISE_TAG, u, i);
  out.pClick = sigmoid(-2.6 + 3.5 * a + 2.4 * q + 0.6 * f + 0.35 * z + 1.0 * L - 0.8 * (1 - L) + eps);
  out.watch = sigmoid(-0.3 + 2.5 * a + 3.0 * q + eps / 2);
  out.pReport = sigmoid(-4.5 + 2.5 * M - 3.0 * q - 1.0 * a);
  out.pSat = sigmoid(-0.5 + 2.0 * a + 4.0 * q - 1.5 * M);
  out.value = objectiveValue(out.pClick, out.watch, out.pReport, out.pSat);
  return out;
}

/** A zeroed {@link Truth} to reuse as an output buffer. */
export function newTruth(): Truth {
  return { pClick: 0, watch: 0, pReport: 0, pSat: 0, value: 0 };
}
