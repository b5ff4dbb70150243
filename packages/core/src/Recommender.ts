import type { Candidate, RetrievedItem } from './Candidate.js';
import { CircuitBreaker } from './CircuitBreaker.js';
import { DefaultDegrader, LEGAL_TIERS } from './DefaultDegrader.js';
import type { Degradation, DegradationTier, FailureMode } from './Degradation.js';
import type { Degrader } from './Degrader.js';
import { CoreErrors, isRecSpineError } from './errors.js';
import { emptyFeatureBatch, type FeatureBatch } from './FeatureBatch.js';
import { now } from './internal/clock.js';
import { TIMED_OUT, isThenable, raceDeadline } from './internal/deadline.js';
import { StageCtx } from './internal/StageCtx.js';
import { validateConfig } from './internal/validateConfig.js';
import { NoopMetricsSink, type BreakerState, type MetricsSink } from './MetricsSink.js';
import type { PolicyFilter } from './PolicyFilter.js';
import type { Ranker } from './Ranker.js';
import type { RecRequest, RecommendOptions } from './RecRequest.js';
import type { OrderedBy, RecItem, RecResponse, SourceReport, SourceStatus, StageName } from './RecResponse.js';
import type { RecommenderConfig, SharedStages, SourceSpec, StageBudgets } from './RecommenderConfig.js';
import type { ReRanker } from './ReRanker.js';
import type { RetrievalSource } from './RetrievalSource.js';
import type { ScoreBatch } from './ScoreBatch.js';
import { validateRequest } from './validateRequest.js';

/** Reciprocal-rank-fusion constant (Cormack et al. 2009): robust to sources' incomparable score scales. */
const RRF_K = 60;
const EMPTY_PARAMS: Readonly<Record<string, unknown>> = Object.freeze({});
/** What the coarse ranker receives: coarse rank uses no online features by design. */
const NO_FEATURES: FeatureBatch = emptyFeatureBatch(undefined, []);

/** A source resolved at build time: budget, k, breaker and its stage path precomputed. */
interface SourcePlan {
  readonly source: RetrievalSource;
  readonly name: string;
  readonly budgetMs: number;
  readonly k: number;
  readonly breaker: CircuitBreaker;
  readonly path: string;
}

/** A slot resolved at build time. The request path only reads it. */
interface SlotPlan {
  readonly name: string;
  readonly slaMs: number;
  readonly budgets: StageBudgets;
  readonly sources: readonly SourcePlan[];
  readonly sourceIndex: ReadonlyMap<string, number>;
  coarseKeep: number;
  readonly coarse: Ranker | undefined;
  readonly rerank: readonly ReRanker[];
  /** Stage path of each re-ranker, precomputed (`slot/rerank/name`). */
  readonly rerankPaths: readonly string[];
  readonly policy: readonly PolicyFilter[];
  readonly policyEarly: boolean;
  readonly backfillFromTail: boolean;
  readonly paths: Readonly<Record<StageName | 'degraded', string>>;
}

type Outcome<T> =
  | { readonly ok: true; readonly value: T; readonly overran: boolean }
  | { readonly ok: false; readonly status: 'timeout' | 'error' | 'breaker_open'; readonly error?: unknown };

/** Status of the runner's dependencies, for `/readyz` and dashboards. */
export interface BreakerSnapshot {
  readonly name: string;
  readonly state: BreakerState;
}

/**
 * A recommender built once from a {@link RecommenderConfig} that serves many requests.
 * Create it with {@link createRecommender}.
 *
 * The request path: validate → retrieval (sources in parallel, each under its sub-budget; merged
 * by reciprocal-rank fusion, every candidate keeping all its sources) → coarse rank (keep N) →
 * online features → fine rank (or the degraded-mode ranker) → re-rank chain → policy filters
 * (always, last, on every path) → backfill from the ranked reserve → response.
 *
 * Every stage gets min(its budget, time left before the SLA minus the finalize reserve); its
 * AbortSignal fires at that deadline. Failures take the designed path chosen by the
 * {@link Degrader}; `recommend` rejects only for client errors (invalid request, unknown slot).
 */
export class Recommender {
  private readonly slots = new Map<string, SlotPlan>();
  private readonly shared: SharedStages;
  private readonly metrics: MetricsSink;
  private readonly degrader: Degrader;
  private readonly breakerMap = new Map<string, CircuitBreaker>();
  private readonly featuresBreaker: CircuitBreaker;
  private readonly fineBreaker: CircuitBreaker;
  private readonly degradedBreaker: CircuitBreaker;
  private readonly coarseBreaker: CircuitBreaker;
  private readonly reserveMs: number;
  private readonly minStageMs: number;
  private readonly overrunTolMs: number;
  private readonly maxLimit: number;
  private readonly runtime: RunnerInternals;
  private readonly idPrefix = Math.random().toString(36).slice(2, 8);
  private seq = 0;

