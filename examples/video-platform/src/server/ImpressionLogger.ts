import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

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
}

/**
 * Appends impressions as JSON lines for the training pipeline: served positions, propensities,
 * head scores, arm and degradation. Never blocks the request path: records go to a bounded
 * queue that a background writer drains; when the queue is full the record is dropped and
 * counted (`dropped`), which the dashboard and `/metrics` show.
 */
export class ImpressionLogger {
  private readonly queue: string[] = [];
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

  log(r: ImpressionRecord): void {
    if (!this.out) return;
    if (this.queue.length >= this.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push(JSON.stringify(r));
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
    const batch = this.queue.splice(0, this.queue.length);
    this.written += batch.length;
    const ok = out.write(batch.join('\n') + '\n');
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
