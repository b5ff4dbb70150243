/**
 * A tiny log-bucketed latency histogram (≈5 % relative resolution, 1 µs … ~100 s). Hand-written
 * rather than hdr-histogram-js because it sits on the request path of every source on every
 * request: recording is one log and one array increment, with no allocation and no dependency.
 */
const MIN_MS = 0.001;
const GROWTH = Math.log(1.05);
const BUCKETS = 380;

export class LogHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  max = 0;

  record(ms: number): void {
    const v = Number.isFinite(ms) && ms > MIN_MS ? ms : MIN_MS;
    const b = Math.min(BUCKETS - 1, Math.floor(Math.log(v / MIN_MS) / GROWTH));
    this.counts[b] = (this.counts[b] as number) + 1;
    this.count++;
    if (v > this.max) this.max = v;
  }

  /** Upper edge of the bucket holding the p-th percentile (0 when empty). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] as number;
      if (seen >= rank) return Math.min(this.max, MIN_MS * Math.exp((b + 1) * GROWTH));
    }
    return this.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
  }
}
