/**
 * The error registry of `@recspine/core`, and the error class every RecSpine package throws.
 *
 * Every code is stable: it is part of the public API, listed in `docs/errors.md`, and a test keeps
 * the two in sync both ways. Packages define their own registry with {@link defineErrors}.
 */

/** Who is at fault: the caller (4xx), RecSpine itself (5xx) or a dependency it calls. */
export type ErrorCategory = 'client' | 'server' | 'dependency';

/** One entry of an error registry. */
export interface ErrorDefinition {
  readonly category: ErrorCategory;
  /** One line, for docs and default messages. */
  readonly description: string;
}

/** A registry: stable code → definition. Codes are `RECSPINE_ERR_*`. */
export type ErrorRegistry = Readonly<Record<string, ErrorDefinition>>;

/** Options accepted by {@link RecSpineError}. */
export interface RecSpineErrorOptions {
  /** The stage path the error arose in, e.g. `homepage/retrieval/two-tower`. */
  readonly stage?: string;
  /** For client errors: the request or config field at fault, e.g. `limit` or `slots.homepage.coarseKeep`. */
  readonly field?: string;
  readonly cause?: unknown;
}

/**
 * The one error type of RecSpine. It carries a stable `code`, a `category`, the `stage` path,
 * the offending `field` where there is one, and the `cause`.
 *
 * @example
 * ```ts
 * try { await rec.recommend(req) } catch (e) {
 *   if (isRecSpineError(e) && e.category === 'client') reply.code(400).send({ code: e.code, field: e.field });
 * }
 * ```
 */
export class RecSpineError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly stage: string | undefined;
  readonly field: string | undefined;

  constructor(code: string, category: ErrorCategory, message: string, options: RecSpineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RecSpineError';
    this.code = code;
    this.category = category;
    this.stage = options.stage;
    this.field = options.field;
  }

  /** A plain object for logs and HTTP bodies (no stack, cause flattened to its message). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      category: this.category,
      message: this.message,
      ...(this.stage === undefined ? {} : { stage: this.stage }),
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.cause === undefined ? {} : { cause: this.cause instanceof Error ? this.cause.message : String(this.cause) }),
    };
  }
}

/** Type guard that also works across duplicated module copies (ESM + CJS in one process). */
export function isRecSpineError(e: unknown): e is RecSpineError {
  return (
    e instanceof RecSpineError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'RecSpineError' &&
      typeof (e as { code?: unknown }).code === 'string')
  );
}

/**
 * Defines a package's error registry and returns a typed factory for it.
 *
 * @example
 * ```ts
 * export const RetrievalErrors = defineErrors({
 *   RECSPINE_ERR_DIMENSION_MISMATCH: { category: 'client', description: 'A vector has the wrong dimension.' },
 * });
 * throw RetrievalErrors.create('RECSPINE_ERR_DIMENSION_MISMATCH', 'expected 64, got 32', { field: 'vector' });
 * ```
 */
export function defineErrors<const R extends ErrorRegistry>(registry: R): ErrorFactory<R> {
  for (const code of Object.keys(registry)) {
    if (!/^RECSPINE_ERR_[A-Z0-9_]+$/.test(code)) throw new Error(`error code ${code} must match RECSPINE_ERR_[A-Z0-9_]+`);
  }
  return {
    registry,
    codes: Object.keys(registry) as (keyof R & string)[],
    create(code, message, options) {
      const def = registry[code];
      if (def === undefined) throw new Error(`unknown error code ${code}`);
      return new RecSpineError(code, def.category, message, options);
    },
  };
}

/** What {@link defineErrors} returns. */
export interface ErrorFactory<R extends ErrorRegistry> {
  readonly registry: R;
  readonly codes: readonly (keyof R & string)[];
  create(code: keyof R & string, message: string, options?: RecSpineErrorOptions): RecSpineError;
}

/** The registry of `@recspine/core`. */
export const CoreErrors = defineErrors({
  RECSPINE_ERR_INVALID_REQUEST: {
    category: 'client',
    description: 'The request is malformed; `field` names the bad field (slot, userId, limit, query, context).',
  },
  RECSPINE_ERR_UNKNOWN_SLOT: { category: 'client', description: 'The request names a slot the recommender does not serve.' },
  RECSPINE_ERR_CONFIG: {
    category: 'client',
    description: 'The recommender config is invalid; `field` names the bad key. Thrown at build time only.',
  },
  RECSPINE_ERR_DEADLINE_EXCEEDED: {
    category: 'server',
    description: 'A stage or source did not finish within its deadline and was cut off.',
  },
  RECSPINE_ERR_STAGE_FAILED: { category: 'dependency', description: 'A stage or source threw or rejected.' },
  RECSPINE_ERR_BREAKER_OPEN: {
    category: 'dependency',
    description: "A dependency's circuit breaker is open; the call was not attempted.",
  },
  RECSPINE_ERR_RANKER_OUTPUT: {
    category: 'server',
    description: 'A ranker returned a score batch of the wrong length or with non-finite scores.',
  },
  RECSPINE_ERR_NO_CANDIDATES: {
    category: 'server',
    description: 'Every retrieval source failed or returned nothing; the fallback slate was served.',
  },
  RECSPINE_ERR_INTERNAL: {
    category: 'server',
    description: 'An unexpected error inside the runner; the fallback slate was served.',
  },
});

/** The codes of `@recspine/core`. */
export type CoreErrorCode = (typeof CoreErrors.codes)[number];
