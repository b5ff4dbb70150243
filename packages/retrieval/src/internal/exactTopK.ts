import usearch from 'usearch';
import type { AnnMetric } from '../AnnIndex.js';
import { atOffsetZero } from './vector.js';

const { exactSearch } = usearch;

/**
 * Exact top-k of one query over a row-major matrix, scanned in slices of `sliceRows` rows with a
 * yield between slices, so a long scan (validation over 1M items) stalls the event loop for one
 * slice at a time, not for the whole scan. Uses usearch's SIMD `exactSearch` per slice and merges.
 * Returns row indices, best first.
 */
export async function exactTopKSliced(
  vectors: Float32Array,
  dims: number,
  metric: AnnMetric,
  query: Float32Array,
  k: number,
  sliceRows: number,
  pause: () => Promise<void>,
): Promise<number[]> {
  const rows = vectors.length / dims;
  const q = atOffsetZero(query);
  // exactSearch ignores a typed array's byteOffset, so each slice is copied into a scratch buffer
  // that starts at byte 0 (a sequential copy: cheap next to the distance computations).
  const scratch = rows <= sliceRows && vectors.byteOffset === 0 ? undefined : new Float32Array(Math.min(rows, sliceRows) * dims);
  const cand: { row: number; d: number }[] = [];
  for (let start = 0; start < rows; start += sliceRows) {
    const end = Math.min(rows, start + sliceRows);
    const want = Math.min(k, end - start);
    let slice = vectors.subarray(start * dims, end * dims);
    if (scratch !== undefined) {
      scratch.set(slice);
      slice = scratch.subarray(0, slice.length);
    }
    const m = exactSearch(slice, q, dims, want, metric as never, 1);
    for (let i = 0; i < want; i++) cand.push({ row: start + Number(m.keys[i]), d: m.distances[i] as number });
    if (cand.length > 4 * k) {
      cand.sort((a, b) => a.d - b.d);
      cand.length = k;
    }
    if (end < rows) await pause();
  }
  cand.sort((a, b) => a.d - b.d);
  return cand.slice(0, k).map((c) => c.row);
}
