import type { EventBatchHandler, EventBus, EventBusStats, SubscribeOptions } from './EventBus.js';
import type { RecEvent } from './RecEvent.js';
import { FeaturesErrors } from './errors.js';
import { sleep } from './internal/partition.js';
import { Spool } from './internal/spool.js';
import { validateEvent } from './validateEvent.js';

/** Options of {@link SpillingEventBus}. */
export interface SpillOptions {
  /** Directory of the spool (created if missing; one process at a time). */
  readonly dir: string;
  /** Bound on undrained bytes on disk; past it `publish` rejects with `RECSPINE_ERR_EVENTS_SPILL_FULL`. */
  readonly maxBytes: number;
  /** How long a direct publish to the inner bus may take before its events are spilled instead. Default 1 000 ms. */
  readonly publishTimeoutMs?: number;
  /** Wait between drain attempts while the inner bus keeps failing. Default 500 ms. */
  readonly drainIntervalMs?: number;
  /**
   * Events per re-publish while draining (whole spilled calls are never split). Default 256. A
   * re-publish that fails after all (timeout) but did land is sent again: keep this ≤ the
   * aggregator's `recentEventIds` so the copies are recognised.
   */
  readonly drainBatchEvents?: number;
  /** Timeout of one drain re-publish. Default 10 000 ms. */
  readonly drainTimeoutMs?: number;
  /** How long `close()` keeps draining before it leaves the rest on disk. Default 5 000 ms. */
  readonly closeDrainMs?: number;
  /** Segment file size. Default 8 MiB. */
  readonly segmentBytes?: number;
  /** `fdatasync` each group of appends before `publish` resolves. Default true; turn off only in tests. */
  readonly fsync?: boolean;
}

/** Counters of a {@link SpillingEventBus}. */
export interface SpillStats {
  /** Events written to the spool (since start). */
  readonly spooledEvents: number;
  readonly spooledBytes: number;
  /** Events on disk waiting to be drained (including those left by a previous process). */
  readonly pendingEvents: number;
  readonly pendingBytes: number;
  /** Events re-published from the spool to the inner bus. */
  readonly drainedEvents: number;
  /** Events refused because the spool was full (`RECSPINE_ERR_EVENTS_SPILL_FULL`). */
  readonly rejectedEvents: number;
  /** Events published straight to the inner bus. */
  readonly directEvents: number;
  /** Spilled events dropped at drain time because they no longer validate (e.g. after a schema change). */
  readonly invalidEvents: number;
  /** Corrupt or torn records found in the spool (e.g. a write cut by a crash); their events are lost. */
  readonly tornRecords: number;
  /** The last failure of the inner bus (publish, drain or start), if any. */
  readonly lastError?: string;
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  p.catch(() => undefined); // a late rejection of the losing promise is expected
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const codeOf = (e: unknown): unknown => (e as { code?: unknown } | null)?.code;

/**
 * An {@link EventBus} that keeps accepting events while its inner bus (Kafka) is down: a publish
 * that fails or takes longer than `publishTimeoutMs` is appended to a bounded on-disk spool
 * (append-only, CRC-checked segment files, `fdatasync`ed before `publish` resolves) and a
 * background drainer re-publishes the spool, in order, once the inner bus works again. While
 * the spool is not empty every publish goes to the spool too, so one user's events keep their
 * order. When the spool is full, `publish` rejects with `RECSPINE_ERR_EVENTS_SPILL_FULL` and
 * accepts nothing of that call (a server answers 503 + Retry-After).
 *
 * Delivery stays at-least-once: a segment is deleted only after the inner publish of its events
 * resolved; a publish that timed out may still land later and then be drained again. Those
 * duplicates carry the same event ids, and {@link StreamAggregator} skips an event id it has
 * already applied for that user.
 *
 * `start()` resumes draining what a previous process left (restart-safe) and resolves even if
 * the inner bus cannot start yet (the failure is in `spillStats().lastError`). `close()` drains
 * for at most `closeDrainMs` and leaves the rest on disk. `subscribe`, `stats` and the consumer
 * side are the inner bus's.
 *
 * @example
 * ```ts
 * const bus = new SpillingEventBus(new KafkaEventBus({ brokers }), { dir: '/var/lib/recspine/spill', maxBytes: 512 * 2 ** 20 });
 * await bus.start();
 * try { await bus.publish(events); reply.code(202).send(); }
 * catch (e) { if (e.code === 'RECSPINE_ERR_EVENTS_SPILL_FULL') reply.code(503).header('retry-after', '5').send(); else throw e; }
 * ```
 */
export class SpillingEventBus implements EventBus {
  readonly name: string;
  private readonly opts: Required<Omit<SpillOptions, 'dir' | 'maxBytes' | 'segmentBytes' | 'fsync'>>;
  private spool: Spool | undefined;
  private opening: Promise<Spool> | undefined;
  private closed = false;
  private stopping = false;
  private drainer: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private stop: () => void = () => undefined;
  private readonly stopped = new Promise<void>((r) => (this.stop = r));
  /** Appends in flight: while any, new publishes also spill (order). */
  private spilling = 0;
  /** Publish calls in flight (`close` lets them finish first). */
  private inflight = 0;
  private readonly st = {
    spooledEvents: 0,
    spooledBytes: 0,
    drainedEvents: 0,
    rejectedEvents: 0,
    directEvents: 0,
    invalidEvents: 0,
  };
  private lastError: string | undefined;

