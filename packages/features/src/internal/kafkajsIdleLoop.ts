import { createRequire } from 'node:module';

/**
 * Workaround for kafkajs 2.2.x's idle busy loop (tulios/kafkajs#1556, #1604, #1704; the fixes,
 * PRs #1667 and #1768, are unmerged and 2.2.4 is the last release). `RequestQueue`
 * re-arms `setTimeout(check, throttledUntil − now)` after every check even when nothing is pending
 * and nothing is throttled; `throttledUntil` is −1 then, so the delay is negative, Node runs it
 * after 1 ms, and the check re-arms it again — forever, on every broker connection that has ever
 * answered. Measured in a video-platform worker (production mode, Kafka consumer + producer, no
 * traffic): 1 530 `epoll_pwait` calls per second on the serving thread, the kafkajs timer being
 * the only ≤ 1 ms timer armed (found by wrapping `setTimeout` over the inspector). Every one is a
 * wake-up of an otherwise idle event loop, on the same thread that serves requests.
 *
 * The patch returns early in exactly that state (nothing pending, not throttled, no check armed),
 * as the upstream PRs do: a request that cannot go out at once is queued by `push`, which arms the
 * check itself, and every response re-runs the check. A throttled queue still gets its check at
 * the end of the throttle. Applied once, and only to kafkajs 2.2.x whose `RequestQueue` has the
 * method it replaces; anything else is left as it is.
 */
export function patchKafkajsIdleLoop(): boolean {
  if (patched !== undefined) return patched;
  patched = false;
  try {
    const require = createRequire(import.meta.url);
    const version = (require('kafkajs/package.json') as { version?: string }).version ?? '';
    if (!/^2\.2\.\d+$/.test(version)) return false;
    const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
      prototype: { scheduleCheckPendingRequests?: (this: QueueState) => void };
    };
    const original = RequestQueue.prototype.scheduleCheckPendingRequests;
    if (typeof original !== 'function') return false;
    RequestQueue.prototype.scheduleCheckPendingRequests = function (this: QueueState): void {
      if (this.pending.length === 0 && !this.throttleCheckTimeoutId && this.throttledUntil - Date.now() <= 0) return;
      original.call(this);
    };
    patched = true;
  } catch {
    patched = false; // layout changed: leave kafkajs as it is
  }
  return patched;
}

interface QueueState {
  readonly pending: readonly unknown[];
  readonly throttledUntil: number;
  readonly throttleCheckTimeoutId: unknown;
}

let patched: boolean | undefined;
