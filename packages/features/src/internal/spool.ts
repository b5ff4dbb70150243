/**
 * A durable, bounded, append-only on-disk queue of event batches: the storage behind
 * `SpillingEventBus`.
 *
 * Hand-written on purpose: the npm packages that persist a queue to disk either keep the whole
 * queue in memory, rewrite one JSON file per change, or are unmaintained; none offers what the
 * spill needs — group-committed `fdatasync` before an append resolves, a hard byte bound, CRC-checked
 * records that survive a torn write at a crash, and deletion of a segment only after its events
 * were handed on.
 *
 * Layout of `dir`:
 * - `seg-<16 digits>.log`: segments, oldest first by number. A segment is a sequence of records
 *   `[u32 payloadLength][u32 crc32(count ‖ payload)][u32 eventCount][payload: JSON array of events]`
 *   (big-endian). Appends go to the newest segment; a new one starts past `segmentBytes`.
 * - `cursor.json`: `{ segment, offset }`, how far the oldest segment has been drained (written
 *   after each drained chunk; losing it only means re-draining, i.e. duplicates the consumer's
 *   event-id dedupe absorbs — never loss).
 * - `spool.lock`: the pid of the process that owns the directory.
 *
 * Recovery (`Spool.open`): every segment is scanned; a record whose header or CRC does not check
 * out (a torn write at a crash, a truncated file, flipped bits) ends that segment's valid prefix:
 * it is counted in `tornRecords`, the file is truncated to the valid prefix, and the intact
 * records before it (and every other segment) are kept. It never throws on bad content.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { RecEvent } from '../RecEvent.js';
import { FeaturesErrors } from '../errors.js';

/** Record header: payload length, CRC-32 of (count ‖ payload), event count. */
export const RECORD_HEADER_BYTES = 12;
/** Largest payload accepted in one record (a guard against a garbage length field). */
const MAX_PAYLOAD = 64 * 1024 * 1024;
const SEGMENT_RE = /^seg-(\d{16})\.log$/;

export interface SpoolOptions {
  readonly dir: string;
  /** Bound on the bytes of undrained records on disk (headers included). */
  readonly maxBytes: number;
  /** A new segment starts once the current one reaches this size. Default 8 MiB. */
  readonly segmentBytes?: number;
  /** `fdatasync` before an append resolves (default true). Off only for tests of throughput. */
  readonly fsync?: boolean;
}

/** Events read from the head of the spool, to be committed once handed on. */
export interface SpoolChunk {
  readonly events: RecEvent[];
  readonly bytes: number;
  /** Segment and offset just past the chunk. */
  readonly segment: number;
  readonly end: number;
}

interface Segment {
  readonly id: number;
  readonly path: string;
  /** Bytes of valid, durable records. */
  size: number;
  /** Events in those records. */
  events: number;
}

