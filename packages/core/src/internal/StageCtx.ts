import type { RecRequest } from '../RecRequest.js';
import type { StageContext } from '../StageContext.js';
import { now } from './clock.js';

/** The runner's StageContext: a plain class so `remainingMs` lives on the prototype (no per-call closure). */
export class StageCtx implements StageContext {
  constructor(
    readonly request: RecRequest,
    readonly requestId: string,
    readonly stage: string,
    readonly signal: AbortSignal,
    readonly deadlineAt: number,
    readonly state: Map<string, unknown>,
    readonly params: Readonly<Record<string, unknown>>,
  ) {}

  remainingMs(): number {
    return this.deadlineAt - now();
  }
}
