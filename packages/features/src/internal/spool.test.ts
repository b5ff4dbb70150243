import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecEvent } from '../RecEvent.js';
import { RECORD_HEADER_BYTES, Spool, encodeRecord } from './spool.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'recspine-spool-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const click = (i: number, userId = `u${i % 3}`): RecEvent => ({
  id: `e${i}`,
  type: 'click',
  userId,
  itemId: 'v1',
  atMs: 1_700_000_000_000 + i,
});
const ids = (events: readonly RecEvent[]): string[] => events.map((e) => e.id);
const segments = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.startsWith('seg-'))
    .sort();

/** Reads and commits everything, chunk by chunk. */
async function drainAll(s: Spool, maxEvents = 1000): Promise<RecEvent[]> {
  const out: RecEvent[] = [];
  for (;;) {
    const c = await s.readNext(maxEvents);
    if (c.events.length === 0) return out;
    out.push(...c.events);
    await s.commit(c);
  }
}

describe('Spool', () => {
  describe('append / readNext / commit', () => {
    it('hands events back in append order across segments and deletes a segment once drained', async () => {
      const dir = tmp();
      const s = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 300 });
      for (let i = 0; i < 20; i += 2) await s.append([click(i), click(i + 1)]);
      expect(s.pendingEvents).toBe(20);
      expect(segments(dir).length).toBeGreaterThan(3);
      const first = await s.readNext(3); // whole records only: 2 + 2 ≥ 3
      expect(ids(first.events)).toEqual(['e0', 'e1', 'e2', 'e3']);
      await s.commit(first);
      expect(s.pendingEvents).toBe(16);
      const rest = await drainAll(s, 5);
      expect(ids(rest)).toEqual(Array.from({ length: 16 }, (_, i) => `e${i + 4}`));
      expect(s.pendingEvents).toBe(0);
      expect(s.pendingBytes).toBe(0);
      expect(s.empty).toBe(true);
      expect(segments(dir)).toEqual([]);
      await s.close();
    });

    it('group-commits concurrent appends and keeps their order', async () => {
      const s = await Spool.open({ dir: tmp(), maxBytes: 1 << 20 });
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.append([click(i)])));
      expect(ids(await drainAll(s))).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
      await s.close();
    });
  });

  describe('maxBytes', () => {
    it('rejects an append that would not fit with RECSPINE_ERR_EVENTS_SPILL_FULL and keeps nothing of it', async () => {
      const one = encodeRecord([click(0), click(1)]).length;
      const s = await Spool.open({ dir: tmp(), maxBytes: Math.max(1024, one * 2 + 10) });
      const fits = Math.floor(Math.max(1024, one * 2 + 10) / one);
      for (let i = 0; i < fits; i++) await s.append([click(2 * i), click(2 * i + 1)]);
      const before = { events: s.pendingEvents, bytes: s.pendingBytes };
      await expect(s.append([click(900), click(901)])).rejects.toMatchObject({ code: 'RECSPINE_ERR_EVENTS_SPILL_FULL' });
      expect({ events: s.pendingEvents, bytes: s.pendingBytes }).toEqual(before);
      // draining frees room again
      await drainAll(s);
      await s.append([click(902)]);
      expect(s.pendingEvents).toBe(1);
      await s.close();
    });

    it('counts records queued but not yet written against the bound', async () => {
      const one = encodeRecord([click(0)]).length;
      const s = await Spool.open({ dir: tmp(), maxBytes: 1024 });
      const n = Math.floor(1024 / one);
      const results = await Promise.allSettled(Array.from({ length: n + 3 }, (_, i) => s.append([click(i)])));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(n);
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(3);
      expect(s.pendingBytes).toBeLessThanOrEqual(1024);
      await s.close();
    });
  });

  describe('open (restart)', () => {
    it('resumes where the previous process stopped draining, and never re-hands committed events', async () => {
      const dir = tmp();
      const a = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 200 });
      for (let i = 0; i < 10; i++) await a.append([click(i)]);
      const c = await a.readNext(4);
      await a.commit(c);
      await a.close();
      const b = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 200 });
      expect(b.pendingEvents).toBe(10 - c.events.length);
      await b.append([click(10)]);
      expect(ids(await drainAll(b))).toEqual(Array.from({ length: 11 - c.events.length }, (_, i) => `e${i + c.events.length}`));
      await b.close();
      // all drained: a third process finds nothing, and its new segments survive a further restart
      const c3 = await Spool.open({ dir, maxBytes: 1 << 20 });
      expect(c3.pendingEvents).toBe(0);
      await c3.append([click(11)]);
      await c3.close();
      const c4 = await Spool.open({ dir, maxBytes: 1 << 20 });
      expect(ids(await drainAll(c4))).toEqual(['e11']);
      await c4.close();
    });

    it('keeps the intact records of a segment whose tail was torn by a crash, counts the torn record, and truncates it', async () => {
      const dir = tmp();
      const a = await Spool.open({ dir, maxBytes: 1 << 20 });
      for (let i = 0; i < 3; i++) await a.append([click(2 * i), click(2 * i + 1)]);
      await a.close();
      const [seg] = segments(dir);
      const path = join(dir, seg as string);
      const size = statSync(path).size;
      truncateSync(path, size - 5); // the last record lost its last 5 bytes
      const b = await Spool.open({ dir, maxBytes: 1 << 20 });
      expect(b.tornRecords).toBe(1);
      expect(b.pendingEvents).toBe(4);
      expect(statSync(path).size).toBe(size - encodeRecord([click(4), click(5)]).length);
      await b.append([click(6)]);
      expect(ids(await drainAll(b))).toEqual(['e0', 'e1', 'e2', 'e3', 'e6']);
      await b.close();
    });

    it('stops a segment at a corrupt record (CRC), keeps the records before it and every other segment', async () => {
      const dir = tmp();
      const a = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 120 });
      for (let i = 0; i < 6; i++) await a.append([click(i)]);
      await a.close();
      const segs = segments(dir);
      expect(segs.length).toBeGreaterThan(2);
      const path = join(dir, segs[0] as string);
      const buf = readFileSync(path);
      const rec = buf.readUInt32BE(0) + RECORD_HEADER_BYTES;
      expect(buf.length).toBeGreaterThan(rec); // ≥ 2 records in the first segment
      const at = rec + RECORD_HEADER_BYTES + 3;
      buf.writeUInt8(buf.readUInt8(at) ^ 0xff, at); // flip a byte in the second record's payload
      writeFileSync(path, buf);
      const b = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 120 });
      expect(b.tornRecords).toBe(1);
      const left = ids(await drainAll(b));
      expect(left[0]).toBe('e0');
      expect(left).not.toContain('e1');
      expect(left.slice(1)).toEqual([...left.slice(1)].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))));
      expect(left.at(-1)).toBe('e5');
      await b.close();
    });

    it('never crashes on garbage: empty files, a garbage segment, a bad cursor', async () => {
      const dir = tmp();
      writeFileSync(join(dir, 'seg-0000000000000001.log'), '');
      writeFileSync(join(dir, 'seg-0000000000000002.log'), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
      writeFileSync(join(dir, 'seg-0000000000000003.log'), encodeRecord([click(1)]));
      writeFileSync(join(dir, 'cursor.json'), '{"segment": "x"');
      writeFileSync(join(dir, 'unrelated.txt'), 'hello');
      const s = await Spool.open({ dir, maxBytes: 1 << 20 });
      expect(s.tornRecords).toBe(1);
      expect(ids(await drainAll(s))).toEqual(['e1']);
      await s.close();
    });

    it('refuses a directory owned by a live process and takes over a stale lock', async () => {
      const dir = tmp();
      const a = await Spool.open({ dir, maxBytes: 1 << 20 });
      await expect(Spool.open({ dir, maxBytes: 1 << 20 })).rejects.toMatchObject({ code: 'RECSPINE_ERR_EVENTS_SPILL_IO' });
      await a.append([click(1)]);
      await a.close();
      writeFileSync(join(dir, 'spool.lock'), '999999999'); // a pid that does not exist: a crashed owner
      const b = await Spool.open({ dir, maxBytes: 1 << 20 });
      expect(b.pendingEvents).toBe(1);
      await b.close();
    });

    it('validates its options', async () => {
      await expect(Spool.open({ dir: '', maxBytes: 1 << 20 })).rejects.toMatchObject({ field: 'dir' });
      await expect(Spool.open({ dir: tmp(), maxBytes: 10 })).rejects.toMatchObject({ field: 'maxBytes' });
    });
  });

  describe('property: crash at any byte', () => {
    it('after a restart with the last segment cut anywhere, drains an in-order prefix-closed subset: everything before the cut', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 12 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          async (sizes, cutAt) => {
            const dir = tmp();
            const a = await Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 20, fsync: false });
            let n = 0;
            const bounds: { end: number; events: number }[] = [];
            let bytes = 0;
            for (const k of sizes) {
              const evs = Array.from({ length: k }, () => click(n++));
              await a.append(evs);
              bytes += encodeRecord(evs).length;
              bounds.push({ end: bytes, events: n });
            }
            await a.close();
            const path = join(dir, segments(dir)[0] as string);
            const cut = Math.floor(cutAt * bytes);
            truncateSync(path, cut);
            const b = await Spool.open({ dir, maxBytes: 1 << 20 });
            const kept = [...bounds].reverse().find((x) => x.end <= cut)?.events ?? 0;
            const got = ids(await drainAll(b));
            await b.close();
            expect(got).toEqual(Array.from({ length: kept }, (_, i) => `e${i}`));
            expect(b.tornRecords).toBe(bounds.some((x) => x.end === cut) || cut === 0 ? 0 : 1);
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});
