import { performance } from 'node:perf_hooks';

/** Monotonic ms clock used for every deadline (never `Date.now()`, which can jump). */
export const now = (): number => performance.now();