  constructor(
    readonly inner: EventBus,
    private readonly spillOpts: SpillOptions,
  ) {
    this.name = `spilling(${inner.name})`;
    const pos = (v: number | undefined, d: number, field: string): number => {
      if (v === undefined) return d;
      if (!Number.isFinite(v) || v <= 0)
        throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', `${field} must be a positive number`, { field });
      return v;
    };
    this.opts = {
      publishTimeoutMs: pos(spillOpts.publishTimeoutMs, 1_000, 'publishTimeoutMs'),
      drainIntervalMs: pos(spillOpts.drainIntervalMs, 500, 'drainIntervalMs'),
      drainBatchEvents: pos(spillOpts.drainBatchEvents, 256, 'drainBatchEvents'),
      drainTimeoutMs: pos(spillOpts.drainTimeoutMs, 10_000, 'drainTimeoutMs'),
      closeDrainMs: pos(spillOpts.closeDrainMs, 5_000, 'closeDrainMs'),
    };
  }

  /** Opens the spool (recovering a previous process's), starts the drainer, then tries to start the inner bus. */
  async start(): Promise<void> {
    if (this.closed) throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'bus is closed');
    await this.open();
    try {
      await withTimeout(this.inner.start(), this.opts.publishTimeoutMs, 'inner start');
    } catch (e) {
      this.lastError = `start: ${message(e)}`; // keep accepting: publishes spill until the inner bus is back
    }
  }

  private open(): Promise<Spool> {
    this.opening ??= Spool.open({
      dir: this.spillOpts.dir,
      maxBytes: this.spillOpts.maxBytes,
      ...(this.spillOpts.segmentBytes === undefined ? {} : { segmentBytes: this.spillOpts.segmentBytes }),
      ...(this.spillOpts.fsync === undefined ? {} : { fsync: this.spillOpts.fsync }),
    }).then(
      (s) => {
        this.spool = s;
        this.drainer = this.drainLoop();
        return s;
      },
      (e: unknown) => {
        this.opening = undefined;
        throw e;
      },
    );
    return this.opening;
  }

