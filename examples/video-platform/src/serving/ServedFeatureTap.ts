import type { AssembleInput, AssembledBatch, FeatureAssemblerSpec } from '@recspine/rank';
import { FeatureAssembler } from '@recspine/rank';

/** The model inputs of one served slate: one row per served item, in slate order. */
export interface ServedFeatures {
  /** Which model read them (`fine` or `degraded`) and its version. */
  readonly model: string;
  readonly version: string;
  readonly width: number;
  /** The assembler's column names (`FeatureAssembler.columns`), `width` of them. */
  readonly columns: readonly string[];
  /** `[served items × width]`, row i = the i-th served item; a row of NaN for an item the model did not score. */
  readonly rows: Float32Array;
}

interface Capture {
  readonly model: string;
  readonly version: string;
  readonly columns: readonly string[];
  readonly width: number;
  readonly rowOf: Map<string, number>;
  readonly data: Float32Array;
}

/**
 * Records the exact input matrix the fine (or degraded) model read for each request, so the
 * impression log can carry, per served item, the features the model saw — not a re-fetch that
 * could differ (a feature written between serving and logging, a group that timed out and was
 * served as its default).
 *
 * It works by handing the rankers a {@link FeatureAssembler} subclass
 * ({@link ServedFeatureTap.assembler}) whose `assemble` copies the leased matrix (one `memcpy`
 * of `candidates × width` floats) keyed by `ctx.requestId`, only while the tap is enabled. After
 * the response, {@link ServedFeatureTap.take} picks the served items' rows and forgets the request.
 * Pending captures are bounded (`maxPending`, oldest dropped first), so requests that never reach
 * the logger (errors, timeouts) cannot grow memory.
 */
export class ServedFeatureTap {
  private readonly pending = new Map<string, Capture>();
  /** Captures dropped because `maxPending` was reached before their request was logged. */
  evicted = 0;

  constructor(
    /** Off by default: no copy is made until something logs impressions. */
    public enabled = false,
    private readonly maxPending = 1024,
  ) {}

  /** A feature assembler for `spec` that reports every matrix it builds to this tap. */
  assembler(spec: FeatureAssemblerSpec, model: string, version: () => string): FeatureAssembler {
    return new TappingAssembler(spec, this, model, version);
  }

  /** @internal Called by the tapping assembler. */
  record(input: AssembleInput, lease: AssembledBatch, asm: FeatureAssembler, model: string, version: string): void {
    const requestId = input.ctx?.requestId;
    const cands = input.candidates;
    if (!this.enabled || requestId === undefined || cands === undefined) return;
    const rowOf = new Map<string, number>();
    for (let i = 0; i < cands.length; i++) rowOf.set((cands[i] as { itemId: string }).itemId, i);
    const data = lease.data.slice(0, lease.rows * lease.width);
    this.pending.delete(requestId); // the latest assembly of a request wins (degraded after a failed fine)
    this.pending.set(requestId, { model, version, columns: asm.columns, width: asm.width, rowOf, data });
    if (this.pending.size > this.maxPending) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.evicted++;
    }
  }

  /**
   * The rows of `itemIds` (the served slate, in order) that the model read for `requestId`, and
   * forgets the request. `undefined` when no model input was captured (the slate was ordered by
   * coarse or retrieval scores, or the tap is off).
   */
  take(requestId: string, itemIds: readonly string[]): ServedFeatures | undefined {
    const c = this.pending.get(requestId);
    if (c === undefined) return undefined;
    this.pending.delete(requestId);
    const rows = new Float32Array(itemIds.length * c.width);
    for (let i = 0; i < itemIds.length; i++) {
      const r = c.rowOf.get(itemIds[i] as string);
      if (r === undefined) rows.fill(Number.NaN, i * c.width, (i + 1) * c.width);
      else rows.set(c.data.subarray(r * c.width, (r + 1) * c.width), i * c.width);
    }
    return { model: c.model, version: c.version, width: c.width, columns: c.columns, rows };
  }

  /** Requests captured and not yet taken. */
  get size(): number {
    return this.pending.size;
  }
}

class TappingAssembler extends FeatureAssembler {
  constructor(
    spec: FeatureAssemblerSpec,
    private readonly tap: ServedFeatureTap,
    private readonly model: string,
    private readonly version: () => string,
  ) {
    super(spec);
  }

  override assemble(input: AssembleInput): AssembledBatch {
    const lease = super.assemble(input);
    if (this.tap.enabled) this.tap.record(input, lease, this, this.model, this.version());
    return lease;
  }
}
