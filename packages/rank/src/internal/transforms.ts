import type { HeadTransform } from '../HeadTransform.js';

/** Compiles a head transform into a function; returns an error message when it is invalid. */
export function compileTransform(t: HeadTransform | undefined): ((p: number) => number) | string {
  if (t === undefined || t.kind === 'raw') return (p) => p;
  switch (t.kind) {
    case 'log': {
      const eps = t.epsilon ?? 1e-6;
      if (!(eps > 0) || !Number.isFinite(eps)) return 'log epsilon must be a positive finite number';
      return (p) => Math.log(p > eps ? p : eps);
    }
    case 'platt': {
      const { a, b } = t;
      if (!Number.isFinite(a) || !Number.isFinite(b)) return 'platt a and b must be finite';
      return (p) => {
        const q = p < 1e-7 ? 1e-7 : p > 1 - 1e-7 ? 1 - 1e-7 : p;
        return 1 / (1 + Math.exp(-(a * Math.log(q / (1 - q)) + b)));
      };
    }
    case 'isotonic': {
      const { x, y } = t;
      if (!Array.isArray(x) || !Array.isArray(y) || x.length < 2 || x.length !== y.length)
        return 'isotonic needs x and y of equal length >= 2';
      for (let i = 0; i < x.length; i++) {
        if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) return 'isotonic points must be finite';
        if (i > 0 && !((x[i] as number) > (x[i - 1] as number))) return 'isotonic x must be strictly increasing';
      }
      const xs = Float64Array.from(x);
      const ys = Float64Array.from(y);
      const n = xs.length;
      return (p) => {
        if (p <= (xs[0] as number)) return ys[0] as number;
        if (p >= (xs[n - 1] as number)) return ys[n - 1] as number;
        let lo = 0;
        let hi = n - 1;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if ((xs[mid] as number) <= p) lo = mid;
          else hi = mid;
        }
        const x0 = xs[lo] as number;
        const x1 = xs[hi] as number;
        const y0 = ys[lo] as number;
        const y1 = ys[hi] as number;
        return y0 + ((p - x0) / (x1 - x0)) * (y1 - y0);
      };
    }
    default:
      return `unknown transform ${String((t as { kind: unknown }).kind)}`;
  }
}
