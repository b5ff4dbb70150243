import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { rankPermutation, runOpenLoop, zipfSampler } from '../bench/loadgen.js';
import { mulberry32 } from '../src/mulberry32.js';

describe('zipfSampler', () => {
  it('draws rank r with probability 1/(r+1)^s / H(n, s)', () => {
    const n = 1000;
    const draw = zipfSampler(n, 1, mulberry32(7));
    const counts = new Uint32Array(n);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) counts[draw()]!++;
    let h = 0;
    for (let r = 1; r <= n; r++) h += 1 / r;
    // rank 0 carries 1/H(1000) ≈ 13.4 % of the draws, rank 9 a tenth of that
    expect((counts[0] as number) / draws).toBeCloseTo(1 / h, 2);
    expect((counts[9] as number) / draws).toBeCloseTo(1 / (10 * h), 2);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(draws);
  });

  it('is uniform at s = 0 and rejects bad parameters', () => {
    const draw = zipfSampler(4, 0, mulberry32(1));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[draw()]!++;
    for (const c of counts) expect(c / 40_000).toBeCloseTo(0.25, 1);
    expect(() => zipfSampler(0, 1, Math.random)).toThrow(/positive integer/);
    expect(() => zipfSampler(10, -1, Math.random)).toThrow(/s must be/);
    expect(() => zipfSampler(10, Number.NaN, Math.random)).toThrow(/s must be/);
  });
});

describe('rankPermutation', () => {
  it.each([1, 2, 3, 10, 97, 1024, 1_000_000])('is a bijection on 0…%i-1', (n) => {
    const perm = rankPermutation(n);
    const seen = new Uint8Array(n);
    let outOfRange = 0;
    for (let r = 0; r < n; r++) {
      const v = perm(r);
      if (!(Number.isInteger(v) && v >= 0 && v < n)) outOfRange++;
      else seen[v] = 1;
    }
    expect(outOfRange).toBe(0);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(n);
  });

  it('does not keep popularity in id order', () => {
    const perm = rankPermutation(1_000_000);
    const top = Array.from({ length: 10 }, (_, r) => perm(r));
    expect(new Set(top).size).toBe(10);
    expect(top.some((v, i) => i > 0 && v < (top[i - 1] as number))).toBe(true);
  });
});

describe('runOpenLoop with a population', () => {
  it('draws users from the world and watched items by popularity over the catalog', async () => {
    const bodies: { slot: string; userId?: string; itemId?: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push({ slot: (req.url ?? '').split('/').pop() as string, ...(JSON.parse(body) as object) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[]}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runOpenLoop({
        baseUrl: `http://127.0.0.1:${port}`,
        rate: 400,
        seconds: 2,
        seed: 3,
        inputs: { users: ['sample-user'], items: ['sample-item'], queries: ['q'], population: { users: 5000, items: 100_000, zipfS: 1 } },
      });
      expect(result.ok).toBe(800);
      const eov = bodies.filter((b) => b.slot === 'end-of-video');
      expect(eov.length).toBeGreaterThan(400); // 62 % of 800
      const items = eov.map((b) => Number((b.itemId as string).slice(1)));
      for (const i of items) expect(i >= 0 && i < 100_000).toBe(true);
      // Zipf(1) over 100k: a heavy head (rank 0 ≈ 8 % of draws) and a long tail of distinct items
      const freq = new Map<number, number>();
      for (const i of items) freq.set(i, (freq.get(i) ?? 0) + 1);
      const top = Math.max(...freq.values()) / items.length;
      expect(top).toBeGreaterThan(0.04);
      expect(top).toBeLessThan(0.15);
      expect(freq.size).toBeGreaterThan(items.length / 3);
      const users = bodies.filter((b) => b.userId !== undefined).map((b) => b.userId as string);
      expect(users.every((u) => /^u\d+$/.test(u) && Number(u.slice(1)) < 5000)).toBe(true);
      expect(new Set(users).size).toBeGreaterThan(users.length * 0.8);
      expect(bodies.some((b) => b.itemId === 'sample-item' || b.userId === 'sample-user')).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