  /** Prefer {@link createRecommender}. Validates the config; throws `RECSPINE_ERR_CONFIG`. */
  constructor(config: RecommenderConfig) {
    validateConfig(config);
    this.shared = config.shared ?? {};
    this.metrics = config.metrics ?? new NoopMetricsSink();
    this.degrader = config.degrader ?? new DefaultDegrader();
    this.reserveMs = config.finalizeReserveMs ?? 2;
    this.minStageMs = config.minStageMs ?? 1;
    this.overrunTolMs = config.overrunToleranceMs ?? 1;
    this.maxLimit = config.maxLimit ?? 100;
    const breakerOpts = config.breakers ?? {};
    const breaker = (name: string): CircuitBreaker => {
      let b = this.breakerMap.get(name);
      if (!b) {
        b = new CircuitBreaker(name, breakerOpts[name] ?? breakerOpts.default, this.metrics);
        this.breakerMap.set(name, b);
      }
      return b;
    };
    this.featuresBreaker = breaker('features');
    this.fineBreaker = breaker('fine');
    this.degradedBreaker = breaker('degraded');
    this.coarseBreaker = breaker('coarse');
    this.runtime = {
      sharedStages: this.shared,
      sink: this.metrics,
      degraderImpl: this.degrader,
      settings: { reserveMs: this.reserveMs, minStageMs: this.minStageMs, overrunTolMs: this.overrunTolMs },
      dependencyBreakers: {
        features: this.featuresBreaker,
        fine: this.fineBreaker,
        degraded: this.degradedBreaker,
        coarse: this.coarseBreaker,
      },
    };

    for (const [name, sc] of Object.entries(config.slots)) {
      const budgets: StageBudgets = { ...config.budgets, ...sc.budgets };
      const retrieveK = sc.retrieveK ?? 500;
      const sources = sc.sources.map((entry): SourcePlan => {
        const spec: SourceSpec = 'retrieve' in entry ? { source: entry } : entry;
        return {
          source: spec.source,
          name: spec.source.name,
          budgetMs: Math.min(spec.budgetMs ?? budgets.retrieval, budgets.retrieval),
          k: spec.k ?? retrieveK,
          breaker: breaker(spec.source.name),
          path: `${name}/retrieval/${spec.source.name}`,
        };
      });
      this.slots.set(name, {
        name,
        slaMs: sc.slaMs ?? config.slaMs,
        budgets,
        sources,
        sourceIndex: new Map(sources.map((s, i) => [s.name, i])),
        coarseKeep: sc.coarseKeep,
        coarse: sc.coarse ?? this.shared.coarse,
        rerank: sc.rerank ?? [],
        rerankPaths: (sc.rerank ?? []).map((r) => `${name}/rerank/${r.name}`),
        policy: [...(this.shared.policy ?? []), ...(sc.policy ?? [])],
        policyEarly: sc.policyEarly ?? true,
        backfillFromTail: sc.backfillFromTail ?? true,
        paths: {
          retrieval: `${name}/retrieval`,
          coarse: `${name}/coarse`,
          features: `${name}/features`,
          fine: `${name}/fine`,
          degraded: `${name}/degraded`,
          rerank: `${name}/rerank`,
          policy: `${name}/policy`,
        },
      });
    }
  }

  /** The configured slot names. */
  get slotNames(): readonly string[] {
    return [...this.slots.keys()];
  }

  /** Breaker states of every shared dependency. */
  breakers(): readonly BreakerSnapshot[] {
    return [...this.breakerMap.values()].map((b) => ({ name: b.name, state: b.state }));
  }

  /** The breaker of one dependency (`features`, `fine`, `degraded`, `coarse` or a source name). */
  breaker(name: string): CircuitBreaker | undefined {
    return this.breakerMap.get(name);
  }

  /** Current coarse keep count of a slot. */
  getCoarseKeep(slot: string): number {
    return this.plan(slot).coarseKeep;
  }

  /**
   * Changes a slot's coarse keep count at run time (the load-shedding knob: fewer candidates, less
   * feature and fine-rank work). Takes effect on the next request.
   */
  setCoarseKeep(slot: string, keep: number): void {
    if (!Number.isInteger(keep) || keep <= 0) {
      throw CoreErrors.create('RECSPINE_ERR_CONFIG', `coarseKeep must be a positive integer, got ${keep}`, {
        field: `slots.${slot}.coarseKeep`,
      });
    }
    this.plan(slot).coarseKeep = keep;
  }

  private plan(slot: string): SlotPlan {
    const p = this.slots.get(slot);
    if (!p) throw CoreErrors.create('RECSPINE_ERR_UNKNOWN_SLOT', `unknown slot '${slot}'`, { field: 'slot' });
    return p;
  }

