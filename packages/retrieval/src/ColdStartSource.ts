import type { RetrievalSource, RetrievedItem, StageContext } from '@recspine/core';
import { RetrievalErrors } from './errors.js';
import { mergedTop } from './internal/segments.js';
import type { PopularityCounters } from './PopularityCounters.js';

/** Options of a {@link ColdStartSource}. */
export interface ColdStartSourceOptions {
  /** Default `cold-start`. */
  readonly name?: string;
  readonly counters: PopularityCounters;
  /** Whether this request's user has no history. Default: the request has no `userId`. */
  readonly isCold?: (ctx: StageContext) => boolean | Promise<boolean>;
  /** Segments to read, most specific first. Default: {@link coldStartSegments}. */
  readonly segments?: (ctx: StageContext) => readonly string[];
}

/**
 * The default segments of a cold user, from request context, most specific first:
 * `region:R|language:L`, `region:R|device:D`, `region:R`, `language:L`, `device:D`, `global`
 * (those whose fields are present). The stream aggregator must count the same segment strings.
 */
export function coldStartSegments(ctx: StageContext): string[] {
  const c = ctx.request.context;
  const out: string[] = [];
  const r = c?.region;
  const l = c?.language;
  const d = c?.device;
  if (r !== undefined && l !== undefined) out.push(`region:${r}|language:${l}`);
  if (r !== undefined && d !== undefined) out.push(`region:${r}|device:${d}`);
  if (r !== undefined) out.push(`region:${r}`);
  if (l !== undefined) out.push(`language:${l}`);
  if (d !== undefined) out.push(`device:${d}`);
  out.push('global');
  return out;
}

/**
 * For users with no history: popular-in-segment picks from the request context (region, device,
 * language). Returns `[]` for warm users, so it costs them nothing.
 *
 * @example
 * ```ts
 * const coldStart = new ColdStartSource({ counters, isCold: async (ctx) => !(await history.has(ctx.request.userId)) });
 * ```
 */
export class ColdStartSource implements RetrievalSource {
  readonly name: string;
  private readonly o: ColdStartSourceOptions;

  constructor(options: ColdStartSourceOptions) {
    if (typeof options?.counters?.top !== 'function') {
      throw RetrievalErrors.create('RECSPINE_ERR_RETRIEVAL_CONFIG', 'cold-start source needs counters', {
        stage: 'retrieval/cold-start',
        field: 'counters',
      });
    }
    this.name = options.name ?? 'cold-start';
    this.o = options;
  }

  async retrieve(ctx: StageContext, k: number): Promise<RetrievedItem[]> {
    if (k <= 0) return [];
    const cold = this.o.isCold === undefined ? ctx.request.userId === undefined : await this.o.isCold(ctx);
    if (!cold || ctx.signal.aborted) return [];
    const segments = (this.o.segments ?? coldStartSegments)(ctx);
    return mergedTop(this.o.counters, segments, k, ctx.request.context?.nowMs ?? Date.now());
  }
}
