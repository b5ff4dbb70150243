/**
 * Decode micro-benchmark: the CPU cost of decoding one batch read's records (200 packed item
 * profiles + 200 item-stream snapshots with decayed counters) into columns, without any I/O.
 * This is the client-side share of `bench/fetch.ts`'s read. Closed loop, one batch at a time.
 *
 *   npx tsx --expose-gc bench/decode-micro.ts [--items 200] [--iters 3000]
 */
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import type { CompiledGroup } from '../src/FeatureSchema.js';
import { encodePacked } from '../src/internal/codec.js';
import {
  allocGroupColumns,
  allocSnapshotColumns,
  decodePackedColumns,
  decodeSnapshotColumns,
  snapshotSpec,
} from '../src/internal/columns.js';
import { itemProfile, testSchema } from '../test/fixtures.js';

const flags = parseFlags();
const ITEMS = Number(flags.items ?? 200);
const ITERS = Number(flags.iters ?? 3000);
const schema = testSchema();
const profile = schema.group('item_profile') as CompiledGroup;
const stream = schema.groupsOf('item').find((g) => g.encoding === 'hash') as CompiledGroup;
const now = Date.now();

function pack(features: CompiledGroup['features'], fp: number, row: Record<string, unknown>): Buffer {
  const m = new Map<number, never>();
  features.forEach((f, i) => {
    if (row[f.name] !== undefined) m.set(i, row[f.name] as never);
  });
  return encodePacked(features, fp, m);
}
// One contiguous "reply" like a socket chunk, records as views into it (what ioredis hands over).
function reply(records: Buffer[]): Buffer[] {
  const all = Buffer.concat(records);
  let off = 0;
  return records.map((r) => {
    const v = all.subarray(off, off + r.length);
    off += r.length;
    return v;
  });
}
const spec = snapshotSpec(stream);
const profiles = reply(Array.from({ length: ITEMS }, (_, i) => pack(profile.features, profile.fingerprint, itemProfile(i))));
const snaps = reply(
  Array.from({ length: ITEMS }, (_, i) => {
    const row: Record<string, unknown> = {};
    spec.features.forEach((f, k) => (row[f.name] = f.name.endsWith('~t') ? now - 1000 * (i + k) : i * 3 + k));
    return pack(spec.features, spec.fingerprint, row);
  }),
);

let sink = 0;
function decodeBatch(): void {
  const a = allocGroupColumns(profile, ITEMS);
  for (let j = 0; j < ITEMS; j++) decodePackedColumns(profile, profiles[j], a, j);
  const { gc: b, sc } = allocSnapshotColumns(stream, spec, ITEMS);
  for (let j = 0; j < ITEMS; j++) decodeSnapshotColumns(stream, spec, snaps[j], now, sc, j);
  sink += a.cols.length + b.cols.length;
}

for (let i = 0; i < 500; i++) decodeBatch();
const rec = new LatencyRecorder();
const cpu0 = process.cpuUsage();
for (let i = 0; i < ITERS; i++) {
  const t = process.hrtime.bigint();
  decodeBatch();
  rec.recordUs(Number(process.hrtime.bigint() - t) / 1e3);
}
const cpu = process.cpuUsage(cpu0);
const s = rec.summaryMs();
const row = { records: 2 * ITEMS, p50: s.p50, p99: s.p99, p999: s.p999, cpuMsPerBatch: (cpu.user + cpu.system) / 1000 / ITERS };
printTable('decode of one batch read (ms)', [row]);
writeResult('features-decode', { items: ITEMS, iters: ITERS }, { ...row, ok: sink > 0 });