  /**
   * Serves one request. Rejects only with a client `RecSpineError` (invalid request or unknown
   * slot); every other failure is degraded into a response, tagged in `degraded`.
   */
  async recommend(request: RecRequest, options?: RecommendOptions): Promise<RecResponse> {
    const req = validateRequest(request, { maxLimit: this.maxLimit, slots: this.slots });
    const plan = this.slots.get(req.slot) as SlotPlan;
    const startedAt = options?.startedAt;
    if (startedAt !== undefined && (typeof startedAt !== 'number' || !Number.isFinite(startedAt) || startedAt > now())) {
      throw CoreErrors.create(
        'RECSPINE_ERR_INVALID_REQUEST',
        `startedAt must be a finite performance.now() time not in the future, got ${String(startedAt)}`,
        {
          field: 'startedAt',
        },
      );
    }
    const run = new RequestRun(
      this.runtime,
      plan,
      req,
      req.requestId ?? `${this.idPrefix}-${(++this.seq).toString(36)}`,
      startedAt ?? now(),
    );
    try {
      return await run.execute();
    } catch (e) {
      return run.fail('internal_error', plan.name, e);
    }
  }
}

interface RunnerInternals {
  readonly sharedStages: SharedStages;
  readonly sink: MetricsSink;
  readonly degraderImpl: Degrader;
  readonly settings: { reserveMs: number; minStageMs: number; overrunTolMs: number };
  readonly dependencyBreakers: { features: CircuitBreaker; fine: CircuitBreaker; degraded: CircuitBreaker; coarse: CircuitBreaker };
}

// Compares rather than subtracts: a comparator returning a double allocates a heap number per call
// (≈ 22 000 calls sorting 2 000 candidates: ~300 kB per homepage request, measured), a small
// integer does not. NaN compares equal either way.
const byScoreDesc = (a: Candidate, b: Candidate): number => (b.score > a.score ? 1 : b.score < a.score ? -1 : 0);

/**
 * Reorders `cands` in place so that its first `keep` entries are exactly the first `keep` of a
 * stable `sort(byScoreDesc)`, in that order; the rest keep their input order. Same result as the
 * full sort for the kept prefix (ties broken by input order), without sorting the part the coarse
 * trim drops: on a homepage request (≈2 600 candidates, keep 300) the full sort was ≈ 0.45 ms of
 * CPU, 3–4 % of the request (CPU profile). Hand-written: a selection of the k-th largest value
 * (Floyd–Rivest / quickselect) is a dozen lines, not worth a dependency.
 */
function selectTop(cands: Candidate[], keep: number): void {
  const n = cands.length;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = (cands[i] as Candidate).score;
  const t = kthLargest(s, keep);
  // entries above the threshold all stay; of those equal to it, the first ones (input order) fill up
  let above = 0;
  for (let i = 0; i < n; i++) if ((cands[i] as Candidate).score > t) above++;
  let equalSlots = keep - above;
  const head: Candidate[] = [];
  const rest: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const c = cands[i] as Candidate;
    if (c.score > t || (c.score === t && equalSlots-- > 0)) head.push(c);
    else rest.push(c);
  }
  head.sort(byScoreDesc);
  for (let i = 0; i < head.length; i++) cands[i] = head[i] as Candidate;
  for (let i = 0; i < rest.length; i++) cands[head.length + i] = rest[i] as Candidate;
}

/** The k-th largest value of `a` (1-based `k` ≤ `a.length`); reorders `a`. Quickselect, middle pivot. */
function kthLargest(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) > pivot) i++;
      while ((a[j] as number) < pivot) j--;
      if (i <= j) {
        const x = a[i] as number;
        a[i] = a[j] as number;
        a[j] = x;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target] as number;
  }
  return a[target] as number;
}

/** State of one request. One instance per request; the runner's logic lives here. */
class RequestRun {
  private readonly t0: number;
  private readonly endAt: number;
  private readonly degraded: Degradation[] = [];
  private readonly stageMs: Partial<Record<StageName, number>> = {};
  private readonly sourceStatus: SourceStatus[];
  private readonly sourceRetrieved: number[];
  private readonly sourceMs: number[];
  private readonly state = new Map<string, unknown>();
  private readonly params: Readonly<Record<string, unknown>>;
  private readonly modelVersions: Record<string, string> = {};
  private readonly shared: SharedStages;
  private readonly reserveMs: number;
  private readonly minStageMs: number;
  private readonly overrunTolMs: number;
  private orderedBy: OrderedBy = 'retrieval';
  private skipOptional = false;
  private chainApplied = false;
  /**
   * The coarse stage kept its top `keep` by a partial selection (see applyScores): the trimmed tail
   * is in input order, sorted only if a short slate backfills from it.
   */
  private partial = false;
  private retrievedCount = 0;
  private afterCoarse = 0;

