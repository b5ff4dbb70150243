/**
 * Deterministic randomness for the synthetic world.
 *
 * Hand-written on purpose: the world needs *counter-based* draws (a value that is a pure function
 * of `(seed, entity, index)`), so that any user's or item's attributes, and any user-item noise
 * term, can be recomputed on demand without storing them. That is what keeps the 1M × 1M world in
 * bounded memory. Stateful streams (session order) use sfc32, a small well-tested generator.
 */

/** 32-bit integer hash of up to four 32-bit keys (murmur3 finaliser over an FNV-style mix). */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ d, 0x165667b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in [0, 1) as a pure function of the keys. */
export function hashUniform(a: number, b = 0, c = 0, d = 0): number {
  return hash32(a, b, c, d) / 4294967296;
}

/** Standard normal as a pure function of the keys (Box–Muller over two hashed uniforms). */
export function hashGaussian(a: number, b = 0, c = 0, d = 0): number {
  const u1 = (hash32(a, b, c, d) + 1) / 4294967297;
  const u2 = hash32(a ^ 0x5bd1e995, b, c, d) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** sfc32: a fast stateful generator for streams (e.g. the order of sessions in a day). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number, stream = 0) {
    this.a = hash32(seed, stream, 1);
    this.b = hash32(seed, stream, 2);
    this.c = hash32(seed, stream, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }
  /** Uniform u32. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal. */
  gaussian(): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }
}

/**
 * Walker's alias table: O(1) draws from a fixed discrete distribution. Hand-written because it is
 * ~30 lines and must work on typed arrays of up to millions of weights without copies.
 */
export class AliasTable {
  readonly n: number;
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;
  /** Normalised probability of each outcome. */
  readonly p: Float64Array;
  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.n = n;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    this.p = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weights[i] as number;
    const scaled = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.p[i] = (weights[i] as number) / sum;
      scaled[i] = (this.p[i] as number) * n;
    }
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = n - 1; i >= 0; i--) {
      if ((scaled[i] as number) < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns] as number;
      const l = large[--nl] as number;
      this.prob[s] = scaled[s] as number;
      this.alias[s] = l;
      scaled[l] = (scaled[l] as number) + (scaled[s] as number) - 1;
      if ((scaled[l] as number) < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    while (nl > 0) this.prob[large[--nl] as number] = 1;
    while (ns > 0) this.prob[small[--ns] as number] = 1;
  }
  sample(rng: Rng): number {
    const i = rng.int(this.n);
    return rng.next() < (this.prob[i] as number) ? i : (this.alias[i] as number);
  }
}

/** Logistic sigmoid. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