interface Append {
  readonly buf: Buffer;
  readonly events: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

function segName(id: number): string {
  return `seg-${String(id).padStart(16, '0')}.log`;
}

/** Encodes one record (the events of one publish call). */
export function encodeRecord(events: readonly RecEvent[]): Buffer {
  const payload = Buffer.from(JSON.stringify(events), 'utf8');
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  buf.writeUInt32BE(payload.length, 0);
  buf.writeUInt32BE(events.length, 8);
  payload.copy(buf, RECORD_HEADER_BYTES);
  buf.writeUInt32BE(crc32(buf.subarray(8)), 4);
  return buf;
}

/**
 * Checks the record at `off` of `buf`: its total length when it is whole and its CRC matches,
 * 0 when the buffer ends inside it (need more bytes), -1 when it is corrupt.
 */
function recordAt(buf: Buffer, off: number): number {
  if (buf.length - off < RECORD_HEADER_BYTES) return 0;
  const len = buf.readUInt32BE(off);
  if (len > MAX_PAYLOAD) return -1;
  if (buf.length - off < RECORD_HEADER_BYTES + len) return 0;
  const crc = buf.readUInt32BE(off + 4);
  if (crc32(buf.subarray(off + 8, off + RECORD_HEADER_BYTES + len)) !== crc) return -1;
  return RECORD_HEADER_BYTES + len;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ioError(what: string, cause: unknown): Error {
  return FeaturesErrors.create(
    'RECSPINE_ERR_EVENTS_SPILL_IO',
    `event spill: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
    {
      cause,
    },
  );
}

/** See the module comment. One process owns a directory at a time (`spool.lock`). */
export class Spool {
  private readonly segments: Segment[] = [];
  /** Read position in `segments[0]` and the events before it. */
  private headOffset = 0;
  private headEvents = 0;
  private nextId = 1;
  private tail: { seg: Segment; fh: FileHandle; broken: boolean } | undefined;
  private reader: { id: number; fh: FileHandle } | undefined;
  private queue: Append[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | undefined;
  private closed = false;
  private committing = false;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  /** Records found corrupt or torn (at recovery or while draining). */
  tornRecords = 0;

  private constructor(private readonly opts: SpoolOptions) {
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    this.fsync = opts.fsync ?? true;
  }

  /** Opens (creating) the directory, takes its lock and recovers what a previous process left. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    if (typeof opts.dir !== 'string' || opts.dir.length === 0)
      throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'spill dir must be a non-empty path', { field: 'dir' });
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1024)
      throw FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'spill maxBytes must be an integer ≥ 1024', { field: 'maxBytes' });
    const s = new Spool(opts);
    try {
      await mkdir(opts.dir, { recursive: true });
    } catch (e) {
      throw ioError(`cannot create ${opts.dir}`, e);
    }
    await s.lock();
    try {
      await s.recover();
    } catch (e) {
      await rm(join(opts.dir, 'spool.lock'), { force: true });
      throw ioError('recovery failed', e);
    }
    return s;
  }

  private async lock(): Promise<void> {
    const path = join(this.opts.dir, 'spool.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(path, String(process.pid), { flag: 'wx' });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(`cannot lock ${this.opts.dir}`, e);
      }
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner))
        throw FeaturesErrors.create('RECSPINE_ERR_EVENTS_SPILL_IO', `event spill ${this.opts.dir} is in use by pid ${owner}`, {
          field: 'dir',
        });
      await rm(path, { force: true }); // stale lock of a dead process
    }
    throw FeaturesErrors.create('RECSPINE_ERR_EVENTS_SPILL_IO', `cannot lock ${this.opts.dir}`, { field: 'dir' });
  }

  private async recover(): Promise<void> {
    const dir = this.opts.dir;
    const ids = (await readdir(dir))
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    let cursor: { segment: number; offset: number } | undefined;
    try {
      const c = JSON.parse(await readFile(join(dir, 'cursor.json'), 'utf8')) as { segment?: unknown; offset?: unknown };
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset))
        cursor = { segment: c.segment as number, offset: c.offset as number };
    } catch {
      // no cursor (or an unreadable one): drain every segment from its start
    }
    // new segments must sort after the cursor, or a later recovery would take them for drained ones
    if (cursor !== undefined) this.nextId = Math.max(this.nextId, cursor.segment);
    for (const id of ids) {
      this.nextId = Math.max(this.nextId, id + 1);
      const path = join(dir, segName(id));
      if (cursor !== undefined && id < cursor.segment) {
        await rm(path, { force: true }); // fully drained before the previous process stopped
        continue;
      }
      const buf = await readFile(path);
      let off = 0;
      let events = 0;
      const boundaries = new Map<number, number>(); // offset → events before it
      for (;;) {
        boundaries.set(off, events);
        if (off === buf.length) break;
        const n = recordAt(buf, off);
        if (n <= 0) {
          this.tornRecords++;
          break;
        }
        events += buf.readUInt32BE(off + 8);
        off += n;
      }
      if (off < buf.length) {
        const fh = await open(path, 'r+');
        try {
          await fh.truncate(off);
          await fh.datasync();
        } finally {
          await fh.close();
        }
      }
      if (events === 0) {
        await rm(path, { force: true });
        continue;
      }
      const seg: Segment = { id, path, size: off, events };
      if (this.segments.length === 0 && cursor?.segment === id) {
        const before = boundaries.get(cursor.offset);
        // a cursor that is not a record boundary of the valid prefix is ignored (re-drain: duplicates, never loss)
        if (before !== undefined) {
          this.headOffset = cursor.offset;
          this.headEvents = before;
        }
      }
      this.segments.push(seg);
    }
    await this.dropDrainedHead();
  }

  /** Undrained events on disk. */
  get pendingEvents(): number {
    let n = 0;
    for (const s of this.segments) n += s.events;
    return n - this.headEvents;
  }

  /** Bytes of undrained records on disk. */
  get pendingBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n - this.headOffset;
  }

  /** True when nothing is on disk and nothing is being appended or committed. */
  get empty(): boolean {
    return this.queue.length === 0 && this.writing === undefined && !this.committing && this.pendingEvents === 0;
  }

  /**
   * Appends the events of one call as one record; resolves once it is written (and, with
   * `fsync`, on disk). Rejects with `RECSPINE_ERR_EVENTS_SPILL_FULL` — nothing appended — when
   * the record would take the spool past `maxBytes`.
   */
  append(events: readonly RecEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(FeaturesErrors.create('RECSPINE_ERR_EVENTBUS_STATE', 'event spill is closed'));
    const buf = encodeRecord(events);
    if (buf.length - RECORD_HEADER_BYTES > MAX_PAYLOAD || this.pendingBytes + this.queuedBytes + buf.length > this.opts.maxBytes)
      return Promise.reject(
        FeaturesErrors.create(
          'RECSPINE_ERR_EVENTS_SPILL_FULL',
          `event spill is full: ${this.pendingBytes + this.queuedBytes} of ${this.opts.maxBytes} bytes used, ${buf.length} more needed`,
        ),
      );
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, events: events.length, resolve, reject });
      this.queuedBytes += buf.length;
      this.kickWriter();
    });
  }

  private kickWriter(): void {
    this.writing ??= this.writeLoop().finally(() => {
      this.writing = undefined;
      // an append may have queued between the loop's last check and here
      if (this.queue.length > 0) this.kickWriter();
    });
  }

  /** Group commit: every append queued meanwhile goes out in one write + one fdatasync. */
  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let bytes = 0;
      let events = 0;
      for (const a of batch) {
        bytes += a.buf.length;
        events += a.events;
      }
      try {
        const t = await this.tailFor();
        const buf =
          batch.length === 1
            ? (batch[0] as Append).buf
            : Buffer.concat(
                batch.map((a) => a.buf),
                bytes,
              );
        try {
          let off = 0;
          while (off < buf.length) off += (await t.fh.write(buf, off, buf.length - off, null)).bytesWritten;
          if (this.fsync) await t.fh.datasync();
        } catch (e) {
          // the file may now end in a partial record: never append after it (recovery counts it as torn)
          t.broken = true;
          throw e;
        }
        t.seg.size += bytes;
        t.seg.events += events;
        this.queuedBytes -= bytes;
        for (const a of batch) a.resolve();
      } catch (e) {
        this.queuedBytes -= bytes;
        const err = ioError('write failed', e);
        for (const a of batch) a.reject(err);
      }
    }
  }

  private async tailFor(): Promise<{ seg: Segment; fh: FileHandle; broken: boolean }> {
    const t = this.tail;
    if (t !== undefined && !t.broken && t.seg.size < this.segmentBytes) return t;
    if (t !== undefined) {
      this.tail = undefined;
      await t.fh.close().catch(() => undefined);
    }
    const id = this.nextId++;
    const seg: Segment = { id, path: join(this.opts.dir, segName(id)), size: 0, events: 0 };
    const fh = await open(seg.path, constants.O_CREAT | constants.O_WRONLY | constants.O_APPEND | constants.O_EXCL, 0o600);
    if (this.fsync) {
      // make the new file's directory entry durable too
      const d = await open(this.opts.dir, 'r');
      await d.sync().finally(() => d.close());
    }
    this.segments.push(seg);
    this.tail = { seg, fh, broken: false };
    return this.tail;
  }

  /**
   * Reads the next records at the head (at least one whole record, then up to `maxEvents`
   * events and ~1 MiB). An empty chunk means the spool is drained. A record found corrupt here
   * ends its segment (counted in `tornRecords`); reading moves on to the next segment.
   */
  async readNext(maxEvents: number): Promise<SpoolChunk> {
    if (this.closed) return { events: [], bytes: 0, segment: 0, end: 0 };
    for (;;) {
      await this.dropDrainedHead();
      const seg = this.segments[0];
      if (seg === undefined || this.headOffset >= seg.size) return { events: [], bytes: 0, segment: seg?.id ?? 0, end: this.headOffset };
      if (this.reader?.id !== seg.id) {
        await this.reader?.fh.close().catch(() => undefined);
        this.reader = { id: seg.id, fh: await open(seg.path, 'r') };
      }
      const avail = seg.size - this.headOffset;
      let want = Math.min(avail, 1024 * 1024);
      let buf = Buffer.allocUnsafe(want);
      await this.readFully(buf, this.headOffset);
      if (want >= RECORD_HEADER_BYTES) {
        const first = RECORD_HEADER_BYTES + buf.readUInt32BE(0);
        if (first > want && first <= avail) {
          want = first;
          buf = Buffer.allocUnsafe(want);
          await this.readFully(buf, this.headOffset);
        }
      }
      const events: RecEvent[] = [];
      let off = 0;
      let corrupt = false;
      while (off < buf.length && (events.length === 0 || events.length < maxEvents)) {
        const n = recordAt(buf, off);
        if (n === 0) break;
        let parsed: unknown;
        if (n > 0) {
          try {
            parsed = JSON.parse(buf.toString('utf8', off + RECORD_HEADER_BYTES, off + n));
          } catch {
            parsed = undefined;
          }
        }
        if (n < 0 || !Array.isArray(parsed)) {
          corrupt = true;
          break;
        }
        for (const e of parsed as RecEvent[]) events.push(e);
        off += n;
      }
      if (corrupt && events.length === 0) {
        // the rest of this segment cannot be framed: count it and skip it
        this.tornRecords++;
        if (this.tail?.seg === seg) this.tail.broken = true;
        seg.events = this.headEvents;
        seg.size = this.headOffset;
        continue;
      }
      return { events, bytes: off, segment: seg.id, end: this.headOffset + off };
    }
  }

  private async readFully(buf: Buffer, position: number): Promise<void> {
    const fh = (this.reader as { fh: FileHandle }).fh;
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
      if (bytesRead === 0) throw new Error('unexpected end of spill segment');
      off += bytesRead;
    }
  }

  /** Marks a chunk from {@link Spool.readNext} as handed on: it will not be read again. */
  async commit(chunk: SpoolChunk): Promise<void> {
    const seg = this.segments[0];
    if (this.closed || seg === undefined || seg.id !== chunk.segment || chunk.end < this.headOffset) return;
    this.committing = true;
    try {
      this.headOffset = chunk.end;
      this.headEvents += chunk.events.length;
      await this.dropDrainedHead();
      const head = this.segments[0];
      const cursor = head === undefined ? { segment: this.nextId, offset: 0 } : { segment: head.id, offset: this.headOffset };
      const tmp = join(this.opts.dir, 'cursor.json.tmp');
      await writeFile(tmp, JSON.stringify(cursor));
      await rename(tmp, join(this.opts.dir, 'cursor.json'));
    } finally {
      this.committing = false;
    }
  }

  /** Deletes fully drained head segments (not the tail while an append is writing to it). */
  private async dropDrainedHead(): Promise<void> {
    for (;;) {
      const seg = this.segments[0];
      if (seg === undefined || this.headOffset < seg.size) return;
      if (this.tail?.seg === seg) {
        if (this.writing !== undefined) return;
        const t = this.tail;
        this.tail = undefined;
        await t.fh.close().catch(() => undefined);
      }
      if (this.reader?.id === seg.id) {
        await this.reader.fh.close().catch(() => undefined);
        this.reader = undefined;
      }
      this.segments.shift();
      this.headOffset = 0;
      this.headEvents = 0;
      await rm(seg.path, { force: true });
    }
  }

  /** Waits for queued appends, closes the files and releases the lock. What is on disk stays. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing !== undefined) await this.writing;
    await this.tail?.fh.close().catch(() => undefined);
    await this.reader?.fh.close().catch(() => undefined);
    this.tail = undefined;
    this.reader = undefined;
    await rm(join(this.opts.dir, 'spool.lock'), { force: true });
  }
}
