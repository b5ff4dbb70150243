/** What the trimmer steers: the recommender's run-time coarse keep knob. */
export interface CoarseKnob {
  setCoarseKeep(slot: string, keep: number): void;
}

/** Options of {@link LoadTrimmer}. */
export interface LoadTrimmerOptions {
  /** Base coarse keep per slot (quality factor 1). */
  readonly baseKeep: Readonly<Record<string, number>>;
  /** p99 the trimmer steers towards, ms. */
  readonly targetP99Ms: number;
  /** Lowest quality factor. Default 0.25. */
  readonly minFactor?: number;
  /**
   * Planned-spike ("Super Bowl") mode: caps the quality factor ahead of a known event, e.g. 0.75
   * to trim 200 → 150 candidates before the spike arrives. Default 1 (off).
   */
  readonly plannedCap?: number;
  /** Control period, ms. Default 500. */
  readonly periodMs?: number;
}

/**
 * Adaptive candidate trimming, like product-mixer's quality factor: when the recent p99 rises
 * above the target, the coarse keep count goes down multiplicatively (less feature lookup and
 * fine-rank work per request); when it is comfortably below, it recovers additively (AIMD).
 */
export class LoadTrimmer {
  private factor = 1;
  private cap: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly knob: CoarseKnob,
    private readonly recentP99Ms: () => number,
    private readonly opts: LoadTrimmerOptions,
  ) {
    this.cap = opts.plannedCap ?? 1;
    this.factor = this.cap;
    this.apply();
    this.timer = setInterval(() => this.tick(), opts.periodMs ?? 500);
    this.timer.unref();
  }

  get qualityFactor(): number {
    return this.factor;
  }

  /** The planned-spike cap in force (1 = off). */
  get plannedCap(): number {
    return this.cap;
  }

  /** Turns the planned-spike cap on (e.g. 0.75) or off (1). */
  setPlannedCap(cap: number): void {
    this.cap = Math.min(1, Math.max(this.opts.minFactor ?? 0.25, cap));
    this.factor = Math.min(this.factor, this.cap);
    this.apply();
  }

  /** Back to full quality (capped by the planned-spike setting), e.g. after start-up warm-up. */
  reset(): void {
    this.factor = this.cap;
    this.apply();
  }

  tick(): void {
    // p99 ≤ 0: too little traffic in the window to measure, i.e. no load to protect against, so
    // quality climbs back (after an overload the factor would otherwise stay down until traffic
    // returned and was light enough to measure).
    const p99 = this.recentP99Ms();
    const min = this.opts.minFactor ?? 0.25;
    let f = this.factor;
    if (p99 > this.opts.targetP99Ms) f = Math.max(min, f * 0.8);
    else if (p99 < this.opts.targetP99Ms * 0.6) f = Math.min(this.cap, f + 0.05);
    if (f !== this.factor) {
      this.factor = f;
      this.apply();
    }
  }

  private apply(): void {
    for (const [slot, keep] of Object.entries(this.opts.baseKeep)) {
      this.knob.setCoarseKeep(slot, Math.max(10, Math.round(keep * this.factor)));
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