  constructor(
    private readonly rec: RunnerInternals,
    private readonly plan: SlotPlan,
    private readonly req: RecRequest,
    private readonly requestId: string,
    t0: number,
  ) {
    this.t0 = t0;
    this.endAt = this.t0 + plan.slaMs;
    this.params = req.overrides?.params ?? EMPTY_PARAMS;
    this.shared = rec.sharedStages;
    ({ reserveMs: this.reserveMs, minStageMs: this.minStageMs, overrunTolMs: this.overrunTolMs } = rec.settings);
    const n = plan.sources.length;
    this.sourceStatus = new Array<SourceStatus>(n).fill('skipped');
    this.sourceRetrieved = new Array<number>(n).fill(0);
    this.sourceMs = new Array<number>(n).fill(0);
  }

  /** ms available to a stage that starts now: its budget capped by the SLA minus the finalize reserve. */
  private available(budget: number): number {
    return Math.min(budget, this.endAt - this.reserveMs - now());
  }

  private record(mode: FailureMode, stage: string, error?: unknown, detail?: string): DegradationTier {
    const info = {
      mode,
      stage,
      hasDegradedRanker: this.shared.degraded !== undefined,
      hasFallback: this.shared.fallback !== undefined,
    };
    let tier = this.rec.degraderImpl.decide(info);
    const legal = LEGAL_TIERS[mode];
    if (!legal.includes(tier)) tier = new DefaultDegrader().decide(info);
    const code = errorCode(error);
    const d: Degradation = {
      mode,
      tier,
      stage,
      ...(code === undefined ? {} : { code }),
      ...(detail !== undefined ? { detail } : error instanceof Error ? { detail: error.message } : {}),
    };
    this.degraded.push(d);
    this.rec.sink.degradation(this.plan.name, d);
    if (tier === 'skip_optional') this.skipOptional = true;
    return tier;
  }

  /** Skips an optional stage when too little time is left; records the `deadline_near` tier once. */
  private canRun(stage: string, budget: number): number | undefined {
    if (this.skipOptional) return undefined;
    const avail = this.available(budget);
    if (avail < this.minStageMs) {
      this.record('deadline_near', stage, undefined, `${Math.max(0, avail).toFixed(2)} ms left`);
      return undefined;
    }
    return avail;
  }

  /** Runs one async-capable call under a deadline and a breaker. */
  private async guarded<T>(
    breaker: CircuitBreaker,
    stagePath: string,
    budgetMs: number,
    call: (ctx: StageCtx) => PromiseLike<T> | T,
  ): Promise<Outcome<T>> {
    if (breaker.isOpen()) return { ok: false, status: 'breaker_open', error: breakerError(breaker, stagePath) };
    const deadlineAt = now() + budgetMs;
    const ctx = new StageCtx(this.req, this.requestId, stagePath, deadlineAt, this.state, this.params);
    try {
      const value = await breaker.execute(async () => {
        const v = await raceDeadline(call(ctx), budgetMs, ctx);
        if (v === TIMED_OUT) {
          throw CoreErrors.create('RECSPINE_ERR_DEADLINE_EXCEEDED', `${stagePath} exceeded its ${budgetMs.toFixed(1)} ms budget`, {
            stage: stagePath,
          });
        }
        return v;
      });
      return { ok: true, value, overran: now() > deadlineAt + this.overrunTolMs };
    } catch (e) {
      if (CircuitBreaker.isBrokenCircuit(e)) return { ok: false, status: 'breaker_open', error: breakerError(breaker, stagePath) };
      const timeout = isRecSpineError(e) && e.code === 'RECSPINE_ERR_DEADLINE_EXCEEDED' && e.stage === stagePath;
      return { ok: false, status: timeout ? 'timeout' : 'error', error: e };
    }
  }

