/**
 * Shared benchmark helpers (repo-internal; not shipped). Every benchmark prints a table for people
 * and writes `bench-results/<name>.json` for machines, per DESIGN.md §7:
 * `{ name, when, machine: { cpus, node }, params, metrics }`.
 *
 * Percentiles come from HDR histograms (hdr-histogram-js), never from averages.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A latency recorder in microseconds with 3 significant digits (1 µs … 60 s). */
export class LatencyRecorder {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  /** Records one sample given in milliseconds. */
  recordMs(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }
  /** Records one sample given in microseconds. */
  recordUs(us: number): void {
    this.h.recordValue(Math.max(1, Math.round(us)));
  }
  get count(): number {
    return this.h.totalCount;
  }
  /** Percentile in ms. */
  pMs(p: number): number {
    return this.h.getValueAtPercentile(p) / 1000;
  }
  /** Percentile in µs. */
  pUs(p: number): number {
    return this.h.getValueAtPercentile(p);
  }
  summaryMs(): { p50: number; p99: number; p999: number; max: number; count: number } {
    return { p50: this.pMs(50), p99: this.pMs(99), p999: this.pMs(99.9), max: this.h.maxValue / 1000, count: this.count };
  }
  reset(): void {
    this.h.reset();
  }
}

/** Writes `bench-results/<name>.json` at the repository root and returns its path. */
export function writeResult(name: string, params: Record<string, unknown>, metrics: Record<string, unknown>): string {
  const dir = join(REPO_ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const body = {
    name,
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    params,
    metrics,
  };
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
  return file;
}

/** Prints an aligned table. */
export function printTable(title: string, rows: readonly Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] as object);
  const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (cells: string[]): string => cells.map((s, i) => s.padStart(widths[i] as number)).join('  ');
  console.log(`\n${title}`);
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => fmt(r[c]))));
}

/** Parses `--flag value` / `--flag=value` CLI args into a record. */
export function parseFlags(argv: readonly string[] = process.argv.slice(2)): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) out[a.slice(2)] = argv[++i] as string;
    else out[a.slice(2)] = 'true';
  }
  return out;
}
