import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScanKernel } from './scanKernel.js';

describe('ScanKernel', () => {
  it('scanWasm.ts is the compilation of scan.wat (run npm run build:wasm after editing the .wat)', async () => {
    const { compileScanWat, renderTs } = await import('../../scripts/build-wasm.mjs');
    expect(readFileSync(join(import.meta.dirname, 'wasm', 'scanWasm.ts'), 'utf8')).toBe(renderTs(await compileScanWat()));
  });

  it('dots and argmax agree with plain JS for any dims and row count (odd, even, padded)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 41 }), fc.integer({ min: 1, max: 9 }), (dims, rows, k) => {
        const kern = new ScanKernel(dims);
        const rb = kern.rowBytes;
        const data = Float32Array.from({ length: (rows + k + 1) * dims }, (_, i) => Math.sin(i * 1.7 + dims));
        const q = 0;
        const mat = rb;
        const cent = mat + rows * rb;
        const out = cent + k * rb;
        const aux = out + 4 * Math.max(rows, 1);
        const tmp = aux + 4 * Math.max(rows, 1);
        kern.ensure(tmp + 4 * k + 64);
        kern.writeRow(q, data, 0, 1);
        for (let r = 0; r < rows; r++) kern.writeRow(mat + r * rb, data, (r + 1) * dims, 1);
        for (let c = 0; c < k; c++) kern.writeRow(cent + c * rb, data, (rows + 1 + c) * dims, 0.5);
        kern.dots(mat, rows, q, out);
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < dims; j++) s += (data[(r + 1) * dims + j] as number) * (data[j] as number);
          expect(kern.f32[(out >> 2) + r]).toBeCloseTo(s, 3);
        }
        kern.argmax(mat, rows, cent, k, out, aux, tmp);
        for (let r = 0; r < rows; r++) {
          let best = -Infinity;
          for (let c = 0; c < k; c++) {
            let s = 0;
            for (let j = 0; j < dims; j++) s += (data[(r + 1) * dims + j] as number) * 0.5 * (data[(rows + 1 + c) * dims + j] as number);
            best = Math.max(best, s);
          }
          expect(kern.f32[(aux >> 2) + r]).toBeCloseTo(best, 3);
          expect(kern.i32[(out >> 2) + r]).toBeGreaterThanOrEqual(0);
          expect(kern.i32[(out >> 2) + r]).toBeLessThan(k);
        }
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('topK returns the positions of the largest scores, best first, ties and negatives included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.constantFrom(0, -0, 1, -1)), {
          minLength: 1,
          maxLength: 3000,
        }),
        fc.integer({ min: 1, max: 3000 }),
        (scores, want) => {
          const kern = new ScanKernel(4);
          const n = scores.length;
          kern.ensure(64 + 8 * n + 64);
          kern.f32.set(scores, 16);
          const pos = kern.topK(64, n, want, 64 + 4 * n);
          const got = Array.from(pos, (p) => Math.fround(scores[p] as number) + 0); // -0 and +0 are equal scores
          const expected = [...Float32Array.from(scores)]
            .sort((a, b) => b - a)
            .slice(0, Math.min(want, n))
            .map((x) => x + 0);
          expect(got).toEqual(expected);
          expect(new Set(pos).size).toBe(pos.length);
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });

  it('finds the top scores of a large skewed array (the threshold retry path)', () => {
    const kern = new ScanKernel(4);
    const n = 200_000;
    kern.ensure(64 + 8 * n + 64);
    // Almost all equal, a few large: the sample's threshold lands on the plateau.
    for (let i = 0; i < n; i++) kern.f32[16 + i] = i % 9973 === 0 ? 10 + i / n : 0.5;
    const pos = kern.topK(64, n, 30, 64 + 4 * n);
    expect(pos).toHaveLength(30);
    for (let j = 0; j < 21; j++) expect(kern.f32[16 + (pos[j] as number)]).toBeGreaterThanOrEqual(10);
    expect(kern.f32[16 + (pos[21] as number)]).toBe(0.5);
  });
});
