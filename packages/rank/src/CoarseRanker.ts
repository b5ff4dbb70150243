import type { Candidate, FeatureBatch, Ranker, ScoreBatch, StageContext } from '@recspine/core';
import { RankErrors } from './errors.js';
import type { FeatureAssembler } from './FeatureAssembler.js';
import type { ModelProvider } from './ModelProvider.js';
import { bindModel } from './internal/bindModel.js';

/** Weights of the linear coarse score. */
export interface CoarseWeights {
  /** × user-embedding · item-embedding. Default 1. */
  readonly dot?: number;
  /** × `candidate.retrievalScore` (reciprocal-rank fusion, ≈ 1/(60 + rank)). Default 1. */
  readonly retrieval?: number;
  /** × number of sources that retrieved the item. Default 0. */
  readonly sourceCount?: number;
  /** Per source name: × that source's own score (0 when it did not retrieve the item). */
  readonly sources?: Readonly<Record<string, number>>;
  /** × 0.5^(ageHours / halfLifeHours), from `meta.publishedAtMs`. */
  readonly freshness?: { readonly weight: number; readonly halfLifeHours: number };
  /** Per `meta.attributes` key: × that numeric attribute (ignored when absent or not a finite number). */
  readonly attributes?: Readonly<Record<string, number>>;
}

/** A tiny ONNX MLP that replaces the linear score. */
export interface CoarseMlp {
  readonly model: ModelProvider;
  /** Must not read online features (coarse rank runs before the feature lookup). */
  readonly assembler: FeatureAssembler;
  /** The per-row output to use as the score; default the spec's first output. */
  readonly output?: string;
  readonly input?: string;
}

/** Options of {@link CoarseRanker}. */
export interface CoarseRankerOptions {
  /** Stage name. Default `coarse`. */
  readonly name?: string;
  /** How many candidates to pass on. Changeable at run time with {@link CoarseRanker.setKeep}. */
  readonly keep: number;
  readonly weights?: CoarseWeights;
  /** `ctx.state` key of the user embedding (a `Float32Array`). Default `userEmbedding`. */
  readonly userEmbeddingKey?: string;
  /** Value used for the dot product when either embedding is missing or their lengths differ. Default 0. */
  readonly missingDot?: number;
  readonly mlp?: CoarseMlp;
}

/** Something whose per-slot keep count can be set (core's `Recommender` is one). */
export interface KeepTarget {
  setCoarseKeep(slot: string, keep: number): void;
}

const HOUR_MS = 3_600_000;

function checkKeep(keep: number): void {
  if (!Number.isInteger(keep) || keep < 1)
    throw RankErrors.create('RECSPINE_ERR_RANK_CONFIG', `keep must be a positive integer, got ${keep}`, { field: 'keep' });
}

/**
 * The coarse ranker (a core `Ranker`): cheap by design. Its score combines the user-embedding ·
 * item-embedding dot product (user embedding from `ctx.state`, item embedding from
 * `candidate.meta.embedding`), the retrieval scores (`retrievalScore`, per-source scores, source
 * count) and a few in-memory item features (freshness, numeric `meta.attributes`), linearly, or,
 * with `mlp`, through a tiny ONNX MLP over a feature spec built from the same in-memory values.
 *
 * Contract: reads no online features; scores are aligned with `cands` and finite; does not reorder
 * or mutate `cands`.
 *
 * The keep count is the load-shedding knob: {@link CoarseRanker.setKeep} changes it at run time.
 * Core's runner trims to the slot's `coarseKeep`, so wire the two with
 * {@link CoarseRanker.bindTo} (the ranker then pushes every change to the recommender); standalone
 * callers use {@link CoarseRanker.selectTop}.
 *
 * @example
 * ```ts
 * const coarse = new CoarseRanker({ keep: 200, weights: { dot: 1, retrieval: 30, freshness: { weight: 0.2, halfLifeHours: 48 } } });
 * coarse.bindTo(recommender, ['homepage', 'search']);
 * loadController.onOverload(() => coarse.setKeep(120));
 * ```
 */
export class CoarseRanker implements Ranker {
  readonly name: string;
  private keepCount: number;
  private readonly listeners = new Set<(keep: number) => void>();
  private readonly w: {
    dot: number;
    retrieval: number;
    sourceCount: number;
    sources: readonly (readonly [string, number])[];
    fresh: number;
    halfLife: number;
    attributes: readonly (readonly [string, number])[];
  };
  private readonly userKey: string;
  private readonly missingDot: number;
  private readonly mlp: { provider: ModelProvider; assembler: FeatureAssembler; input: string; output: string } | undefined;

