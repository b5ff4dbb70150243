import type { RequestOverrides } from '@recspine/core';

/** One arm of an experiment: its traffic weight and the knobs it overrides. */
export interface ArmSpec {
  readonly name: string;
  /** Relative traffic weight (the weights of all arms are normalised). */
  readonly weight: number;
  /** Coarse keep count per slot for this arm. */
  readonly coarseKeep?: Readonly<Record<string, number>>;
  /** Stage parameters, read by stages through `ctx.params` (objective weights, MMR λ, explore fraction…). */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** An experiment with a long-term holdback that model iterations never touch. */
export interface ExperimentSpec {
  readonly name: string;
  /** Share of users (0..1) in the long-term holdback, served the fixed baseline policy. */
  readonly holdbackFraction: number;
  /** The holdback's fixed policy. */
  readonly holdback: Omit<ArmSpec, 'weight' | 'name'>;
  readonly arms: readonly ArmSpec[];
}

/** What one user is assigned. */
export interface Assignment {
  readonly arm: string;
  readonly overrides: RequestOverrides;
}

/**
 * 32-bit FNV-1a. Hand-written: six lines, and a stable, dependency-free hash is all that
 * assignment needs (it must give the same bucket in every process, language and release).
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Uniform in [0, 1) from the hash of `experiment:userId`: a user stays in one arm across sessions and devices. */
export function bucket(experiment: string, userId: string): number {
  return fnv1a(`${experiment}:${userId}`) / 0x1_0000_0000;
}

/**
 * Assigns users to arms by a hash of the userId and the experiment name. Arms can be replaced
 * at run time ({@link Experiments.update}) with no restart; a user's holdback membership depends
 * only on the holdback fraction and the experiment name, so arm changes never move users in or
 * out of the holdback.
 */
export class Experiments {
  private spec: ExperimentSpec;
  private cumulative: number[] = [];
  /** Precomputed per-arm overrides per slot, so assignment allocates nothing. */
  private overridesBySlot = new Map<string, RequestOverrides[]>();
  private holdbackBySlot = new Map<string, RequestOverrides>();

  constructor(spec: ExperimentSpec) {
    this.spec = spec;
    this.compile();
  }

  get current(): ExperimentSpec {
    return this.spec;
  }

  /** Replaces the experiment's arms and parameters; takes effect on the next request. */
  update(spec: ExperimentSpec): void {
    validateSpec(spec);
    this.spec = spec;
    this.compile();
  }

  assign(userId: string | undefined, slot: string): Assignment {
    const s = this.spec;
    // Anonymous traffic has no stable identity: it gets the first arm.
    const b = userId === undefined ? 0.5 : bucket(s.name, userId);
    if (userId !== undefined && bucket(`${s.name}/holdback`, userId) < s.holdbackFraction) {
      return { arm: 'holdback', overrides: this.holdbackBySlot.get(slot) ?? { arm: 'holdback' } };
    }
    let i = 0;
    while (i < this.cumulative.length - 1 && b >= (this.cumulative[i] as number)) i++;
    const arm = s.arms[i] as ArmSpec;
    const list = this.overridesBySlot.get(slot);
    return { arm: arm.name, overrides: list?.[i] ?? { arm: arm.name } };
  }

  private compile(): void {
    validateSpec(this.spec);
    const total = this.spec.arms.reduce((a, r) => a + r.weight, 0);
    let acc = 0;
    this.cumulative = this.spec.arms.map((a) => (acc += a.weight / total));
    const slots = new Set<string>();
    for (const a of [...this.spec.arms, this.spec.holdback]) for (const k of Object.keys(a.coarseKeep ?? {})) slots.add(k);
    const build = (name: string, a: Omit<ArmSpec, 'weight' | 'name'>, slot: string): RequestOverrides => ({
      arm: name,
      ...(a.coarseKeep?.[slot] !== undefined ? { coarseKeep: a.coarseKeep[slot] } : {}),
      ...(a.params ? { params: a.params } : {}),
    });
    this.overridesBySlot = new Map();
    this.holdbackBySlot = new Map();
    for (const slot of ['homepage', 'end-of-video', 'search', ...slots]) {
      this.overridesBySlot.set(
        slot,
        this.spec.arms.map((a) => build(a.name, a, slot)),
      );
      this.holdbackBySlot.set(slot, build('holdback', this.spec.holdback, slot));
    }
  }
}

function validateSpec(s: ExperimentSpec): void {
  if (!s.name) throw new Error('experiment needs a name');
  if (!(s.holdbackFraction >= 0 && s.holdbackFraction < 1)) throw new Error('holdbackFraction must be in [0, 1)');
  if (s.arms.length === 0) throw new Error('experiment needs at least one arm');
  for (const a of s.arms) if (!(a.weight > 0)) throw new Error(`arm ${a.name}: weight must be > 0`);
}
