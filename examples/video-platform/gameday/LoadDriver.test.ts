import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { recoverySeconds, startLoad, summarize, type Rec } from './LoadDriver.js';

const rec = (t: number, over: Partial<Rec> = {}): Rec => ({
  t,
  slot: 'homepage',
  status: 200,
  ms: 10,
  degraded: false,
  orderedBy: 'fine',
  tiers: [],
  retryAfter: undefined,
  code: undefined,
  ...over,
});

describe('summarize', () => {
  it('splits outcomes, latency of the 200s, degraded share, tiers and Retry-After on sheds', () => {
    const rs = [
      rec(0.1, { ms: 5 }),
      rec(0.2, { ms: 50, degraded: true, orderedBy: 'degraded', tiers: ['features_unavailable:degraded_model'] }),
      rec(0.3, { status: 503, ms: 2, retryAfter: '1' }),
      rec(0.4, { status: 500 }),
      rec(0.5, { status: 400 }),
      rec(5, { ms: 999 }), // outside the window
    ];
    const w = summarize(rs, 0, 1);
    expect(w).toMatchObject({
      requests: 5,
      ok: 2,
      shed: 1,
      errors5xx: 1,
      otherErrors: 1,
      p99Ms: 50,
      shedWithRetryAfter: true,
      degradedShare: 0.5,
    });
    expect(w.tiers).toEqual({ 'features_unavailable:degraded_model': 1 });
    expect(summarize([rec(0, { status: 503 })]).shedWithRetryAfter).toBe(false);
  });
});

describe('recoverySeconds', () => {
  it('finds the first second from which the healthy share holds for two buckets', () => {
    const rs: Rec[] = [];
    for (let s = 0; s < 6; s++) for (let k = 0; k < 10; k++) rs.push(rec(10 + s + k / 10, { orderedBy: s < 3 ? 'degraded' : 'fine' }));
    expect(recoverySeconds(rs, 10, 100, (r) => r.orderedBy === 'fine')).toBe(3);
    expect(recoverySeconds(rs.slice(0, 30), 10, 100, (r) => r.orderedBy === 'fine')).toBeUndefined();
  });
});

describe('startLoad', () => {
  it('sends open-loop at the rate, records each response, refuses non-loopback targets', async () => {
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ degraded: true, debug: { orderedBy: 'coarse', degradation: [{ mode: 'fine_failed', tier: 'coarse_order' }] } }),
        );
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const L = startLoad({
      baseUrl: `http://127.0.0.1:${port}`,
      rate: 100,
      maxSeconds: 1,
      inputs: { users: ['u1'], items: ['v1'], queries: ['q'] },
    });
    await new Promise((r) => setTimeout(r, 1200));
    const rs = await L.stop();
    srv.close();
    expect(rs.length).toBeGreaterThanOrEqual(90);
    expect(rs.length).toBeLessThanOrEqual(101);
    expect(rs.every((r) => r.status === 200 && r.degraded && r.orderedBy === 'coarse' && r.tiers[0] === 'fine_failed:coarse_order')).toBe(
      true,
    );
    expect(() =>
      startLoad({ baseUrl: 'http://10.0.0.1:1', rate: 1, maxSeconds: 1, inputs: { users: [], items: [], queries: [] } }),
    ).toThrow(/loopback/);
  });
});