  constructor(options: CoarseRankerOptions) {
    this.name = options.name ?? 'coarse';
    checkKeep(options.keep);
    this.keepCount = options.keep;
    this.userKey = options.userEmbeddingKey ?? 'userEmbedding';
    this.missingDot = options.missingDot ?? 0;
    const w = options.weights ?? {};
    const num = (v: number | undefined, d: number, field: string): number => {
      const x = v ?? d;
      if (!Number.isFinite(x))
        throw RankErrors.create('RECSPINE_ERR_RANK_WEIGHTS', `${this.name}: ${field} must be finite, got ${x}`, { field });
      return x;
    };
    const pairs = (r: Readonly<Record<string, number>> | undefined, field: string): (readonly [string, number])[] =>
      Object.entries(r ?? {}).map(([k, v]) => [k, num(v, 0, `${field}.${k}`)] as const);
    const halfLife = w.freshness?.halfLifeHours ?? 1;
    if (!(halfLife > 0))
      throw RankErrors.create('RECSPINE_ERR_RANK_WEIGHTS', `${this.name}: freshness.halfLifeHours must be > 0`, {
        field: 'weights.freshness',
      });
    this.w = {
      dot: num(w.dot, 1, 'weights.dot'),
      retrieval: num(w.retrieval, 1, 'weights.retrieval'),
      sourceCount: num(w.sourceCount, 0, 'weights.sourceCount'),
      sources: pairs(w.sources, 'weights.sources'),
      fresh: num(w.freshness?.weight, 0, 'weights.freshness.weight'),
      halfLife,
      attributes: pairs(w.attributes, 'weights.attributes'),
    };
    num(this.missingDot, 0, 'missingDot');
    if (options.mlp) {
      const { model, assembler } = options.mlp;
      if (assembler.usesOnlineFeatures) {
        throw RankErrors.create(
          'RECSPINE_ERR_RANK_FEATURE_SPEC',
          `${this.name}: a coarse feature spec must not read online features (from: user | item)`,
          {
            field: 'mlp.assembler',
          },
        );
      }
      const output = options.mlp.output ?? model.spec.outputs[0]?.name ?? '';
      const input = bindModel(this.name, model, assembler, options.mlp.input, [output]);
      this.mlp = { provider: model, assembler, input, output };
    }
  }

  /** The current keep count. */
  get keep(): number {
    return this.keepCount;
  }

  /** Changes the keep count (effective on the next request) and notifies bound targets. */
  setKeep(keep: number): void {
    checkKeep(keep);
    this.keepCount = keep;
    for (const l of this.listeners) l(keep);
  }

  /** Calls `listener` on every keep change. Returns an unsubscribe function. */
  onKeepChange(listener: (keep: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes `target`'s keep count follow this ranker's for `slots` (set now, and on every change). */
  bindTo(target: KeepTarget, slots: readonly string[]): () => void {
    const push = (k: number): void => {
      for (const s of slots) target.setCoarseKeep(s, k);
    };
    push(this.keepCount);
    return this.onKeepChange(push);
  }

  /** The top `keep` candidates by `scores`, best first (ties keep input order). */
  selectTop<C extends Candidate>(cands: readonly C[], scores: ArrayLike<number>): C[] {
    const idx = Array.from(cands.keys());
    // compare, not subtract: no heap number per comparison (see core's byScoreDesc)
    idx.sort((a, b) => {
      const x = scores[a] as number;
      const y = scores[b] as number;
      return y > x ? 1 : y < x ? -1 : a - b;
    });
    return idx.slice(0, this.keepCount).map((i) => cands[i] as C);
  }

  async score(ctx: StageContext, cands: readonly Candidate[], _feats: FeatureBatch): Promise<ScoreBatch> {
    const n = cands.length;
    if (this.mlp) {
      const model = this.mlp.provider.current();
      if (n === 0) return { scores: new Float64Array(0), modelVersion: model.version };
      const lease = this.mlp.assembler.assemble({ candidates: cands, ctx });
      try {
        const out = await model.run({ [this.mlp.input]: lease.data }, n, { stage: ctx.stage });
        const raw = (out[this.mlp.output] as { data: ArrayLike<number> }).data;
        return { scores: Float64Array.from(raw as ArrayLike<number>), modelVersion: model.version };
      } finally {
        lease.release();
      }
    }
    return { scores: this.linear(ctx, cands) };
  }

  private linear(ctx: StageContext, cands: readonly Candidate[]): Float64Array {
    const n = cands.length;
    const w = this.w;
    const u = ctx.state.get(this.userKey);
    const user = u instanceof Float32Array ? u : undefined;
    const nowMs = ctx.request.context?.nowMs ?? Date.now();
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = cands[i] as Candidate;
      let s = 0;
      if (w.dot !== 0) {
        const e = c.meta?.embedding;
        let d = this.missingDot;
        if (user !== undefined && e !== undefined && e.length === user.length) {
          d = 0;
          for (let k = 0; k < e.length; k++) d += (user[k] as number) * (e[k] as number);
          if (!Number.isFinite(d)) d = this.missingDot;
        }
        s += w.dot * d;
      }
      if (Number.isFinite(c.retrievalScore)) s += w.retrieval * c.retrievalScore;
      s += w.sourceCount * c.sources.length;
      for (const [src, ws] of w.sources) {
        const j = c.sources.indexOf(src);
        const v = j < 0 ? undefined : c.sourceScores[j];
        if (v !== undefined && Number.isFinite(v)) s += ws * v;
      }
      if (w.fresh !== 0) {
        const p = c.meta?.publishedAtMs;
        if (p !== undefined && Number.isFinite(p)) s += w.fresh * Math.pow(0.5, Math.max(0, nowMs - p) / HOUR_MS / w.halfLife);
      }
      for (const [k, wa] of w.attributes) {
        const v = c.meta?.attributes?.[k];
        if (typeof v === 'number' && Number.isFinite(v)) s += wa * v;
      }
      scores[i] = s;
    }
    return scores;
  }
}
