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

  it('dotsAt scores gathered rows exactly as dots scores them in pairs (any dims, any indexes, repeats)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 2, max: 30 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(fc.nat(rows - 1), { maxLength: 25 }))),
        (dims, [rows, idx]) => {
          const kern = new ScanKernel(dims);
          const rb = kern.rowBytes;
          const data = Float32Array.from({ length: (rows + 1) * dims }, (_, i) => Math.cos(i * 0.37 + dims));
          const mat = rb;
          const out = mat + rows * rb;
          const ids = out + 4 * rows + 16;
          const got = ids + 4 * idx.length + 16;
          kern.ensure(got + 4 * idx.length + 64);
          kern.writeRow(0, data, 0, 1);
          for (let r = 0; r < rows; r++) kern.writeRow(mat + r * rb, data, (r + 1) * dims, 1);
          kern.dots(mat, rows & ~1, 0, out); // the paired rows of dots (an odd last row is summed in another order)
          kern.i32.set(idx, ids >> 2);
          kern.f32[(got >> 2) + idx.length] = 12345; // a sentinel: one past the last output stays untouched
          kern.dotsAt(mat, ids, idx.length, 0, got);
          for (let i = 0; i < idx.length; i++) {
            const r = idx[i] as number;
            let s = 0;
            for (let j = 0; j < dims; j++) s += (data[(r + 1) * dims + j] as number) * (data[j] as number);
            expect(kern.f32[(got >> 2) + i]).toBeCloseTo(s, 4);
            if (r < (rows & ~1)) expect(kern.f32[(got >> 2) + i]).toBe(kern.f32[(out >> 2) + r]);
          }
          expect(kern.f32[(got >> 2) + idx.length]).toBe(12345);
        },
      ),
      { numRuns: 150, seed: 3 },
    );
  });

  describe('int8 scan', () => {
    /** The padded f32 rows `data` written at `mat`, quantised to int8 at `q8` with scales at `scales`. */
    function quantised(kern: ScanKernel, data: Float32Array, rows: number, mat: number, q8: number, scales: number): void {
      for (let r = 0; r < rows; r++) {
        kern.writeRow(mat + r * kern.rowBytes, data, r * kern.dims, 1);
        kern.quantizeRow(mat + r * kern.rowBytes, q8 + r * kern.stride, scales + 4 * r);
      }
    }
    const vec = (dims: number): fc.Arbitrary<number[]> =>
      fc.array(fc.oneof(fc.double({ min: -4, max: 4, noNaN: true }), fc.constantFrom(0, 1, -1)), { minLength: dims, maxLength: dims });

    it('quantizeRow and quantizeQuery: symmetric, the largest component at ±max, every value within half a step', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }).chain((d) => fc.tuple(fc.constant(d), vec(d))),
          ([dims, xs]) => {
            const kern = new ScanKernel(dims);
            const x = Float32Array.from(xs);
            kern.ensure(4 * kern.rowBytes);
            kern.writeRow(0, x, 0, 1);
            const q8 = kern.rowBytes;
            const sc = 2 * kern.rowBytes;
            const q16 = 3 * kern.rowBytes;
            kern.quantizeRow(0, q8, sc);
            const s = kern.f32[sc >> 2] as number;
            const qs = kern.quantizeQuery(0, q16);
            const max = Math.max(...Array.from(x, Math.abs));
            expect(s).toBeCloseTo(max / 127, 6);
            expect(qs).toBeCloseTo(max / kern.queryMax, 9);
            for (let j = 0; j < kern.stride; j++) {
              const v = j < dims ? (x[j] as number) : 0;
              const a = kern.i8[q8 + j] as number;
              const b = kern.i16[(q16 >> 1) + j] as number;
              expect(Math.abs(a)).toBeLessThanOrEqual(127);
              expect(Math.abs(b)).toBeLessThanOrEqual(kern.queryMax);
              expect(Math.abs(a * s - v)).toBeLessThanOrEqual(s / 2 + 1e-6 * max);
              expect(Math.abs(b * qs - v)).toBeLessThanOrEqual(qs / 2 + 1e-9 * max);
              if (max > 0 && Math.abs(v) === max) expect(Math.abs(a)).toBe(127);
            }
          },
        ),
        { numRuns: 200, seed: 5 },
      );
    });

    it('dotsI8 is the integer dot × the two scales (a JS reference), for any dims, row count and start row', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 0, max: 41 }),
          fc.integer({ min: 0, max: 5 }),
          fc.integer({ min: 1, max: 1e6 }),
          (dims, rows, from, seed) => {
            const kern = new ScanKernel(dims);
            const total = rows + from;
            const data = Float32Array.from({ length: (total + 1) * dims }, (_, i) => Math.sin(i * 1.3 + seed) * (1 + ((i * seed) % 7)));
            if (total > 2) data.fill(0, dims, 2 * dims); // an all-zero row (scale 0)
            const mat = kern.rowBytes;
            const q8 = mat + (total + 1) * kern.rowBytes;
            const scales = q8 + (total + 1) * kern.stride;
            const q16 = scales + 4 * (total + 1) + 16;
            const out = q16 + 2 * kern.stride;
            kern.ensure(out + 4 * (rows + 1) + 64);
            kern.writeRow(0, data, 0, 1);
            const qs = kern.quantizeQuery(0, q16);
            quantised(kern, data.subarray(dims), total, mat, q8, scales);
            kern.f32[(out >> 2) + rows] = 12345; // sentinel
            // From row `from`: the scales' v128 loads are unaligned then.
            kern.dotsI8(q8 + from * kern.stride, rows, q16, scales + 4 * from, qs, out);
            for (let r = 0; r < rows; r++) {
              let dot = 0;
              for (let j = 0; j < kern.stride; j++)
                dot += (kern.i8[q8 + (from + r) * kern.stride + j] as number) * (kern.i16[(q16 >> 1) + j] as number);
              const ref = Math.fround(Math.fround(Math.fround(dot) * (kern.f32[(scales >> 2) + from + r] as number)) * Math.fround(qs));
              expect(kern.f32[(out >> 2) + r]).toBe(ref);
            }
            expect(kern.f32[(out >> 2) + rows]).toBe(12345);
          },
        ),
        { numRuns: 200, seed: 9 },
      );
    });

    it('dotsI8 approximates the f32 dot within the quantisation bound', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }).chain((d) => fc.tuple(fc.constant(d), fc.array(vec(d), { minLength: 1, maxLength: 9 }), vec(d))),
          ([dims, rowsXs, qx]) => {
            const kern = new ScanKernel(dims);
            const rows = rowsXs.length;
            const data = Float32Array.from(rowsXs.flat());
            const q = Float32Array.from(qx);
            const mat = kern.rowBytes;
            const q8 = mat + rows * kern.rowBytes;
            const scales = q8 + rows * kern.stride;
            const q16 = scales + 4 * rows + 16;
            const out = q16 + 2 * kern.stride;
            kern.ensure(out + 4 * rows + 64);
            kern.writeRow(0, q, 0, 1);
            const qs = kern.quantizeQuery(0, q16);
            quantised(kern, data, rows, mat, q8, scales);
            kern.dotsI8(q8, rows, q16, scales, qs, out);
            for (let r = 0; r < rows; r++) {
              const s = kern.f32[(scales >> 2) + r] as number;
              let exact = 0;
              let bound = 0;
              for (let j = 0; j < dims; j++) {
                const x = data[r * dims + j] as number;
                exact += x * (q[j] as number);
                // |x̂q̂ − xq| ≤ |x|·qs/2 + |q|·s/2 + s·qs/4 per component
                bound += (Math.abs(x) * qs) / 2 + (Math.abs(q[j] as number) * s) / 2 + (s * qs) / 4;
              }
              expect(Math.abs((kern.f32[(out >> 2) + r] as number) - exact)).toBeLessThanOrEqual(bound * 1.0001 + 1e-5);
            }
          },
        ),
        { numRuns: 200, seed: 13 },
      );
    });

    it('does not overflow i32 at large dims with every component at its maximum', () => {
      for (const dims of [1024, 4000]) {
        const kern = new ScanKernel(dims);
        const ones = new Float32Array(dims).fill(1);
        const neg = new Float32Array(dims).fill(-1);
        const q8 = 2 * kern.rowBytes;
        const scales = q8 + 2 * kern.stride;
        const q16 = scales + 16;
        const out = q16 + 2 * kern.stride;
        kern.ensure(out + 64);
        kern.writeRow(0, ones, 0, 1);
        const qs = kern.quantizeQuery(0, q16);
        kern.writeRow(kern.rowBytes, neg, 0, 1);
        kern.quantizeRow(kern.rowBytes, q8, scales);
        kern.quantizeRow(0, q8 + kern.stride, scales + 4);
        kern.dotsI8(q8, 2, q16, scales, qs, out);
        expect(kern.f32[out >> 2]).toBeCloseTo(-dims, 1);
        expect(kern.f32[(out >> 2) + 1]).toBeCloseTo(dims, 1);
      }
    });
  });

  it('select keeps exactly the positions of the want largest scores, in position order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }), fc.constantFrom(0, 1, -1)), {
          minLength: 1,
          maxLength: 3000,
        }),
        fc.integer({ min: 1, max: 3000 }),
        (scores, want) => {
          const kern = new ScanKernel(4);
          const n = scores.length;
          kern.ensure(64 + 8 * n + 64);
          kern.f32.set(scores, 16);
          const c = kern.select(64, n, want, 64 + 4 * n);
          expect(c).toBe(Math.min(want, n));
          const pos = Array.from(kern.i32.subarray((64 + 4 * n) >> 2, ((64 + 4 * n) >> 2) + c));
          for (let i = 1; i < c; i++) expect(pos[i]).toBeGreaterThan(pos[i - 1] as number);
          const got = pos.map((p) => Math.fround(scores[p] as number) + 0).sort((a, b) => b - a);
          const expected = [...Float32Array.from(scores)]
            .sort((a, b) => b - a)
            .slice(0, c)
            .map((x) => x + 0);
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 200, seed: 17 },
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
