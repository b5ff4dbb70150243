/**
 * Runs `stall-probe.mjs` beside a load step and reports how long the machine itself stalled.
 *
 * Why: on a shared VM the latency tail can be set by the host, not by the server. Measured here
 * (2026-11-27): a SCHED_FIFO probe saw no gap over 9 ms with both cores spinning, but gaps of 36
 * and 76 ms during a 100 QPS load step at 1M items (the server's slowest requests then spent
 * ~100 ms outside its handler). A step's p99 is only comparable with another's when their stall
 * reports are too. The probe runs under `chrt -f 50` when it can (root, util-linux), else at
 * normal priority (then a gap can also be ordinary CPU contention; `realtime` says which).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface StallReport {
  readonly realtime: boolean;
  readonly ticks: number;
  readonly maxGapMs: number;
  readonly over10Ms: number;
  readonly over30Ms: number;
  readonly over50Ms: number;
  readonly top: readonly number[];
}

const PROBE = fileURLToPath(new URL('./stall-probe.mjs', import.meta.url));
let rtOk: boolean | undefined;

/** Whether `chrt -f` works here (checked once). */
function canRealtime(): boolean {
  rtOk ??= spawnSync('chrt', ['-f', '50', 'true'], { stdio: 'ignore' }).status === 0;
  return rtOk;
}

/** Runs `work` with the probe alongside for `seconds` (bounded: the probe exits by itself). */
export async function withStallProbe<T>(seconds: number, work: () => Promise<T>): Promise<{ result: T; stalls?: StallReport }> {
  const realtime = canRealtime();
  const args = [process.execPath, PROBE, String(Math.max(1, Math.round(seconds)))];
  const child = realtime ? spawn('chrt', ['-f', '50', ...args]) : spawn(args[0] as string, args.slice(1));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<StallReport | undefined>((resolve) => {
    child.on('error', () => resolve(undefined));
    child.on('close', () => {
      try {
        resolve({ realtime, ...(JSON.parse(out.trim()) as Omit<StallReport, 'realtime'>) });
      } catch {
        resolve(undefined);
      }
    });
  });
  const result = await work();
  const timer = setTimeout(() => child.kill(), 5_000 + seconds * 1000);
  const stalls = await done;
  clearTimeout(timer);
  return stalls === undefined ? { result } : { result, stalls };
}
