/**
 * The video-platform recommendation server.
 *
 *   npx tsx src/server/main.ts [--mode embedded|production] [--port 8080] [--workers 1|N|auto] [--preset demo]
 *
 * Every flag has an environment variable (see config.ts). With `--workers N` (> 1) the primary
 * process forks N HTTP workers with node:cluster; each builds its own recommender (ANN and ONNX
 * work are synchronous, so one request's CPU work stalls only its own worker's event loop).
 * SIGTERM/SIGINT: stop accepting, drain in-flight requests, flush the impression log, commit
 * consumer offsets, close stores; then exit.
 */
import cluster from 'node:cluster';
import { serveClusterGather, serveClusterMetrics } from './clusterMetrics.js';
import { loadConfig, type ServerConfig, workerExecArgv } from './config.js';
import { startServer } from './startServer.js';

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (e) {
    console.error(String((e as Error).message));
    process.exit(2);
  }
  // Heap flags (the young generation's size) take effect only at process start: when this process
  // lacks them, the HTTP workers are forked with them, even a single one.
  const execArgv = workerExecArgv(config, process.execArgv);
  if (cluster.isPrimary && (config.workers > 1 || execArgv !== undefined)) {
    if (execArgv !== undefined) cluster.setupPrimary({ execArgv });
    console.log(
      `primary ${process.pid}: forking ${config.workers} worker(s) (mode ${config.mode}${execArgv === undefined ? '' : `, ${execArgv[execArgv.length - 1]}`})`,
    );
    serveClusterMetrics(); // a worker's GET /metrics serves every worker's series (clusterMetrics.ts)
    serveClusterGather(); // and its GET /v1/dashboard every worker's latencies, sources and tiers
    for (let i = 0; i < config.workers; i++) cluster.fork({ RECSPINE_WORKER_INDEX: String(i) });
    let stopping = false;
    cluster.on('exit', (w, code) => {
      if (!stopping) {
        console.error(`worker ${w.process.pid} exited (${code}); restarting`);
        cluster.fork();
      }
    });
    const stop = (): void => {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      setTimeout(() => process.exit(0), 15_000).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return;
  }
  const server = await startServer(config);
  console.log(
    `${cluster.isWorker ? `worker ${process.pid}` : 'server'} listening on ${server.url} (mode ${config.mode}, preset ${config.preset})`,
  );
  const shutdown = async (signal: string): Promise<void> => {
    console.log(`${signal}: draining`);
    await server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

await main();
