import { CoreErrors } from '@recspine/core';
import type { Candidate, FeatureBatch, Ranker, ScoreBatch, StageContext } from '@recspine/core';
import { RankErrors } from './errors.js';
import type { FeatureAssembler } from './FeatureAssembler.js';
import type { HeadConfig } from './HeadTransform.js';
import type { ModelProvider } from './ModelProvider.js';
import { bindModel } from './internal/bindModel.js';
import { compileTransform } from './internal/transforms.js';

/** Options of {@link MultiTaskRanker}. */
export interface MultiTaskRankerOptions {
  /** Stage name. Default `fine`. */
  readonly name?: string;
  /** An `OnnxModel` or a `ModelRegistry` (hot swap). */
  readonly model: ModelProvider;
  /** Builds the model's `[batch, F]` float32 input; its width must equal F. */
  readonly assembler: FeatureAssembler;
  /** The model input to feed; default the model's only input. */
  readonly input?: string;
  /** Heads by name (e.g. `ctr`, `watch`, `report`, `satisfaction`), each a per-row model output. */
  readonly heads: Readonly<Record<string, HeadConfig>>;
  /**
   * The `ctx.params` key holding per-request weights (e.g. from an experiment arm). Default
   * `objectiveWeights`; `null` ignores per-request weights.
   */
  readonly weightsParam?: string | null;
}

/** Cumulative counters, for metrics. */
export interface RankerStats {
  readonly batches: number;
  readonly rows: number;
  /** Feature cells that were missing (default + indicator). */
  readonly missingCells: number;
  /** Feature cells that were malformed (treated as missing). */
  readonly malformedCells: number;
}

interface Head {
  readonly name: string;
  readonly output: string;
  readonly transform: (p: number) => number;
}

/**
 * The multi-task fine ranker (a core `Ranker`): one batched model run scores every candidate, and
 * the heads are combined as Σ wᵢ · transformᵢ(headᵢ).
 *
 * Contract:
 * - one `assemble` + one model run per `score` call; scores are aligned with `cands` and finite
 *   (the model's outputs are checked; a NaN fails the batch with a coded error);
 * - every head's **raw** prediction is returned in `heads`, so it lands on each candidate for
 *   logging and debugging;
 * - weights: `ctx.params.objectiveWeights` (a `Record<head, number>`) when present, merged over the
 *   ranker's current weights (heads it does not name keep theirs); otherwise the current weights,
 *   which {@link MultiTaskRanker.setWeights} changes at run time without touching the model.
 *   Negative weights are allowed (e.g. `report`);
 * - the model is taken from the provider once per batch, so a hot swap is atomic per request;
 * - `modelVersion` on the score batch names the model version that scored it.
 *
 * The weights encode the product's willingness-to-trade: e.g. if a 5 % guardrail gain (fewer
 * reports) is worth up to a 0.5 % retention regression, `report` gets a negative weight whose
 * magnitude makes that trade score-neutral at the margin; tune it offline, ship it as an arm.
 *
 * @example
 * ```ts
 * const fine = new MultiTaskRanker({
 *   model: registry,
 *   assembler,
 *   heads: {
 *     ctr: { weight: 1 },
 *     watch: { weight: 0.6, transform: { kind: 'log' } },
 *     report: { weight: -4 },
 *     satisfaction: { weight: 0.8, transform: { kind: 'platt', a: 1.1, b: -0.2 } },
 *   },
 * });
 * fine.setWeights({ report: -6 }); // takes effect on the next batch
 * ```
 */
export class MultiTaskRanker implements Ranker {
  readonly name: string;
  readonly assembler: FeatureAssembler;
  private readonly provider: ModelProvider;
  private readonly input: string;
  private readonly heads: readonly Head[];
  private readonly headIndex: ReadonlyMap<string, number>;
  private readonly weightsParam: string | null;
  private current: Float64Array;
  private counters = { batches: 0, rows: 0, missingCells: 0, malformedCells: 0 };

