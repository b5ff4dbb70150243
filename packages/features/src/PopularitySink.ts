/** One weighted popularity increment for one item in one segment (`global`, `region:US`, `category:music`). */
export interface PopularityUpdate {
  readonly itemId: string;
  readonly segment: string;
  readonly weight: number;
  readonly atMs: number;
}

/**
 * Where the stream aggregator writes popularity signal. Structurally typed so the retrieval
 * package's popularity counters satisfy it without this package importing retrieval.
 *
 * Delivery is at-least-once: after a crash between the popularity write and the commit of the
 * batch, a batch's increments can be applied twice (bounded by one batch per partition).
 */
export interface PopularitySink {
  incrementBatch(updates: readonly PopularityUpdate[]): Promise<void>;
  removeItem(itemId: string): Promise<void>;
}
