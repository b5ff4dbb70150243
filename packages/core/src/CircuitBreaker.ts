import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  SamplingBreaker,
  circuitBreaker,
  handleAll,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { performance } from 'node:perf_hooks';
import type { BreakerState, MetricsSink } from './MetricsSink.js';

/** Breaker thresholds for one dependency. */
export interface BreakerOptions {
  /**
   * `consecutive`: open after `threshold` consecutive failures.
   * `sampling`: open when the failure rate over `windowMs` exceeds `threshold` (0..1), once at
   * least `minimumRps` calls per second were seen.
   */
  readonly kind?: 'consecutive' | 'sampling';
  /** Consecutive failures (consecutive) or failure ratio (sampling). Default 5 / 0.5. */
  readonly threshold?: number;
  /** Sampling window. Default 10 000 ms. */
  readonly windowMs?: number;
  /** Sampling: minimum calls/s before the ratio counts. Default 5. */
  readonly minimumRps?: number;
  /** How long the breaker stays open before it lets one trial call through (half-open). Default 5 000 ms. */
  readonly halfOpenAfterMs?: number;
}

const toState = (s: CircuitState): BreakerState =>
  s === CircuitState.Closed ? 'closed' : s === CircuitState.Open ? 'open' : s === CircuitState.HalfOpen ? 'half_open' : 'isolated';

/**
 * A circuit breaker around one shared dependency (a source, the feature store, a ranker), with
 * closed, open and half-open states.
 *
 * Built on cockatiel's `CircuitBreakerPolicy` (a well-kept, dependency-free library); this class
 * only adds the fast open-check the runner uses to skip a call without allocating, the state
 * reporting to the metrics sink, and manual isolation for operators.
 */
export class CircuitBreaker {
  readonly name: string;
  private readonly policy: CircuitBreakerPolicy;
  private readonly halfOpenAfterMs: number;
  private openedAt = 0;

  constructor(name: string, options: BreakerOptions = {}, metrics?: MetricsSink) {
    this.name = name;
    const breaker =
      options.kind === 'sampling'
        ? new SamplingBreaker({
            threshold: options.threshold ?? 0.5,
            duration: options.windowMs ?? 10_000,
            minimumRps: options.minimumRps ?? 5,
          })
        : new ConsecutiveBreaker(options.threshold ?? 5);
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 5_000;
    this.policy = circuitBreaker(handleAll, { halfOpenAfter: this.halfOpenAfterMs, breaker });
    this.policy.onStateChange((s) => {
      if (s === CircuitState.Open) this.openedAt = performance.now();
      metrics?.breaker(name, toState(s));
    });
  }

  /** The current state. */
  get state(): BreakerState {
    return toState(this.policy.state);
  }

  /**
   * True while calls would be refused outright: isolated, or open and not yet due for a half-open
   * trial. (cockatiel moves Open → HalfOpen lazily, on the next `execute` after `halfOpenAfter`, so
   * once that time has passed this returns false and the next call becomes the trial.)
   */
  isOpen(): boolean {
    const s = this.policy.state;
    if (s === CircuitState.Isolated) return true;
    return s === CircuitState.Open && performance.now() - this.openedAt < this.halfOpenAfterMs;
  }

  /**
   * Runs `fn` through the breaker. Rejects with cockatiel's `BrokenCircuitError` when open
   * (check with {@link CircuitBreaker.isBrokenCircuit}); a rejection of `fn` counts as a failure.
   */
  execute<T>(fn: () => PromiseLike<T> | T): Promise<T> {
    return this.policy.execute(fn);
  }

  /** Holds the breaker open until the returned handle is disposed (operator kill switch). */
  isolate(): { dispose(): void } {
    return this.policy.isolate();
  }

  static isBrokenCircuit(e: unknown): boolean {
    return e instanceof BrokenCircuitError;
  }
}
