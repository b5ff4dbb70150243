import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { LoadInputs } from '../bench/loadgen.js';
import { sleep } from './infra.js';

/** The example server in production mode, as a child process the game day owns. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  readonly url: string;

  constructor(
    readonly opts: {
      readonly port: number;
      readonly preset: string;
      readonly redisUrl: string;
      readonly kafkaBrokers: string;
      readonly kafkaTopic: string;
      readonly spillDir: string;
      readonly logFile: string;
      /** Extra `--flag value` pairs (e.g. spill size, admission limits). */
      readonly extra?: readonly string[];
    },
  ) {
    this.url = `http://127.0.0.1:${opts.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the process has not exited (a crash shows as false). */
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 240_000): Promise<void> {
    const log = createWriteStream(this.opts.logFile, { flags: 'a' });
    const o = this.opts;
    this.child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '..', 'src', 'server', 'main.ts'),
        '--mode',
        'production',
        '--preset',
        o.preset,
        '--port',
        String(o.port),
        '--redisUrl',
        o.redisUrl,
        '--kafkaBrokers',
        o.kafkaBrokers,
        '--kafkaTopic',
        o.kafkaTopic,
        '--spillDir',
        o.spillDir,
        '--admin',
        'true',
        '--debugByDefault',
        'true',
        ...(o.extra ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: join(import.meta.dirname, '..') },
    );
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.alive) throw new Error(`server exited during start-up (code ${this.child.exitCode}); see ${o.logFile}`);
      try {
        const r = await fetch(`${this.url}/readyz`);
        if (r.ok) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`server not ready within ${timeoutMs} ms; see ${o.logFile}`);
      await sleep(500);
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c === undefined || !this.alive) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
    if (this.alive) {
      c.kill('SIGKILL');
      await exited;
    }
  }

  async json<T = Record<string, unknown>>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const r = await fetch(`${this.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await r.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { text };
    }
    return { status: r.status, body: parsed as T };
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  async inputs(): Promise<LoadInputs> {
    const d = (await this.json<{ sampleUsers: string[]; sampleItems: string[]; sampleQueries: string[] }>('/v1/dashboard')).body;
    return { users: d.sampleUsers, items: d.sampleItems, queries: d.sampleQueries.length ? d.sampleQueries : ['music'] };
  }
}

/** Reads one sample of a Prometheus text exposition, e.g. `metric('recspine_shed_total', {reason: 'in_flight'})`. */
export function metricValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1] as string] = kv[2] as string;
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum = (sum ?? 0) + Number(m[4]);
  }
  return sum;
}
