/** Formats a number the way the derivation chains print it: `12 400`, `4.44`, `0.317`. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) {
    const s = Math.round(n).toString();
    return s.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  }
  if (abs >= 100 || Number.isInteger(n)) return String(Math.round(n * 10) / 10);
  if (abs >= 1) return (Math.round(n * 100) / 100).toString();
  return Number(n.toPrecision(3)).toString();
}

/** `ceil` that tolerates floating-point dust (3.0000000001 → 3). */
export function ceilSafe(n: number): number {
  return Math.ceil(n - 1e-9);
}
