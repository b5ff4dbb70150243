/**
 * Dot product of two vectors of length `dim`, unrolled by four with four accumulators: fewer loop
 * and bounds checks, and independent additions the CPU can overlap. Every caller that must agree
 * bit-for-bit (MMR and its reference test) uses this one.
 */
export function dot(a: Float32Array, b: Float32Array, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    s0 += (a[d] as number) * (b[d] as number);
    s1 += (a[d + 1] as number) * (b[d + 1] as number);
    s2 += (a[d + 2] as number) * (b[d + 2] as number);
    s3 += (a[d + 3] as number) * (b[d + 3] as number);
  }
  for (; d < dim; d++) s0 += (a[d] as number) * (b[d] as number);
  return s0 + s1 + (s2 + s3);
}

/** 1/‖e‖, or 0 for a zero or non-finite vector. */
export function inverseNorm(e: Float32Array): number {
  const ss = dot(e, e, e.length);
  return ss > 0 && Number.isFinite(ss) ? 1 / Math.sqrt(ss) : 0;
}
