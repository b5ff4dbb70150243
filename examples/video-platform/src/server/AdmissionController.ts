import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Options of {@link AdmissionController}. */
export interface AdmissionOptions {
  /** Requests in flight above which new ones are shed. */
  readonly maxInFlight: number;
  /** Event-loop delay (p99 over the last window, ms) above which new requests are shed. */
  readonly maxLoopDelayMs: number;
  /** How often the loop-delay window rolls, ms. Default 250. */
  readonly windowMs?: number;
  /** Seconds put in Retry-After. Default 1. */
  readonly retryAfterSeconds?: number;
}

/** Why a request was shed. */
export type ShedReason = 'in_flight' | 'loop_delay';

/**
 * Admission control: excess load gets a fast 503 with Retry-After instead of a slow timeout.
 *
 * Two signals, both cheap to read: requests in flight (a queue that grows means we are past
 * capacity) and the event loop's delay (a Node process whose loop is late cannot meet a deadline
 * for anyone). Uses Node's built-in `monitorEventLoopDelay` histogram; no dependency needed.
 */
export class AdmissionController {
  private inFlight = 0;
  private readonly loop: IntervalHistogram;
  private loopP99Ms = 0;
  private readonly timer: NodeJS.Timeout;
  readonly shed: Record<ShedReason, number> = { in_flight: 0, loop_delay: 0 };
  admitted = 0;

  constructor(private readonly opts: AdmissionOptions) {
    this.loop = monitorEventLoopDelay({ resolution: 5 });
    this.loop.enable();
    this.timer = setInterval(() => {
      this.loopP99Ms = this.loop.percentile(99) / 1e6;
      this.loop.reset();
    }, opts.windowMs ?? 250);
    this.timer.unref();
  }

  get retryAfterSeconds(): number {
    return this.opts.retryAfterSeconds ?? 1;
  }

  get current(): { inFlight: number; loopDelayP99Ms: number } {
    return { inFlight: this.inFlight, loopDelayP99Ms: this.loopP99Ms };
  }

  /** Returns a reason to shed, or undefined and counts the request in (call {@link release} when done). */
  tryAdmit(): ShedReason | undefined {
    if (this.inFlight >= this.opts.maxInFlight) {
      this.shed.in_flight++;
      return 'in_flight';
    }
    if (this.loopP99Ms > this.opts.maxLoopDelayMs) {
      this.shed.loop_delay++;
      return 'loop_delay';
    }
    this.inFlight++;
    this.admitted++;
    return undefined;
  }

  /** Forgets the current loop-delay window (e.g. after start-up warm-up, which blocks the loop on purpose). */
  resetWindow(): void {
    this.loop.reset();
    this.loopP99Ms = 0;
  }

  release(): void {
    this.inFlight--;
  }

  close(): void {
    clearInterval(this.timer);
    this.loop.disable();
  }
}
