/**
 * Where {@link CreatorFairnessReranker} keeps creators' recent exposure. Pluggable: the in-process
 * {@link InMemoryExposureStore} is the default; a shared deployment can back it with a snapshot of
 * a cluster-wide counter (e.g. refreshed from Redis every few seconds) as long as reads stay
 * synchronous and cheap: they run on the request path, once per candidate creator.
 *
 * Contract: `exposure` returns a non-negative, time-decayed amount for `creatorId` as of `nowMs`
 * (0 for an unknown creator); `record` adds `amount` at `nowMs`. Implementations should bound
 * their memory.
 *
 * @example
 * ```ts
 * const store: ExposureStore = new InMemoryExposureStore({ halfLifeMs: 3_600_000 });
 * store.record('creator-7', Date.now());
 * store.exposure('creator-7', Date.now()); // ≈ 1
 * ```
 */
export interface ExposureStore {
  exposure(creatorId: string, nowMs: number): number;
  record(creatorId: string, nowMs: number, amount?: number): void;
}
