import type { Candidate } from './Candidate.js';
import type { Degradation } from './Degradation.js';
import type { SourceStatus, StageName } from './RecResponse.js';

/** Breaker states as reported to metrics. */
export type BreakerState = 'closed' | 'open' | 'half_open' | 'isolated';

/**
 * Where the runner reports what happened. Called on the request path: implementations must be
 * cheap and allocate little (cache label handles per slot/stage; see the Prometheus adapter).
 * All methods are optional in spirit: {@link NoopMetricsSink} is the default.
 */
export interface MetricsSink {
  /** Latency of one stage on one request. */
  stage(slot: string, stage: StageName, ms: number): void;
  /** One retrieval source on one request: latency, outcome, candidates retrieved and kept in the slate. */
  source(slot: string, source: string, ms: number, status: SourceStatus, retrieved: number, inSlate: number): void;
  /** One degradation event. */
  degradation(slot: string, d: Degradation): void;
  /** One whole request. */
  request(slot: string, ms: number, degraded: boolean, items: number): void;
  /** A breaker changed state. */
  breaker(dependency: string, state: BreakerState): void;
  /**
   * Optional: the served slate, after the final policy pass (candidates with their metadata), for
   * slate-health metrics such as diversity, creator entropy and exploration share.
   */
  slate?(slot: string, slate: readonly Candidate[]): void;
}

/** The default sink: records nothing. */
export class NoopMetricsSink implements MetricsSink {
  stage(): void {}
  source(): void {}
  degradation(): void {}
  request(): void {}
  breaker(): void {}
}

/** Fans out to several sinks (e.g. Prometheus plus an in-process dashboard sink). */
export class TeeMetricsSink implements MetricsSink {
  constructor(private readonly sinks: readonly MetricsSink[]) {}
  stage(slot: string, stage: StageName, ms: number): void {
    for (const s of this.sinks) s.stage(slot, stage, ms);
  }
  source(slot: string, source: string, ms: number, status: SourceStatus, retrieved: number, inSlate: number): void {
    for (const s of this.sinks) s.source(slot, source, ms, status, retrieved, inSlate);
  }
  degradation(slot: string, d: Degradation): void {
    for (const s of this.sinks) s.degradation(slot, d);
  }
  request(slot: string, ms: number, degraded: boolean, items: number): void {
    for (const s of this.sinks) s.request(slot, ms, degraded, items);
  }
  breaker(dependency: string, state: BreakerState): void {
    for (const s of this.sinks) s.breaker(dependency, state);
  }
  slate(slot: string, slate: readonly Candidate[]): void {
    for (const s of this.sinks) s.slate?.(slot, slate);
  }
}
