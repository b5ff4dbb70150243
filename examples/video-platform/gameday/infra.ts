/**
 * The game day's PRIVATE dependencies, started and stopped by the suite itself (never the shared
 * Redis on :6379 or the shared broker on :9092): a redis-server it can kill and restart, a TCP fault
 * proxy in front of it, and a Kafka broker it can stop and start. Loopback only; every process is
 * tracked by pid and torn down by pid.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

/**
 * Puts every thread of process `pid` (default: this one) in SCHED_FIFO 40 with SCHED_RESET_ON_FORK
 * (`on`), or back in SCHED_OTHER (`!on`), via util-linux `chrt`; false when that fails (not root,
 * no chrt). For a load generator that shares the cores with the server it measures: at normal
 * priority its own timers and response reads queue behind the server's CPU work, and that delay
 * lands in the measured latency (on the 2-core box of 27 Nov: 60–80 ms of the slowest requests'
 * time). Reset-on-fork: what it spawns afterwards (a restarted Redis or broker) runs at normal
 * priority.
 */
export function setRealtime(on: boolean, pid: number = process.pid): boolean {
  const args = on ? ['-a', '-R', '-f', '-p', '40', String(pid)] : ['-a', '-o', '-p', '0', String(pid)];
  return spawnSync('chrt', args, { stdio: 'ignore' }).status === 0;
}

/** True when something accepts TCP connections on 127.0.0.1:port within `ms`. */
export function tcpOpen(port: number, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function hasBinary(cmd: string, args: readonly string[] = ['--version']): Promise<boolean> {
  try {
    await run(cmd, [...args]);
    return true;
  } catch {
    return false;
  }
}

/**
 * The integration-test gate (as in packages/features): with CI=true a missing prerequisite throws
 * (the build fails); elsewhere it warns loudly and returns false (the suite is skipped).
 */
export function requirePrereq(what: string, available: boolean, howTo: string): boolean {
  if (available) return true;
  const msg = `${what} is not available. ${howTo}`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`[CI] ${msg}`);
  console.warn(`\n${'!'.repeat(80)}\n!! SKIPPING game-day tests: ${msg}\n${'!'.repeat(80)}\n`);
  return false;
}

export async function waitFor(check: () => Promise<boolean> | boolean, ms: number, what: string, everyMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A private redis-server that can be killed (SIGKILL: a crash, not a clean shutdown) and started
 * again on the same port and data directory. Append-only file with `everysec` fsync, so a restart
 * reloads the seeded feature store the way a production Redis with AOF would.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;
  private readonly dir: string;

  constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), `recspine-gameday-redis-${port}-`));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (await tcpOpen(this.port)) throw new Error(`port ${this.port} is taken: the game day needs it for its private Redis`);
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--dir',
        this.dir,
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () => (await run('redis-cli', ['-p', String(this.port), 'PING']).catch(() => ({ stdout: '' }))).stdout.trim() === 'PONG',
      30_000,
      `redis-server :${this.port}`,
    );
  }

  /** SIGKILL, then wait until the port is closed. */
  async kill(): Promise<void> {
    const c = this.child;
    if (c === undefined || !this.running) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c !== undefined && this.running) {
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (this.running) c.kill('SIGKILL');
    }
    this.child = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A TCP fault proxy on loopback: forwards 127.0.0.1:listenPort ↔ 127.0.0.1:upstreamPort and can add
 * latency to every chunk in both directions (order kept per connection).
 *
 * Hand-written on node:net on purpose: there is no maintained npm equivalent of toxiproxy that
 * runs without its Go binary (and the binary is not in Debian), and the game day needs only one
 * toxic (latency) plus clean connection handling when the upstream dies.
 */
export class FaultProxy {
  private server: Server | undefined;
  private latencyMs = 0;
  private readonly sockets = new Set<Socket>();
  /** Chunks delayed so far (how much of the traffic the toxic touched). */
  delayedChunks = 0;

  constructor(
    readonly listenPort: number,
    readonly upstreamPort: number,
  ) {}

  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  get latency(): number {
    return this.latencyMs;
  }

  /**
   * Mirrors a dead upstream: stops listening and drops every connection, so clients get
   * "connection refused" as they would from a killed Redis (a listening proxy would otherwise
   * accept each connection and close it at once, which a client sees as a flapping server).
   */
  async upstreamDown(): Promise<void> {
    await this.stop();
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    this.server = createServer((client) => {
      const upstream = connect({ port: this.upstreamPort, host: '127.0.0.1' });
      this.sockets.add(client);
      this.sockets.add(upstream);
      const pipe = (from: Socket, to: Socket): void => {
        // A chain per direction keeps chunk order when the latency changes mid-stream.
        let chain = Promise.resolve();
        from.on('data', (chunk: Buffer) => {
          const ms = this.latencyMs;
          if (ms === 0) {
            chain = chain.then(() => {
              if (!to.destroyed) to.write(chunk);
            });
            return;
          }
          this.delayedChunks++;
          chain = chain.then(
            () =>
              new Promise<void>((r) =>
                setTimeout(() => {
                  if (!to.destroyed) to.write(chunk);
                  r();
                }, ms),
              ),
          );
        });
      };
      pipe(client, upstream);
      pipe(upstream, client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    const srv = this.server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const srv = this.server;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
    this.server = undefined;
  }
}

/**
 * A private single-node Kafka broker through the project's own `scripts/kafka.sh` on its own ports.
 * `KAFKA_HOME_DIR` is left at its default (`.cache/kafka`): the script keeps the jars in
 * `lib-<version>` there (so they are not downloaded again) and each port's state in its own
 * `run-<port>` directory (so the shared broker's state is never touched).
 */
export class PrivateKafka {
  constructor(
    readonly port: number,
    readonly controllerPort = port + 1,
  ) {}

  private async sh(cmd: 'up' | 'down' | 'status', env: Record<string, string> = {}): Promise<string> {
    const { stdout, stderr } = await run('bash', [join(REPO_ROOT, 'scripts', 'kafka.sh'), cmd], {
      env: { ...process.env, ...env, KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.controllerPort) },
      timeout: 180_000,
    });
    return `${stdout}${stderr}`;
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Formats fresh storage and starts the broker (`kafka.sh up`). */
  async up(): Promise<void> {
    if (this.port === 9092) throw new Error('the game day never drives the shared broker on :9092');
    await this.sh('up');
  }

  /** Stops the broker (`kafka.sh down`: SIGTERM, a clean shutdown), keeping its data. */
  async down(): Promise<void> {
    await this.sh('down');
  }

  /**
   * Starts the stopped broker again ON ITS EXISTING DATA (`KAFKA_KEEP_DATA=1 kafka.sh up`): a plain
   * `up` reformats the storage, which would lose the topic and the committed offsets — a restart
   * after an outage must not.
   */
  async restart(): Promise<void> {
    await this.sh('up', { KAFKA_KEEP_DATA: '1' });
  }

  static async available(): Promise<boolean> {
    return (await hasBinary('java', ['-version'])) && (await hasBinary('bash'));
  }
}
