import type { Candidate, ReRanker, StageContext } from '@recspine/core';
import { Scratch } from './internal/scratch.js';
import { configCheck, configNumber } from './internal/validate.js';

/** What a cap rule counts: the creator, the category, or any key derived from the candidate. */
export type CapKey = 'creator' | 'category' | ((c: Candidate) => string | undefined);

/** One cap: at most `maxPerWindow` items with the same key in any `window` consecutive positions. */
export interface CapRule {
  readonly by: CapKey;
  readonly maxPerWindow: number;
  readonly window: number;
}

/** Options of {@link CapReranker}. */
export interface CapOptions {
  /** Stage name. Default `cap`. */
  readonly name?: string;
  /** The caps; all must hold at once. At least one. */
  readonly rules: readonly CapRule[];
  /**
   * What happens to items that cannot be placed without breaking a cap:
   * - `drop` (default): they are dropped, so every window of the whole output holds every cap.
   *   The slate may then be shorter than `limit` (the core contract allows deliberate drops).
   * - `append`: they are appended after the capped prefix, in input order, so no item is lost;
   *   caps then hold only in the prefix, which ends where the first appended item starts.
   */
  readonly overflow?: 'drop' | 'append';
}

/**
 * Creator / category caps: at most N items with the same key within any W consecutive positions
 * of the output (e.g. "≤ 1 per creator in any 4 slots", "≤ 3 per category in any 6").
 *
 * Greedy and order-preserving: each position takes the first remaining candidate, in input order,
 * that keeps every cap; so the output is the input with items pushed down only as far as a cap
 * requires. It is applied over the whole output (slate and reserve) so the reserve that backfills
 * the slate is capped too. Candidates whose key is undefined are never capped.
 *
 * Place it after re-rankers that reorder (MMR, exploration): a later reorder could break the caps.
 * Policy filters that remove items from the middle of a capped list can merge two windows; run a
 * {@link PolicyPrefilter} first in the chain so the final policy pass removes nothing.
 *
 * Cost: O(n·w) in the typical case, O(n²) key checks in the worst case (200² = 40 k, cheap).
 *
 * @example
 * ```ts
 * const caps = new CapReranker({ rules: [
 *   { by: 'creator', maxPerWindow: 1, window: 4 },
 *   { by: 'category', maxPerWindow: 3, window: 6 },
 * ] });
 * ```
 */
export class CapReranker implements ReRanker {
  readonly name: string;
  private readonly rules: readonly { key: (c: Candidate) => string | undefined; max: number; window: number }[];
  private readonly overflow: 'drop' | 'append';
  private readonly scratch = new Scratch();
  private readonly interned = new Map<string, number>();

  constructor(options: CapOptions) {
    this.name = options.name ?? 'cap';
    configCheck(Array.isArray(options.rules) && options.rules.length > 0, 'rules', 'must be a non-empty array');
    this.rules = options.rules.map((r, i) => ({
      key: keyFn(r.by, `rules[${i}].by`),
      max: configNumber(r.maxPerWindow, 0, `rules[${i}].maxPerWindow`, 1, 1e6, true),
      window: configNumber(r.window, 0, `rules[${i}].window`, 1, 1e6, true),
    }));
    this.overflow = options.overflow ?? 'drop';
    configCheck(this.overflow === 'drop' || this.overflow === 'append', 'overflow', "must be 'drop' or 'append'");
  }

  rerank(_ctx: StageContext, ranked: Candidate[], _limit: number): Candidate[] {
    const n = ranked.length;
    if (n === 0) return ranked;
    const R = this.rules.length;
    const s = this.scratch;
    // keys[r*n + i]: interned key of candidate i under rule r (-1 = uncapped).
    const keys = s.int32(0, R * n);
    const interned = this.interned;
    interned.clear();
    for (let r = 0; r < R; r++) {
      const fn = (this.rules[r] as { key: (c: Candidate) => string | undefined }).key;
      for (let i = 0; i < n; i++) {
        const k = fn(ranked[i] as Candidate);
        if (k === undefined) {
          keys[r * n + i] = -1;
          continue;
        }
        let id = interned.get(k);
        if (id === undefined) {
          id = interned.size;
          interned.set(k, id);
        }
        keys[r * n + i] = id;
      }
    }
    const K = Math.max(1, interned.size);
    const counts = s.int32(1, R * K);
    counts.fill(0, 0, R * K);
    const placed = s.flags(0, n);
    const order = s.int32(2, n); // input index placed at each output position

    const out: Candidate[] = [];
    let start = 0;
    while (out.length < n) {
      let pick = -1;
      for (let i = start; i < n && pick < 0; i++) {
        if (placed[i] === 1) continue;
        let ok = true;
        for (let r = 0; r < R && ok; r++) {
          const key = keys[r * n + i] as number;
          if (key >= 0 && (counts[r * K + key] as number) >= (this.rules[r] as { max: number }).max) ok = false;
        }
        if (ok) pick = i;
      }
      if (pick < 0) break; // nothing fits now, and nothing will: the windows only slide when we place
      placed[pick] = 1;
      const pos = out.length;
      order[pos] = pick;
      out.push(ranked[pick] as Candidate);
      for (let r = 0; r < R; r++) {
        const key = keys[r * n + pick] as number;
        if (key >= 0) counts[r * K + key] = (counts[r * K + key] as number) + 1;
        // The position leaving the window before the next placement: pos - window + 1.
        const leave = pos - (this.rules[r] as { window: number }).window + 1;
        if (leave >= 0) {
          const lk = keys[r * n + (order[leave] as number)] as number;
          if (lk >= 0) counts[r * K + lk] = (counts[r * K + lk] as number) - 1;
        }
      }
      while (start < n && placed[start] === 1) start++;
    }
    if (this.overflow === 'append' && out.length < n) {
      for (let i = 0; i < n; i++) if (placed[i] !== 1) out.push(ranked[i] as Candidate);
    }
    return out;
  }
}

function keyFn(by: CapKey, field: string): (c: Candidate) => string | undefined {
  if (by === 'creator') return (c) => c.meta?.creatorId;
  if (by === 'category') return (c) => c.meta?.category;
  configCheck(typeof by === 'function', field, "must be 'creator', 'category' or a function");
  return by;
}