  /**
   * Validates every event (`RECSPINE_ERR_EVENT_INVALID`, nothing accepted), then publishes to the
   * inner bus or spills to disk. Resolves once the events are in the inner bus or durably spooled.
   */
  async publish(events: readonly RecEvent[]): Promise<void> {
    if (this.closed) throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'bus is closed');
    for (let i = 0; i < events.length; i++) {
      const v = validateEvent(events[i]);
      if (!v.ok)
        throw FeaturesErrors.create('RECSPINE_ERR_EVENT_INVALID', `events[${i}]: ${v.error.message}`, {
          field: `events[${i}].${v.error.field ?? ''}`,
          cause: v.error,
        });
    }
    if (events.length === 0) return;
    this.inflight++;
    try {
      const spool = this.spool ?? (await this.open());
      if (this.spilling === 0 && spool.empty) {
        try {
          await withTimeout(this.inner.publish(events), this.opts.publishTimeoutMs, 'publish');
          this.st.directEvents += events.length;
          return;
        } catch (e) {
          if (codeOf(e) === 'RECSPINE_ERR_EVENT_INVALID') throw e;
          this.lastError = `publish: ${message(e)}`;
        }
      }
      await this.spill(spool, events);
    } finally {
      this.inflight--;
    }
  }

  private async spill(spool: Spool, events: readonly RecEvent[]): Promise<void> {
    this.spilling++;
    try {
      const before = spool.pendingBytes;
      await spool.append(events);
      this.st.spooledEvents += events.length;
      this.st.spooledBytes += Math.max(0, spool.pendingBytes - before);
    } catch (e) {
      if (codeOf(e) === 'RECSPINE_ERR_EVENTS_SPILL_FULL') this.st.rejectedEvents += events.length;
      throw e;
    } finally {
      this.spilling--;
    }
    this.wake?.();
  }

  private async drainLoop(): Promise<void> {
    const spool = this.spool as Spool;
    while (!this.stopping) {
      if (spool.pendingEvents === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.stopping || spool.pendingEvents > 0) resolve();
        });
        this.wake = undefined;
        continue;
      }
      try {
        const chunk = await spool.readNext(this.opts.drainBatchEvents);
        if (chunk.events.length > 0) await this.republish(chunk.events);
        this.st.drainedEvents += chunk.events.length;
        await spool.commit(chunk);
      } catch (e) {
        this.lastError = `drain: ${message(e)}`;
        await this.pause(this.opts.drainIntervalMs);
      }
    }
  }

  private async republish(events: readonly RecEvent[]): Promise<void> {
    try {
      await withTimeout(this.inner.publish(events), this.opts.drainTimeoutMs, 'drain publish');
    } catch (e) {
      if (codeOf(e) !== 'RECSPINE_ERR_EVENT_INVALID') throw e;
      // validated when spilled; invalid now only if the rules changed since: drop those, keep the rest
      const ok = events.filter((ev) => validateEvent(ev).ok);
      this.st.invalidEvents += events.length - ok.length;
      if (ok.length > 0) await withTimeout(this.inner.publish(ok), this.opts.drainTimeoutMs, 'drain publish');
    }
  }

  /** Waits `ms` (new spills do not cut it short, so a down inner bus is not hammered); `close` does. */
  private pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), this.stopped]).finally(() => clearTimeout(timer));
  }

  /** Resolves once the spool is empty (everything drained) or `timeoutMs` passed; true when empty. */
  async whenDrained(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = this.spool;
      if (s !== undefined && s.empty && this.spilling === 0) return true;
      if (Date.now() >= end) return false;
      await sleep(Math.min(20, Math.max(1, end - Date.now())));
    }
  }

  spillStats(): SpillStats {
    const s = this.spool;
    return {
      ...this.st,
      pendingEvents: s?.pendingEvents ?? 0,
      pendingBytes: s?.pendingBytes ?? 0,
      tornRecords: s?.tornRecords ?? 0,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  subscribe(handler: EventBatchHandler, opts?: SubscribeOptions): Promise<void> {
    return this.inner.subscribe(handler, opts);
  }

  stats(): EventBusStats {
    return this.inner.stats();
  }

  /** Stops accepting, drains for at most `closeDrainMs`, leaves the rest on disk, closes the inner bus. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.opening !== undefined) {
      await this.opening.catch(() => undefined);
      // publishes already accepted finish (to the inner bus or the spool) before anything closes
      const end = Date.now() + this.opts.closeDrainMs;
      while (this.inflight > 0 && Date.now() < end) await sleep(5);
      await this.whenDrained(Math.max(0, end - Date.now()));
      this.stopping = true;
      this.stop();
      this.wake?.();
      // a re-publish still hanging in the inner bus is abandoned (its chunk stays on disk: re-drained
      // by the next process, duplicates absorbed by the event-id dedupe)
      await Promise.race([this.drainer, sleep(Math.max(100, end - Date.now()))]);
      await this.spool?.close();
    }
    await this.inner.close();
  }
}
