import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Options of {@link AdmissionController}. */
export interface AdmissionOptions {
  /** Hard cap: requests in flight above which new ones are shed. */
  readonly maxInFlight: number;
  /** Event-loop delay (p99 over the last window, ms) above which new requests are shed. */
  readonly maxLoopDelayMs: number;
  /**
   * Adaptive concurrency limit: the limit on requests in flight follows their latency (admit →
   * response). When more than 1 % of a window's requests take longer than this, the limit goes
   * down multiplicatively; while none do and the limit is being reached, it goes up additively
   * (AIMD, as in Netflix's concurrency-limits). 0 or absent = off (only `maxInFlight`).
   */
  readonly targetLatencyMs?: number;
  /**
   * With `targetLatencyMs`: the adaptive limit also backs off while the event loop's delay (p99 over
   * the window) is above this, ms. Every request — the ones to shed included — waits for the loop
   * before admission control can even look at it, so a late loop makes the 503s slow too; backing
   * off on it keeps the loop responsive, and so the sheds fast. 0 or absent = off.
   */
  readonly targetLoopDelayMs?: number;
  /** Lowest adaptive limit. Default 4. */
  readonly minInFlight?: number;
  /**
   * How often the loop-delay histogram samples the loop, ms (`monitorEventLoopDelay`'s resolution).
   * Default 20. Each sample is a timer wake-up of an idle worker: at 5 ms (until 27 Nov) an idle
   * worker woke 200 times a second for it (with prom-client's 10 ms lag monitor, ≈ 550
   * `epoll_pwait` calls a second, `strace`), and a 60 ms shed threshold does not need 5 ms steps.
   */
  readonly loopResolutionMs?: number;
  /** How often the loop-delay window rolls and the adaptive limit is updated, ms. Default 250. */
  readonly windowMs?: number;
  /** Seconds put in Retry-After. Default 1. */
  readonly retryAfterSeconds?: number;
}

/** Why a request was shed. */
export type ShedReason = 'in_flight' | 'loop_delay' | 'adaptive_limit';

/**
 * Admission control: excess load gets a fast 503 with Retry-After instead of a slow timeout.
 *
 * Three signals, all cheap to read: requests in flight against a hard cap (a queue that grows
 * means we are past capacity), the event loop's delay (a Node process whose loop is late cannot
 * meet a deadline for anyone), and — with `targetLatencyMs` — an adaptive in-flight limit that
 * shrinks while admitted requests run late or the loop runs late (`targetLoopDelayMs`), so what is
 * admitted keeps its latency and the rest is refused at once, by a loop that is free to answer.
 *
 * Hand-written on Node's built-in `monitorEventLoopDelay` histogram, no dependency: the AIMD limit
 * is a dozen lines and the concurrency-limits libraries on npm are unmaintained ports.
 * `@fastify/under-pressure` (well kept) was considered for the loop-delay part and does not fit: it
 * is a binary gate with no in-flight/adaptive limit (which we need anyway), its delay figure is the
 * window's *mean* (the tail is what makes a 503 slow), and its reading cannot drive the AIMD limit
 * without reaching into its decorator. The shed itself runs where it would: an onRequest hook (app.ts).
 */
export class AdmissionController {
  private inFlight = 0;
  private readonly loop: IntervalHistogram;
  private loopP99Ms = 0;
  private readonly timer: NodeJS.Timeout;
  private limitF: number;
  private win = { n: 0, late: 0, peak: 0, shedByLimit: 0 };
  readonly shed: Record<ShedReason, number> = { in_flight: 0, loop_delay: 0, adaptive_limit: 0 };
  admitted = 0;

  constructor(private readonly opts: AdmissionOptions) {
    this.limitF = opts.maxInFlight;
    this.loop = monitorEventLoopDelay({ resolution: opts.loopResolutionMs ?? 20 });
    this.loop.enable();
    this.timer = setInterval(() => this.roll(), opts.windowMs ?? 250);
    this.timer.unref();
  }

  get retryAfterSeconds(): number {
    return this.opts.retryAfterSeconds ?? 1;
  }

  /** The adaptive in-flight limit in force (= `maxInFlight` when adaptation is off). */
  get limit(): number {
    return Math.floor(this.limitF);
  }

  get current(): { inFlight: number; loopDelayP99Ms: number; limit: number } {
    return { inFlight: this.inFlight, loopDelayP99Ms: this.loopP99Ms, limit: this.limit };
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
    if (this.inFlight >= this.limit) {
      this.shed.adaptive_limit++;
      this.win.shedByLimit++;
      return 'adaptive_limit';
    }
    this.inFlight++;
    this.admitted++;
    if (this.inFlight > this.win.peak) this.win.peak = this.inFlight;
    return undefined;
  }

  /** A request admitted by {@link tryAdmit} finished, after `latencyMs` (admit → response). */
  release(latencyMs?: number): void {
    this.inFlight--;
    const target = this.opts.targetLatencyMs ?? 0;
    if (target > 0 && latencyMs !== undefined) {
      this.win.n++;
      if (latencyMs > target) this.win.late++;
    }
  }

  /** Forgets the current loop-delay window (e.g. after start-up warm-up, which blocks the loop on purpose). */
  resetWindow(): void {
    this.loop.reset();
    this.loopP99Ms = 0;
    this.limitF = this.opts.maxInFlight;
    this.win = { n: 0, late: 0, peak: 0, shedByLimit: 0 };
  }

  /** One control period: roll the loop-delay window and move the adaptive limit. Public for tests. */
  roll(): void {
    this.loopP99Ms = this.loop.percentile(99) / 1e6;
    this.loop.reset();
    const target = this.opts.targetLatencyMs ?? 0;
    if (target > 0) {
      const w = this.win;
      const min = Math.min(this.opts.maxInFlight, this.opts.minInFlight ?? 4);
      const loopLate = (this.opts.targetLoopDelayMs ?? 0) > 0 && this.loopP99Ms > (this.opts.targetLoopDelayMs as number);
      if ((w.n >= 5 && w.late / w.n > 0.01) || (loopLate && w.peak > 0)) {
        // Late: back off multiplicatively, from what was actually in flight (the limit may be far above it).
        this.limitF = Math.max(min, Math.min(this.limitF, Math.max(w.peak, min)) * 0.75);
      } else if (w.late === 0 && !loopLate && (w.shedByLimit > 0 || w.peak >= this.limit - 1)) {
        // On time and pressing against the limit: probe upwards additively.
        this.limitF = Math.min(this.opts.maxInFlight, this.limitF + Math.max(1, this.limitF * 0.05));
      }
      this.win = { n: 0, late: 0, peak: this.inFlight, shedByLimit: 0 };
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.loop.disable();
  }
}
