import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { ServedFeatures } from '../serving/ServedFeatureTap.js';

/** One served impression, as the training pipeline reads it. */
export interface ImpressionRecord {
  readonly ts: number;
  readonly requestId: string;
  readonly userId: string | undefined;
  readonly slot: string;
  readonly arm: string | undefined;
  readonly orderedBy: string;
  readonly degraded: readonly string[];
  readonly items: readonly {
    readonly itemId: string;
    readonly position: number;
    readonly score: number;
    /** Probability the logging policy placed this item here: 1 for deterministic ranking, the explore mark's propensity otherwise. */
    readonly propensity: number;
    readonly explored: boolean;
    readonly heads?: Readonly<Record<string, number>>;
  }[];
  /**
   * The model inputs of the served items, row i = `items[i]` (see `ServedFeatureTap`); absent when
   * the slate was not ordered by a model that reads features. Written as
   * {@link LoggedFeatures}, with the column names on a `feature-columns` line before the first
   * record of each model version.
   */
  readonly features?: ServedFeatures;
}

/** How served features appear on an impression line. */
export interface LoggedFeatures {
  readonly model: string;
  readonly version: string;
  readonly width: number;
  /** `[items × width]` float32, little-endian, base64. NaN rows: items the model did not score. */
  readonly f32: string;
}

/** The line that names the feature columns of a model version (written once per file and version). */
export interface FeatureColumnsLine {
  readonly kind: 'feature-columns';
  readonly model: string;
  readonly version: string;
  readonly columns: readonly string[];
}

/**
 * Appends impressions as JSON lines for the training pipeline: served positions, propensities,
 * head scores, arm, degradation and the served features (the exact model input rows; read them
 * back with `readServedLog` in `src/train/servedLog.ts`). Never blocks the request path: records go to a bounded
 * queue that a background writer drains; when the queue is full the record is dropped and
 * counted (`dropped`), which the dashboard and `/metrics` show.
 */
export class ImpressionLogger {
  private readonly queue: ImpressionRecord[] = [];
  private readonly columnsWritten = new Set<string>();
  private readonly out: WriteStream | undefined;
  private flushing = false;
  written = 0;
  dropped = 0;

  constructor(
    path: string | undefined,
    private readonly maxQueue = 10_000,
  ) {
    if (path) {
      mkdirSync(dirname(path), { recursive: true });
      this.out = createWriteStream(path, { flags: 'a' });
    }
  }

  /** Whether records are written at all (a path was given). */
  get enabled(): boolean {
    return this.out !== undefined;
  }

  log(r: ImpressionRecord): void {
    if (!this.out) return;
    if (this.queue.length >= this.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push(r);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    const out = this.out;
    if (!out || this.queue.length === 0) {
      this.flushing = false;
      return;
    }
    // Serialised here, after the responses went out, not on the request path.
    const records = this.queue.splice(0, this.queue.length);
    this.written += records.length;
    const lines: string[] = [];
    for (const r of records) {
      const f = r.features;
      if (f === undefined) {
        lines.push(JSON.stringify(r));
        continue;
      }
      const key = `${f.model}@${f.version}`;
      if (!this.columnsWritten.has(key)) {
        this.columnsWritten.add(key);
        const head: FeatureColumnsLine = { kind: 'feature-columns', model: f.model, version: f.version, columns: f.columns };
        lines.push(JSON.stringify(head));
      }
      const features: LoggedFeatures = {
        model: f.model,
        version: f.version,
        width: f.width,
        f32: Buffer.from(f.rows.buffer, f.rows.byteOffset, f.rows.byteLength).toString('base64'),
      };
      lines.push(JSON.stringify({ ...r, features }));
    }
    const ok = out.write(lines.join('\n') + '\n');
    if (ok) this.flushing = false;
    else out.once('drain', () => this.flush());
    if (ok && this.queue.length > 0) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  async close(): Promise<void> {
    this.flush();
    const out = this.out;
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  }
}
