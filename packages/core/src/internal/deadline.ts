/** Marker resolved by {@link raceDeadline} when the deadline fires first. */
export const TIMED_OUT: unique symbol = Symbol('recspine.timeout');

export function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Races a stage's result against its deadline with one timer. When the timer wins, the stage's
 * AbortController is aborted (the stage should stop) and {@link TIMED_OUT} is returned; the
 * stage's eventual result is ignored. A synchronous result is returned as is, with no timer.
 *
 * Hand-written rather than `AbortSignal.timeout` + `Promise.race`: one timer and one promise per
 * call, no listener left behind on a long-lived signal, and the timer is cleared on the fast path.
 */
export function raceDeadline<T>(value: PromiseLike<T> | T, ms: number, ac: { abort(): void }): Promise<T | typeof TIMED_OUT> | T {
  if (!isThenable<T>(value)) return value;
  return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        ac.abort();
        resolve(TIMED_OUT);
      },
      Math.max(0, ms),
    );
    value.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