  async execute(): Promise<RecResponse> {
    const plan = this.plan;
    // ---- 1. retrieval ----
    let cands = await this.retrieve();
    if (cands.length === 0) return this.fail('no_candidates', plan.paths.retrieval);
    this.retrievedCount = cands.length;
    // Early policy pass: items that can never be served do not take coarse, feature or fine-rank
    // capacity. The final pass after re-rank still runs on every path (filters are pure, so
    // evaluating them twice gives the same answer and catches anything a later stage brings in).
    if (plan.policyEarly && plan.policy.length > 0) {
      const ctx = new StageCtx(this.req, this.requestId, plan.paths.policy, this.endAt, this.state, this.params);
      cands = cands.filter((c) => allowedByAll(plan.policy, ctx, c));
      // Everything retrieved is forbidden for this request: not a failure, just an empty slate.
      if (cands.length === 0) return this.finish(cands, cands);
    }

    // ---- 2. coarse rank ----
    const keep = this.req.overrides?.coarseKeep ?? plan.coarseKeep;
    let tail: Candidate[] = [];
    const coarse = plan.coarse;
    const t = now();
    if (coarse) {
      const avail = this.canRun(plan.paths.coarse, plan.budgets.coarse);
      if (avail !== undefined) {
        const out = await this.guarded(this.rec.dependencyBreakers.coarse, plan.paths.coarse, avail, (ctx) =>
          coarse.score(ctx, cands, NO_FEATURES),
        );
        const applied = out.ok && this.applyScores(out.value, cands, 'coarse', plan.paths.coarse, keep);
        if (applied) {
          if (out.ok && out.overran) this.record('stage_overrun', plan.paths.coarse);
          if (out.ok && out.value.modelVersion) this.modelVersions.coarse = out.value.modelVersion;
          this.orderedBy = 'coarse';
        } else if (!out.ok) {
          this.record('coarse_failed', plan.paths.coarse, out.error);
        }
      }
      if (this.orderedBy !== 'coarse') cands.sort(byScoreDesc);
      this.time('coarse', t);
    }
    if (cands.length > keep) {
      tail = cands.slice(keep);
      cands = cands.slice(0, keep);
    }
    this.afterCoarse = cands.length;

    // ---- 3. features + 4. fine rank ----
    cands = await this.rank(cands);

    // ---- 5. re-rank chain ----
    const ordered = await this.rerank(cands);

    // ---- 6. policy (always) + backfill from the ranked reserve ----
    return this.finish(ordered, tail);
  }

  private async retrieve(): Promise<Candidate[]> {
    const plan = this.plan;
    const t = now();
    const avail = this.available(plan.budgets.retrieval);
    const n = plan.sources.length;
    const results: (readonly RetrievedItem[] | undefined)[] = new Array(n);
    if (avail >= this.minStageMs) {
      await Promise.all(
        plan.sources.map(async (s, i) => {
          const ts = now();
          const out = await this.guarded(s.breaker, s.path, Math.min(s.budgetMs, avail), (ctx) => s.source.retrieve(ctx, s.k));
          this.sourceMs[i] = now() - ts;
          if (out.ok && !out.overran) {
            if (Array.isArray(out.value)) {
              results[i] = out.value as readonly RetrievedItem[];
              this.sourceStatus[i] = 'ok';
              return;
            }
            this.sourceStatus[i] = 'error';
            this.record(
              'source_error',
              s.path,
              CoreErrors.create('RECSPINE_ERR_STAGE_FAILED', `${s.name} returned a non-array`, { stage: s.path }),
            );
            return;
          }
          // A result that arrived after the sub-deadline is cut off just like one that never came.
          const status = out.ok ? 'timeout' : out.status;
          this.sourceStatus[i] = status;
          this.record(
            status === 'timeout' ? 'source_timeout' : status === 'breaker_open' ? 'source_breaker_open' : 'source_error',
            s.path,
            out.ok ? undefined : out.error,
          );
        }),
      );
    } else {
      this.record('deadline_near', plan.paths.retrieval);
    }
    this.time('retrieval', t);

    // Merge: one candidate per item, keeping every source that returned it, fused by reciprocal rank.
    // `cands` collects the candidates in first-seen order (the map's own order) as they are made.
    const byId = new Map<string, Candidate>();
    const cands: Candidate[] = [];
    for (let i = 0; i < n; i++) {
      const items = results[i];
      if (!items) continue;
      const name = (plan.sources[i] as SourcePlan).name;
      const k = (plan.sources[i] as SourcePlan).k;
      let rank = 0;
      let taken = 0;
      for (const it of items) {
        if (taken >= k) break;
        if (it === null || typeof it !== 'object' || typeof it.itemId !== 'string') continue;
        const score = Number.isFinite(it.score) ? it.score : 0;
        let c = byId.get(it.itemId);
        if (c === undefined) {
          c = newCandidate(it.itemId, 0, it.meta, name, score);
          byId.set(it.itemId, c);
          cands.push(c);
        } else if (c.sources[c.sources.length - 1] === name) {
          continue; // the same source returned the item twice: keep its best rank
        } else {
          c.sources.push(name);
          c.sourceScores.push(score);
        }
        c.retrievalScore += 1 / (RRF_K + ++rank);
        taken++;
      }
      this.sourceRetrieved[i] = taken;
    }
    const catalog = this.shared.catalog;
    for (const c of cands) {
      c.score = c.retrievalScore;
      if (c.meta === undefined && catalog) {
        const m = catalog.get(c.itemId);
        if (m) c.meta = m;
      }
    }

    // Sorted here only when no coarse ranker will sort anyway; `execute` sorts on coarse failure.
    if (!this.plan.coarse) cands.sort(byScoreDesc);
    return cands;
  }

