/** Test helpers (not shipped). */
import { isRecSpineError } from '@recspine/core';
import { expect } from 'vitest';

// The same deterministic PRNG (mulberry32) the benchmarks use: one copy in the package.
import { rng } from '../bench/data.js';

export { rng };

/** `n` random unit vectors (row-major) with ids `prefix0..`. */
export function randomItems(n: number, dims: number, seed = 1, prefix = 'i'): { ids: string[]; vectors: Float32Array } {
  const r = rng(seed);
  const vectors = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dims; j++) {
      const x = r() * 2 - 1;
      vectors[i * dims + j] = x;
      s += x * x;
    }
    const norm = Math.sqrt(s) || 1;
    for (let j = 0; j < dims; j++) vectors[i * dims + j] = (vectors[i * dims + j] as number) / norm;
  }
  return { ids: Array.from({ length: n }, (_, i) => `${prefix}${i}`), vectors };
}

export function row(m: Float32Array, i: number, dims: number): Float32Array {
  return m.slice(i * dims, (i + 1) * dims);
}

/** Asserts that `fn` throws (or rejects with) a RecSpineError with this code. */
export async function expectCode(fn: () => unknown, code: string): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeDefined();
  expect(isRecSpineError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

import type { RecRequest, StageContext } from '@recspine/core';

/** A StageContext for calling a source directly. */
export function ctxFor(request: Partial<RecRequest> = {}, opts: { signal?: AbortSignal; budgetMs?: number } = {}): StageContext {
  const deadlineAt = performance.now() + (opts.budgetMs ?? 1000);
  return {
    request: { slot: 'homepage', limit: 10, ...request },
    requestId: 'req-1',
    stage: 'homepage/retrieval/test',
    signal: opts.signal ?? new AbortController().signal,
    deadlineAt,
    remainingMs: () => deadlineAt - performance.now(),
    state: new Map(),
    params: {},
  };
}
