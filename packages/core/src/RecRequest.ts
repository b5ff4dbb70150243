/**
 * What a caller asks for. Validated once on entry by the recommender (see `validateRequest`);
 * every stage downstream sees a {@link RecRequest} that passed validation.
 */
export interface RecRequest {
  /** The slot to serve, e.g. `homepage`, `end-of-video`, `search`. Must be configured. */
  readonly slot: string;
  /** The user; absent for logged-out traffic. 1–128 chars of `[A-Za-z0-9_.:@-]`. */
  readonly userId?: string;
  /** Slate size wanted: an integer in 1..`maxLimit` (config, default 100). */
  readonly limit: number;
  /** Free text, for the search slot. At most 512 chars. */
  readonly query?: string;
  /** Request context that sources, features and filters may use. */
  readonly context?: RequestContext;
  /** Caller-supplied id, echoed on the response; generated when absent. */
  readonly requestId?: string;
  /**
   * Trusted run-time overrides, set by the server (e.g. from an experiment arm), never from the
   * client's body: they change knobs without a restart.
   */
  readonly overrides?: RequestOverrides;
}

/** Request context. Known fields are typed; anything else goes in `attributes`. */
export interface RequestContext {
  /** ISO-like region code; used by region policy filters and segment popularity. */
  readonly region?: string;
  readonly device?: string;
  readonly language?: string;
  /** The item just watched (end-of-video slot). */
  readonly itemId?: string;
  /** Wall-clock time of the request in ms since epoch; defaults to `Date.now()`. */
  readonly nowMs?: number;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
}

/** Run-time knobs a trusted caller (an experiment arm, a load controller) may set per request. */
export interface RequestOverrides {
  /** Replaces the slot's coarse keep count for this request. */
  readonly coarseKeep?: number;
  /** The experiment arm, echoed on the response for logging. */
  readonly arm?: string;
  /** Free-form parameters stages read through `ctx.params` (e.g. objective weights, MMR λ). */
  readonly params?: Readonly<Record<string, unknown>>;
}

/** Options of `Recommender.recommend`. */
export interface RecommendOptions {
  /**
   * When the request's SLA clock started, as a `performance.now()` time (default: the call). A
   * server that queues requests before calling `recommend` (a concurrency limit) passes the time
   * it received the request, so the wait counts against the SLA: the stages get what is left, and
   * a request that waited too long degrades instead of overrunning.
   */
  readonly startedAt?: number;
}