  /** Applies a ranker's scores, re-sorts. Returns false (and records) when the batch is malformed. */
  private applyScores(sb: ScoreBatch, cands: Candidate[], kind: 'coarse' | 'fine' | 'degraded', stage: string, keep?: number): boolean {
    const scores = sb?.scores;
    let bad = !scores || scores.length !== cands.length;
    for (let i = 0; !bad && i < cands.length; i++) if (!Number.isFinite(scores[i] as number)) bad = true;
    if (bad) {
      const err = CoreErrors.create(
        'RECSPINE_ERR_RANKER_OUTPUT',
        `${stage} returned ${scores ? scores.length : 'no'} scores for ${cands.length} candidates or a non-finite score`,
        { stage },
      );
      this.record(kind === 'coarse' ? 'coarse_failed' : 'fine_failed', stage, err);
      return false;
    }
    const heads = kind === 'coarse' ? undefined : sb.heads;
    const headNames = heads ? Object.keys(heads) : undefined;
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i] as Candidate;
      const s = scores[i] as number;
      c.score = s;
      if (kind === 'coarse') c.coarseScore = s;
      else c.fineScore = s;
      if (heads && headNames) {
        const h: Record<string, number> = {};
        for (const name of headNames) h[name] = (heads[name] as ArrayLike<number>)[i] as number;
        c.heads = h;
      }
    }
    if (keep !== undefined && keep > 0 && keep < cands.length) {
      selectTop(cands, keep);
      this.partial = true;
    } else cands.sort(byScoreDesc);
    return true;
  }

  private async rank(cands: Candidate[]): Promise<Candidate[]> {
    const plan = this.plan;
    const { fine, degraded, features } = this.shared;
    if (!fine && !degraded) return cands;
    let useDegraded = false;
    let feats: FeatureBatch | undefined;

    // ---- features ----
    if (fine && features) {
      const t = now();
      const avail = this.canRun(plan.paths.features, plan.budgets.features);
      if (avail === undefined) return cands;
      const out = await this.guarded(this.rec.dependencyBreakers.features, plan.paths.features, avail, (ctx) =>
        features.fetch(
          ctx,
          this.req.userId,
          cands.map((c) => c.itemId),
        ),
      );
      this.time('features', t);
      if (out.ok && isFeatureBatch(out.value, cands.length)) {
        feats = out.value;
        if (out.overran) this.record('stage_overrun', plan.paths.features);
        if (feats.missingGroups.size > 0) {
          const tier = this.record(
            'feature_groups_missing',
            plan.paths.features,
            undefined,
            [...feats.missingGroups].map(([g, why]) => `${g}:${why}`).join(','),
          );
          if (tier === 'degraded_model') useDegraded = true;
        }
      } else {
        const err = out.ok
          ? CoreErrors.create('RECSPINE_ERR_STAGE_FAILED', `${features.name} returned a malformed feature batch`, {
              stage: plan.paths.features,
            })
          : out.error;
        const tier = this.record('features_unavailable', plan.paths.features, err);
        if (tier === 'fallback') {
          this.skipOptional = true;
          return cands;
        }
        if (tier === 'coarse_order' || !degraded) return cands;
        useDegraded = true;
      }
    } else if (!fine) {
      useDegraded = true;
    }
    if (this.skipOptional) return cands;

    // ---- fine (or degraded-mode) rank ----
    const ranker = (useDegraded ? degraded : fine) as Ranker | undefined;
    if (!ranker) return cands;
    const path = useDegraded ? plan.paths.degraded : plan.paths.fine;
    const t = now();
    const avail = this.canRun(path, plan.budgets.fine);
    if (avail === undefined) return cands;
    const batch =
      useDegraded || !feats
        ? emptyFeatureBatch(
            this.req.userId,
            cands.map((c) => c.itemId),
          )
        : feats;
    const breakers = this.rec.dependencyBreakers;
    const out = await this.guarded(useDegraded ? breakers.degraded : breakers.fine, path, avail, (ctx) => ranker.score(ctx, cands, batch));
    this.time('fine', t);
    if (!out.ok) {
      if (this.record('fine_failed', path, out.error) === 'fallback') this.skipOptional = true;
      return cands;
    }
    const kind = useDegraded ? 'degraded' : 'fine';
    if (this.applyScores(out.value, cands, kind, path)) {
      if (out.overran) this.record('stage_overrun', path);
      if (out.value.modelVersion) this.modelVersions[kind] = out.value.modelVersion;
      this.orderedBy = kind;
    }
    return cands;
  }

  private async rerank(ranked: Candidate[]): Promise<Candidate[]> {
    const plan = this.plan;
    if (plan.rerank.length === 0 || this.skipOptional) return ranked;
    const t = now();
    const stageDeadline = now() + Math.max(0, this.available(plan.budgets.rerank));
    let current = ranked;
    // One membership map for the whole chain enforces the subset invariant: stamp k means "was in
    // the input of re-ranker k". An output item is kept iff its stamp is k, and is then re-stamped
    // k + 1, which also drops duplicates. One allocation per request instead of a Set per re-ranker.
    let stamps: Map<Candidate, number> | undefined;
    for (let k = 0; k < plan.rerank.length; k++) {
      const rr = plan.rerank[k] as ReRanker;
      const path = plan.rerankPaths[k] as string;
      const left = stageDeadline - now();
      if (this.skipOptional || left < Math.min(this.minStageMs, plan.budgets.rerank)) {
        if (!this.skipOptional) this.record('deadline_near', path, undefined, `${Math.max(0, left).toFixed(2)} ms left`);
        break;
      }
      const deadlineAt = now() + left;
      const ctx = new StageCtx(this.req, this.requestId, path, deadlineAt, this.state, this.params);
      let out: Candidate[] | typeof TIMED_OUT;
      try {
        const r = rr.rerank(ctx, current.slice(), this.req.limit);
        out = isThenable<Candidate[]>(r) ? await raceDeadline(r, left, ctx) : r;
      } catch (e) {
        this.record('rerank_failed', path, e);
        continue;
      }
      if (out === TIMED_OUT) {
        this.record('rerank_failed', path, CoreErrors.create('RECSPINE_ERR_DEADLINE_EXCEEDED', `${path} timed out`, { stage: path }));
        continue;
      }
      if (!Array.isArray(out)) {
        this.record('rerank_failed', path, CoreErrors.create('RECSPINE_ERR_STAGE_FAILED', `${path} returned a non-array`, { stage: path }));
        continue;
      }
      if (!stamps) {
        stamps = new Map();
        for (const c of current) stamps.set(c, k);
      } else {
        for (const c of current) stamps.set(c, k);
      }
      const kept: Candidate[] = [];
      for (const c of out) {
        if (stamps.get(c) === k) {
          stamps.set(c, k + 1);
          kept.push(c);
        }
      }
      current = kept;
      this.chainApplied = true;
      if (now() > deadlineAt + this.overrunTolMs) this.record('stage_overrun', path);
    }
    this.time('rerank', t);
    return current;
  }

  /** Policy filters (always, last) and backfill from the reserve; builds the response. */
  private finish(ordered: readonly Candidate[], tail: readonly Candidate[]): RecResponse {
    const plan = this.plan;
    const t = now();
    const limit = this.req.limit;
    const slate: Candidate[] = [];
    const seen = new Set<string>();
    const policy = plan.policy;
    const ctx =
      policy.length > 0 ? new StageCtx(this.req, this.requestId, plan.paths.policy, this.endAt, this.state, this.params) : undefined;
    const take = (list: readonly Candidate[]): void => {
      for (let i = 0; i < list.length && slate.length < limit; i++) {
        const c = list[i] as Candidate;
        if (seen.has(c.itemId)) continue;
        seen.add(c.itemId);
        if (ctx && !allowedByAll(policy, ctx, c)) continue;
        slate.push(c);
      }
    };
    take(ordered);
    // The coarse-trimmed tail never went through the re-rank chain: by default it still backfills
    // a short slate (availability first); slots whose re-rankers make hard promises (caps) can set
    // `backfillFromTail: false` so a re-ranker's deliberate drops are never undone.
    if ((!this.chainApplied || plan.backfillFromTail) && slate.length < limit) {
      if (this.partial) (tail as Candidate[]).sort(byScoreDesc);
      take(tail);
    }
    this.time('policy', t);
    return this.respond(slate);
  }

  /** Serves the fallback slate (policy filters still apply). */
  fail(mode: FailureMode, stage: string, error?: unknown): RecResponse {
    this.record(
      mode,
      stage,
      error ?? CoreErrors.create(mode === 'no_candidates' ? 'RECSPINE_ERR_NO_CANDIDATES' : 'RECSPINE_ERR_INTERNAL', mode, { stage }),
    );
    this.orderedBy = 'fallback';
    const fb = this.shared.fallback;
    const list: Candidate[] = [];
    if (fb) {
      let items: readonly RetrievedItem[] = [];
      try {
        items = fb.slate(this.req, this.req.limit * 3);
      } catch {
        items = [];
      }
      const catalog = this.shared.catalog;
      for (const it of items) {
        if (!it || typeof it.itemId !== 'string') continue;
        const meta = it.meta ?? catalog?.get(it.itemId);
        const s = Number.isFinite(it.score) ? it.score : 0;
        list.push(newCandidate(it.itemId, s, meta, 'fallback', s));
      }
    }
    return this.finish(list, []);
  }

  private time(stage: StageName, t: number): void {
    const ms = now() - t;
    this.stageMs[stage] = ms;
    this.rec.sink.stage(this.plan.name, stage, ms);
  }

  private respond(slate: readonly Candidate[]): RecResponse {
    const plan = this.plan;
    const n = plan.sources.length;
    const inSlate = new Array<number>(n).fill(0);
    const items: RecItem[] = new Array(slate.length);
    for (let p = 0; p < slate.length; p++) {
      const c = slate[p] as Candidate;
      for (const s of c.sources) {
        const idx = plan.sourceIndex.get(s);
        if (idx !== undefined) inSlate[idx] = (inSlate[idx] as number) + 1;
      }
      // One shape for every item (absent fields are undefined, which JSON omits): no spreads.
      items[p] = {
        itemId: c.itemId,
        position: p,
        score: c.score,
        sources: c.sources,
        heads: c.heads,
        coarseScore: c.coarseScore,
        fineScore: c.fineScore,
        explore: c.explore,
      };
    }
    const sources: Record<string, SourceReport> = {};
    const sourceTimings: Record<string, number> = {};
    const sink = this.rec.sink;
    for (let i = 0; i < n; i++) {
      const sp = plan.sources[i] as SourcePlan;
      const rep: SourceReport = {
        status: this.sourceStatus[i] as SourceStatus,
        retrieved: this.sourceRetrieved[i] as number,
        inSlate: inSlate[i] as number,
        ms: this.sourceMs[i] as number,
      };
      sources[sp.name] = rep;
      sourceTimings[sp.name] = rep.ms;
      sink.source(plan.name, sp.name, rep.ms, rep.status, rep.retrieved, rep.inSlate);
    }
    const totalMs = now() - this.t0;
    sink.request(plan.name, totalMs, this.degraded.length > 0, items.length);
    sink.slate?.(plan.name, slate);
    const arm = this.req.overrides?.arm;
    return {
      requestId: this.requestId,
      slot: plan.name,
      items,
      degraded: this.degraded,
      timings: { totalMs, stages: this.stageMs, sources: sourceTimings },
      sources,
      orderedBy: this.orderedBy,
      modelVersions: this.modelVersions,
      candidateCounts: { retrieved: this.retrievedCount, afterCoarse: this.afterCoarse },
      ...(arm !== undefined ? { arm } : {}),
    };
  }
}

