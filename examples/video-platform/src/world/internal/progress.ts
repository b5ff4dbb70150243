import cliProgress from 'cli-progress';

/** A progress bar on stderr when it is a terminal (or forced), otherwise a no-op. */
export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

/** Starts a bar of `total` steps named `label` (silent unless `enabled`). */
export function progress(label: string, total: number, enabled: boolean): Progress {
  if (!enabled) return { tick: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(22)} [{bar}] {percentage}% | {value}/{total} | ETA {eta}s`, stream: process.stderr, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: (n = 1) => bar.increment(n),
    stop: () => bar.stop(),
  };
}

/** Whether long steps should draw bars by default: stderr is a TTY and we are not under CI/vitest. */
export function progressDefault(): boolean {
  return Boolean(process.stderr.isTTY) && process.env['CI'] !== 'true' && process.env['VITEST'] === undefined;
}
