import type { RecRequest } from '../RecRequest.js';
import type { StageContext } from '../StageContext.js';
import { now } from './clock.js';

/**
 * The runner's StageContext: a plain class so `remainingMs` lives on the prototype (no per-call
 * closure). The AbortController is created lazily, on the first read of `signal`: most fast stages
 * never look at it, and an AbortController + AbortSignal pair is the costliest allocation of a
 * stage call.
 */
export class StageCtx implements StageContext {
  private ac: AbortController | undefined;
  private aborted = false;

  constructor(
    readonly request: RecRequest,
    readonly requestId: string,
    readonly stage: string,
    readonly deadlineAt: number,
    readonly state: Map<string, unknown>,
    readonly params: Readonly<Record<string, unknown>>,
  ) {}

  get signal(): AbortSignal {
    if (this.ac === undefined) {
      this.ac = new AbortController();
      if (this.aborted) this.ac.abort();
    }
    return this.ac.signal;
  }

  /** Fires the signal (at the deadline). */
  abort(): void {
    this.aborted = true;
    this.ac?.abort();
  }

  remainingMs(): number {
    return this.deadlineAt - now();
  }
}