function allowedByAll(policy: readonly PolicyFilter[], ctx: StageCtx, c: Candidate): boolean {
  for (const f of policy) {
    try {
      if (f.allows(ctx, c) !== true) return false;
    } catch {
      return false; // fail closed
    }
  }
  return true;
}

/**
 * Creates a candidate with every field present from the start, so all candidates share one
 * hidden class and later stages' writes (coarseScore, fineScore, heads, explore) do not trigger
 * shape transitions on hundreds of objects per request.
 */
/**
 * A candidate with its first source. The source arrays start as one-element literals: most items
 * come from one source, and a first `push` onto an empty array reserves 17 slots (×2 arrays × ≈ 1 000
 * candidates per request of young garbage).
 */
function newCandidate(itemId: string, score: number, meta: Candidate['meta'], source: string, sourceScore: number): Candidate {
  return {
    itemId,
    score,
    retrievalScore: score,
    sources: [source],
    sourceScores: [sourceScore],
    coarseScore: undefined,
    fineScore: undefined,
    heads: undefined,
    meta,
    explore: undefined,
  };
}

function isFeatureBatch(v: unknown, n: number): v is FeatureBatch {
  const b = v as FeatureBatch;
  if (typeof b !== 'object' || b === null || !(b.missingGroups instanceof Map)) return false;
  // A columnar batch builds its row objects lazily; checking `items` here would build them on every
  // request and throw the columnar win away, so check the aligned ids instead.
  if (b.columns !== undefined) return Array.isArray(b.itemIds) && b.itemIds.length === n;
  return Array.isArray(b.items) && b.items.length === n;
}

function errorCode(e: unknown): string | undefined {
  return isRecSpineError(e) ? e.code : e === undefined ? undefined : 'RECSPINE_ERR_STAGE_FAILED';
}

function breakerError(b: CircuitBreaker, stage: string): Error {
  return CoreErrors.create('RECSPINE_ERR_BREAKER_OPEN', `breaker '${b.name}' is ${b.state}`, { stage });
}

/**
 * Builds a recommender from a config: validates it once (throwing `RECSPINE_ERR_CONFIG` with the
 * bad key), resolves budgets and breakers, and returns an object that serves many requests.
 *
 * @example
 * ```ts
 * const rec = createRecommender({
 *   slaMs: 85,
 *   budgets: { retrieval: 15, coarse: 10, features: 25, fine: 20, rerank: 10 },
 *   shared: { features, fine, degraded, policy: [kids, region] },
 *   slots: { homepage: { sources: [twoTower, popular], coarseKeep: 200, rerank: [mmr] } },
 * });
 * const res = await rec.recommend({ slot: 'homepage', userId: 'u42', limit: 20 });
 * ```
 */
export function createRecommender(config: RecommenderConfig): Recommender {
  return new Recommender(config);
}
