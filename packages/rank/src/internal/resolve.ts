import type { Candidate, FeatureBatch, FeatureValue, StageContext } from '@recspine/core';
import type { FeatureRef } from '../FeatureSpec.js';

/** What one `assemble` call reads from. */
export interface Env {
  batch: FeatureBatch | undefined;
  cands: readonly Candidate[] | undefined;
  ctx: StageContext | undefined;
  nowMs: number;
  /**
   * Row-constant operands of cross features (dot, match), resolved once per call instead of once
   * per row (see `FeatureAssembler`): one slot per such operand, {@link UNRESOLVED} until read.
   */
  memo: unknown[];
}

/** An empty {@link Env.memo} slot. */
export const UNRESOLVED: unique symbol = Symbol('unresolved');

/** A value lookup compiled once per spec; called per row (or once, when row-constant). */
export type Resolver = (env: Env, row: number) => FeatureValue | undefined;

export interface CompiledRef {
  readonly resolve: Resolver;
  /** Same value for every row (user, context, state). */
  readonly rowConstant: boolean;
  /** Needs the feature store (user, item). */
  readonly online: boolean;
  /** Needs the candidates array. */
  readonly needsCandidates: boolean;
  /**
   * `candidate` references: the field `resolve` reads, so the assembler's specialised loops can
   * read it inline (same expression) instead of calling `resolve` per row. Absent otherwise.
   */
  readonly candidateKey?: CandidateKey;
}

/**
 * The candidate fields read inline by the assembler's specialised loops (`FeatureAssembler`);
 * `source:` / `inSource:` keys have none (they go through `resolve`).
 */
export type CandidateKey =
  | { readonly kind: 'retrievalScore' | 'coarseScore' | 'sourceCount' | 'ageHours' | 'embedding' }
  | { readonly kind: 'category' | 'creatorId' | 'language' }
  | { readonly kind: 'attribute'; readonly name: string };

const HOUR_MS = 3_600_000;

/** `meta.ageHours`: hours since `publishedAtMs` (≥ 0), or `undefined` without a publish time. */
export function ageHours(publishedAtMs: number | undefined, nowMs: number): number | undefined {
  return publishedAtMs === undefined ? undefined : Math.max(0, (nowMs - publishedAtMs) / HOUR_MS);
}

/** `meta.attributes.<k>` / `context.attributes.<k>` / state values → a feature value (booleans → 1/0). */
export function attr(v: unknown): FeatureValue | undefined {
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Float32Array) return v;
  if (Array.isArray(v)) return v as readonly string[];
  return undefined;
}

/** Compiles a reference; returns an error message for an unknown key. */
export function compileRef(ref: FeatureRef): CompiledRef | string {
  const key = ref.key;
  if (typeof key !== 'string' || key.length === 0) return 'key must be a non-empty string';
  switch (ref.from) {
    case 'user':
      return { resolve: (env) => env.batch?.user[key], rowConstant: true, online: true, needsCandidates: false };
    case 'item':
      return { resolve: (env, row) => env.batch?.items[row]?.[key], rowConstant: false, online: true, needsCandidates: false };
    case 'state':
      return { resolve: (env) => attr(env.ctx?.state.get(key)), rowConstant: true, online: false, needsCandidates: false };
    case 'context': {
      const c = (env: Env) => env.ctx?.request.context;
      let resolve: Resolver;
      if (key === 'region' || key === 'device' || key === 'language' || key === 'itemId') resolve = (env) => c(env)?.[key];
      else if (key === 'hasUser') resolve = (env) => (env.ctx ? (env.ctx.request.userId === undefined ? 0 : 1) : undefined);
      else if (key === 'hourOfDay') resolve = (env) => new Date(env.nowMs).getUTCHours();
      else if (key.startsWith('attributes.') && key.length > 11) {
        const k = key.slice(11);
        resolve = (env) => attr(c(env)?.attributes?.[k]);
      } else return `unknown context key ${key} (region, device, language, itemId, hasUser, hourOfDay, attributes.<k>)`;
      return { resolve, rowConstant: true, online: false, needsCandidates: false };
    }
    case 'candidate': {
      const cand = (env: Env, row: number): Candidate | undefined => env.cands?.[row];
      let resolve: Resolver;
      let candidateKey: CandidateKey | undefined;
      if (key === 'retrievalScore') {
        resolve = (env, row) => cand(env, row)?.retrievalScore;
        candidateKey = { kind: key };
      } else if (key === 'coarseScore') {
        resolve = (env, row) => cand(env, row)?.coarseScore;
        candidateKey = { kind: key };
      } else if (key === 'sourceCount') {
        resolve = (env, row) => cand(env, row)?.sources.length;
        candidateKey = { kind: key };
      } else if (key.startsWith('source:') && key.length > 7) {
        const src = key.slice(7);
        resolve = (env, row) => {
          const cd = cand(env, row);
          if (cd === undefined) return undefined;
          const i = cd.sources.indexOf(src);
          return i < 0 ? undefined : cd.sourceScores[i];
        };
      } else if (key.startsWith('inSource:') && key.length > 9) {
        const src = key.slice(9);
        resolve = (env, row) => {
          const cd = cand(env, row);
          return cd === undefined ? undefined : cd.sources.includes(src) ? 1 : 0;
        };
      } else if (key === 'meta.embedding') {
        resolve = (env, row) => cand(env, row)?.meta?.embedding;
        candidateKey = { kind: 'embedding' };
      } else if (key === 'meta.category') {
        resolve = (env, row) => cand(env, row)?.meta?.category;
        candidateKey = { kind: 'category' };
      } else if (key === 'meta.creatorId') {
        resolve = (env, row) => cand(env, row)?.meta?.creatorId;
        candidateKey = { kind: 'creatorId' };
      } else if (key === 'meta.language') {
        resolve = (env, row) => cand(env, row)?.meta?.language;
        candidateKey = { kind: 'language' };
      } else if (key === 'meta.ageHours') {
        resolve = (env, row) => ageHours(cand(env, row)?.meta?.publishedAtMs, env.nowMs);
        candidateKey = { kind: 'ageHours' };
      } else if (key.startsWith('meta.attributes.') && key.length > 16) {
        const k = key.slice(16);
        resolve = (env, row) => attr(cand(env, row)?.meta?.attributes?.[k]);
        candidateKey = { kind: 'attribute', name: k };
      } else {
        return `unknown candidate key ${key} (retrievalScore, coarseScore, sourceCount, source:<name>, inSource:<name>, meta.embedding, meta.category, meta.creatorId, meta.language, meta.ageHours, meta.attributes.<k>)`;
      }
      return { resolve, rowConstant: false, online: false, needsCandidates: true, candidateKey };
    }
    default:
      return `unknown source ${String((ref as { from: unknown }).from)} (user, item, candidate, context, state)`;
  }
}