  constructor(options: MultiTaskRankerOptions) {
    this.name = options.name ?? 'fine';
    this.assembler = options.assembler;
    this.provider = options.model;
    this.weightsParam = options.weightsParam === undefined ? 'objectiveWeights' : options.weightsParam;
    const entries = Object.entries(options.heads ?? {});
    if (entries.length === 0)
      throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `${this.name}: at least one head is required`, { field: 'heads' });
    const heads: Head[] = [];
    const weights: number[] = [];
    for (const [name, h] of entries) {
      const transform = compileTransform(h.transform);
      if (typeof transform === 'string') {
        throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `${this.name}: head ${name}: ${transform}`, {
          field: `heads.${name}.transform`,
        });
      }
      if (!Number.isFinite(h.weight)) {
        throw RankErrors.create('RECSPINE_ERR_RANK_WEIGHTS', `${this.name}: head ${name} needs a finite weight, got ${h.weight}`, {
          field: `heads.${name}.weight`,
        });
      }
      heads.push({ name, output: h.output ?? name, transform });
      weights.push(h.weight);
    }
    this.heads = heads;
    this.headIndex = new Map(heads.map((h, i) => [h.name, i]));
    this.current = Float64Array.from(weights);
    this.input = bindModel(
      this.name,
      this.provider,
      this.assembler,
      options.input,
      heads.map((h) => h.output),
    );
  }

  /** The current objective weights, by head. */
  get weights(): Readonly<Record<string, number>> {
    const out: Record<string, number> = {};
    this.heads.forEach((h, i) => (out[h.name] = this.current[i] as number));
    return out;
  }

  /** Head names, in model order. */
  get headNames(): readonly string[] {
    return this.heads.map((h) => h.name);
  }

  /** Cumulative counters since construction. */
  get stats(): RankerStats {
    return { ...this.counters };
  }

  /**
   * Replaces the weights of the heads named (the others keep theirs). Atomic: the next batch sees
   * all new weights, a batch in flight sees none. No model reload.
   *
   * @throws `RECSPINE_ERR_RANK_WEIGHTS` for an unknown head or a non-finite weight (nothing changes).
   */
  setWeights(weights: Readonly<Record<string, number>>): void {
    this.current = this.merge(weights, 'setWeights');
  }

  async score(ctx: StageContext, cands: readonly Candidate[], feats: FeatureBatch): Promise<ScoreBatch> {
    const n = cands.length;
    const weights = this.weightsFor(ctx);
    const model = this.provider.current();
    if (n === 0) return { scores: new Float64Array(0), heads: {}, modelVersion: model.version };
    if (ctx.signal.aborted)
      throw CoreErrors.create('RECSPINE_ERR_DEADLINE_EXCEEDED', `${ctx.stage}: deadline passed before the run`, { stage: ctx.stage });
    const lease = this.assembler.assemble({ batch: feats, candidates: cands, ctx });
    let out;
    try {
      out = await model.run({ [this.input]: lease.data }, n, { stage: ctx.stage });
    } finally {
      lease.release();
    }
    const c = this.counters;
    c.batches++;
    c.rows += n;
    c.missingCells += lease.missing;
    c.malformedCells += lease.malformed;
    const scores = new Float64Array(n);
    const heads: Record<string, ArrayLike<number>> = {};
    for (let h = 0; h < this.heads.length; h++) {
      const head = this.heads[h] as Head;
      const raw = (out[head.output] as { data: ArrayLike<number> }).data;
      heads[head.name] = raw;
      const w = weights[h] as number;
      if (w === 0) continue;
      const t = head.transform;
      for (let i = 0; i < n; i++) scores[i] = (scores[i] as number) + w * t(raw[i] as number);
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(scores[i])) {
        throw RankErrors.create('RECSPINE_ERR_RANK_NONFINITE_OUTPUT', `${this.name}: combined score of row ${i} is ${scores[i]}`, {
          stage: ctx.stage,
        });
      }
    }
    return { scores, heads, modelVersion: model.version };
  }

  private weightsFor(ctx: StageContext): Float64Array {
    if (this.weightsParam === null) return this.current;
    const override = ctx.params[this.weightsParam];
    if (override === undefined) return this.current;
    return this.merge(override, `params.${this.weightsParam}`, ctx.stage);
  }

  private merge(w: unknown, field: string, stage?: string): Float64Array {
    const err = (msg: string): never => {
      throw RankErrors.create('RECSPINE_ERR_RANK_WEIGHTS', `${this.name}: ${msg}`, { field, ...(stage === undefined ? {} : { stage }) });
    };
    if (typeof w !== 'object' || w === null || Array.isArray(w)) return err('objective weights must be an object of head → number');
    const next = Float64Array.from(this.current);
    for (const [name, v] of Object.entries(w as Record<string, unknown>)) {
      const i = this.headIndex.get(name);
      if (i === undefined) err(`unknown head ${name} (heads: ${this.headNames.join(', ')})`);
      if (typeof v !== 'number' || !Number.isFinite(v)) err(`weight of ${name} must be a finite number, got ${String(v)}`);
      next[i as number] = v as number;
    }
    return next;
  }
}
