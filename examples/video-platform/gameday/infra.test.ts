import { createServer } from 'node:net';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FaultProxy, tcpOpen } from './infra.js';

/** One round trip through `port`: send `msg`, resolve with the echo and the time it took. */
function roundTrip(port: number, msg: string): Promise<{ reply: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect({ port, host: '127.0.0.1' }, () => s.write(msg));
    s.once('data', (d) => {
      resolve({ reply: d.toString(), ms: performance.now() - t0 });
      s.destroy();
    });
    s.once('error', reject);
  });
}

describe('FaultProxy', () => {
  it('forwards both ways, adds the injected latency per direction, and refuses connections while the upstream is down', async () => {
    const echo = createServer((c) => c.on('data', (d) => c.write(d)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const upstream = (echo.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const proxy = new FaultProxy(port, upstream);
    await proxy.start();
    try {
      expect((await roundTrip(port, 'ping')).reply).toBe('ping');
      proxy.setLatency(60);
      const slow = await roundTrip(port, 'slow');
      expect(slow.reply).toBe('slow');
      expect(slow.ms).toBeGreaterThanOrEqual(110); // 60 ms each way
      expect(proxy.delayedChunks).toBeGreaterThanOrEqual(2);
      await proxy.upstreamDown();
      expect(await tcpOpen(port, 300)).toBe(false);
      await proxy.start();
      proxy.setLatency(0);
      expect((await roundTrip(port, 'back')).reply).toBe('back');
    } finally {
      await proxy.stop();
      echo.close();
    }
  });
});
