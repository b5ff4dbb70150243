/**
 * Real-server helpers for integration tests and benchmarks: probes, and private redis-server
 * processes (a single node with DEBUG enabled, a 3-master Redis Cluster) on loopback ports,
 * started with `redis-server` and torn down by pid.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when something accepts TCP connections on host:port within `ms`. */
export function tcpOpen(port: number, host = '127.0.0.1', ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function hasBinary(name: string): Promise<boolean> {
  try {
    await run(name, ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * The integration-test gate: in CI (CI=true) a missing server throws (the run fails); on a dev
 * machine it warns loudly and returns false (the suite is skipped).
 */
export function requireServer(what: string, available: boolean, howToStart: string): boolean {
  if (available) return true;
  const msg = `${what} is not available. Start it with: ${howToStart}`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`[CI] ${msg}`);
  console.warn(`\n${'!'.repeat(80)}\n!! SKIPPING integration tests: ${msg}\n${'!'.repeat(80)}\n`);
  return false;
}

/** A private redis-server process. */
export interface RedisProc {
  readonly port: number;
  stop(): Promise<void>;
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout;
}

/** Starts `redis-server` on a loopback port with no persistence (extra args appended). */
export async function startRedis(port: number, extra: string[] = []): Promise<RedisProc> {
  const dir = mkdtempSync(join(tmpdir(), `recspine-redis-${port}-`));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', ...extra],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(async () => (await cli(port, 'PING').catch(() => '')).trim() === 'PONG', 10_000, `redis-server :${port}`);
  return {
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A private 3-master Redis Cluster (no replicas) on `ports`. */
export async function startRedisCluster(ports: readonly number[]): Promise<{ ports: readonly number[]; stop(): Promise<void> }> {
  const procs: RedisProc[] = [];
  try {
    for (const p of ports) {
      procs.push(
        await startRedis(p, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`, '--cluster-node-timeout', '2000']),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitFor(
      async () => {
        const states = await Promise.all(ports.map((p) => cli(p, 'CLUSTER', 'INFO').catch(() => '')));
        return states.every((s) => s.includes('cluster_state:ok'));
      },
      20_000,
      'cluster_state:ok',
    );
  } catch (e) {
    await Promise.all(procs.map((p) => p.stop()));
    throw e;
  }
  return { ports, stop: async () => void (await Promise.all(procs.map((p) => p.stop()))) };
}
