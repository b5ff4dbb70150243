import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './internal/vector.js';
import { type IndexHit, type IndexSearchOptions, QueryIndex, tokenize } from './QuerySourceIndex.js';

/**
 * QueryIndex.search against a reference: the straightforward algorithm it was optimised from (one
 * scalar pass per posting, tombstones skipped per posting, every touched document offered to the
 * same min-heap), reading the index's postings directly. The optimised search must return the same
 * hits: same ids, bit-identical scores, same order — ties included, which is why the reference keeps
 * the block size and the first-touch offer order. A brute-force pass over every document also checks
 * the scores themselves.
 */

interface Postings {
  readonly docs: Int32Array;
  readonly impact: Float32Array;
  readonly length: number;
  readonly live: number;
}
interface Internals {
  readonly terms: Map<string, Postings>;
  readonly ids: string[];
  readonly alive: Uint8Array;
  readonly slot: Map<string, number>;
}
interface Expansion {
  readonly p: Postings;
  readonly weight: number;
  readonly word: number;
}

const BLOCK = 16_384;

function lowerBound(p: Postings, doc: number): number {
  let lo = 0;
  let hi = p.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((p.docs[mid] as number) < doc) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function levenshtein(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/** The index's expansion, from its term map (whose order is the vocabulary's insertion order). */
function expandRef(I: Internals, word: string, wordIdx: number, o: IndexSearchOptions): Expansion[] {
  const out: Expansion[] = [];
  const exact = I.terms.get(word);
  if (exact !== undefined) out.push({ p: exact, weight: 1, word: wordIdx });
  const maxD = Math.min(Math.round(word.length * o.fuzzy), 2);
  if ((maxD === 0 && !o.prefix) || o.maxExpansions === 0) return out;
  const L = word.length;
  const cands: { p: Postings; len: number; weight: number }[] = [];
  for (const [t, p] of I.terms) {
    const len = t.length;
    if (t[0] !== word[0] || t === word || len < L - maxD || (!o.prefix && len > L + maxD)) continue;
    let w = 0;
    if (o.prefix && len > L && t.startsWith(word)) w = (0.375 * L) / len;
    if (maxD > 0 && Math.abs(len - L) <= maxD) {
      const d = levenshtein(word, t);
      if (d <= maxD) w = Math.max(w, (0.45 * L) / (L + d));
    }
    if (w > 0) cands.push({ p, len, weight: w });
  }
  // the vocabulary is scanned by length, then in insertion order; both sorts are stable
  cands.sort((a, b) => a.len - b.len);
  cands.sort((a, b) => b.weight - a.weight || b.p.live - a.p.live);
  for (const c of cands.slice(0, o.maxExpansions)) out.push({ p: c.p, weight: c.weight, word: wordIdx });
  return out;
}

/** The min-heap QueryIndex keeps its top k in (its offer rule decides ties). */
class RefTopK {
  readonly s: number[] = [];
  readonly d: number[] = [];
  constructor(readonly k: number) {}
  offer(score: number, doc: number): void {
    const s = this.s;
    const d = this.d;
    if (s.length < this.k) {
      let i = s.length;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if ((s[p] as number) <= score) break;
        s[i] = s[p] as number;
        d[i] = d[p] as number;
        i = p;
      }
      s[i] = score;
      d[i] = doc;
      return;
    }
    if (this.k === 0 || score <= (s[0] as number)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= s.length) break;
      const r = l + 1;
      const c = r < s.length && (s[r] as number) < (s[l] as number) ? r : l;
      if ((s[c] as number) >= score) break;
      s[i] = s[c] as number;
      d[i] = d[c] as number;
      i = c;
    }
    s[i] = score;
    d[i] = doc;
  }
}

interface Prepared {
  readonly exps: Expansion[];
  readonly fs: number[];
  readonly cut: number;
  readonly nw: number;
}

function prepare(I: Internals, query: string, k: number, o: IndexSearchOptions): Prepared | undefined {
  const words = [...new Set(tokenize(query))].slice(0, Math.min(o.maxQueryWords, 8));
  if (words.length === 0 || k <= 0) return undefined;
  const exps = words.flatMap((w, i) => expandRef(I, w, i, o));
  if (exps.length === 0) return undefined;
  const N = Math.max(1, I.slot.size);
  const count = (cut: number): number => exps.reduce((s, e) => s + e.p.length - lowerBound(e.p, cut), 0);
  let cut = 0;
  if (count(0) > o.maxPostings) {
    let lo = 0;
    let hi = I.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (count(mid) > o.maxPostings) lo = mid + 1;
      else hi = mid;
    }
    cut = lo;
  }
  const fs = exps.map((e) => e.weight * Math.log(1 + (N - e.p.live + 0.5) / (e.p.live + 0.5)));
  return { exps, fs, cut, nw: words.length };
}

function sortHits(out: IndexHit[]): IndexHit[] {
  return out.sort((a, b) => (b.score > a.score ? 1 : b.score < a.score ? -1 : a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
}

/** The reference search: blocks of BLOCK documents, every list scanned per block, then every touched document offered in first-touch order. */
function searchRef(index: QueryIndex, query: string, k: number, o: IndexSearchOptions): IndexHit[] {
  const I = index as unknown as Internals;
  const prep = prepare(I, query, k, o);
  if (prep === undefined) return [];
  const { exps, fs, cut, nw } = prep;
  const acc = new Float32Array(BLOCK);
  const hits = new Uint8Array(BLOCK);
  const top = new RefTopK(Math.min(k, I.slot.size));
  const pos = exps.map((e) => lowerBound(e.p, cut));
  for (let base = cut; base < I.ids.length; base += BLOCK) {
    const end = Math.min(I.ids.length, base + BLOCK);
    const touched: number[] = [];
    exps.forEach((e, x) => {
      let i = pos[x] as number;
      for (; i < e.p.length && (e.p.docs[i] as number) < end; i++) {
        const d = e.p.docs[i] as number;
        if (I.alive[d] === 0) continue;
        const j = d - base;
        if (hits[j] === 0) touched.push(j);
        hits[j] = (hits[j] as number) | (1 << e.word);
        acc[j] = (acc[j] as number) + (fs[x] as number) * (e.p.impact[i] as number);
      }
      pos[x] = i;
    });
    for (const j of touched) {
      let m = 0;
      for (let h = hits[j] as number; h !== 0; h &= h - 1) m++;
      top.offer(((acc[j] as number) * m) / nw, base + j);
      acc[j] = 0;
      hits[j] = 0;
    }
  }
  return sortHits(top.s.map((score, i) => ({ itemId: I.ids[top.d[i] as number] as string, score })));
}

/** Every live document's score in the window, by brute force (float32 accumulation in expansion order), best first. */
function allScores(index: QueryIndex, query: string, k: number, o: IndexSearchOptions): number[] {
  const I = index as unknown as Internals;
  const prep = prepare(I, query, k, o);
  if (prep === undefined) return [];
  const { exps, fs, cut, nw } = prep;
  const scores: number[] = [];
  for (let d = cut; d < I.ids.length; d++) {
    if (I.alive[d] === 0) continue;
    let acc = 0;
    let bits = 0;
    exps.forEach((e, x) => {
      const i = lowerBound(e.p, d);
      if (i < e.p.length && e.p.docs[i] === d) {
        acc = Math.fround(acc + (fs[x] as number) * (e.p.impact[i] as number));
        bits |= 1 << e.word;
      }
    });
    let m = 0;
    for (let h = bits; h !== 0; h &= h - 1) m++;
    if (m > 0) scores.push((acc * m) / nw);
  }
  return scores.sort((a, b) => b - a);
}

function expectSameHits(index: QueryIndex, query: string, k: number, o: IndexSearchOptions): void {
  const got = index.search(query, k, o);
  const want = searchRef(index, query, k, o);
  expect(got.map((h) => h.itemId)).toEqual(want.map((h) => h.itemId));
  // bit-identical scores (toEqual would let -0 and 0 pass; Object.is does not)
  expect(got.every((h, i) => Object.is(h.score, want[i]?.score))).toBe(true);
  expect(got.map((h) => h.score)).toEqual(allScores(index, query, k, o).slice(0, Math.min(k, index.size)));
}

// 'é' and 'ša' (š shares its low byte with a): non-ASCII words and the edit-distance fallback
const SYL = ['ka', 'lo', 'mi', 're', 'kal', 'mo', 'é', 'ša'];

/** Words of 1–3 syllables (many share prefixes and sit one or two edits apart), now and then a long one (> 32 chars). */
function wordFrom(r: () => number): string {
  let w = '';
  const n = r() < 0.02 ? 15 + Math.floor(r() * 3) : 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) w += SYL[Math.floor(r() * SYL.length)] as string;
  return w;
}

/** A query word: a corpus-like word, truncated, with a typo, or unknown. */
function queryWord(r: () => number): string {
  const w = wordFrom(r);
  const u = r();
  if (u < 0.2 && w.length > 1) return w.slice(0, 1 + Math.floor(r() * (w.length - 1)));
  if (u < 0.4 && w.length > 2) {
    const p = 1 + Math.floor(r() * (w.length - 1));
    return r() < 0.5 ? w.slice(0, p) + w.slice(p + 1) : w.slice(0, p) + 'x' + w.slice(p + 1);
  }
  if (u < 0.45) return 'zz' + w;
  return w;
}

const words = (r: () => number, lo: number, hi: number): string => {
  const out: string[] = [];
  for (let i = 0, n = lo + Math.floor(r() * (hi - lo + 1)); i < n; i++) out.push(wordFrom(r));
  return out.join(' ');
};

describe('QueryIndex.search', () => {
  it('returns the reference hits (ids, bit-identical scores, order with ties) on random corpora (property)', () => {
    const options = fc.record({
      fuzzy: fc.constantFrom(0, 0.2, 0.35, 0.6),
      prefix: fc.boolean(),
      maxExpansions: fc.integer({ min: 0, max: 10 }),
      maxPostings: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.constant(1e9)),
      maxQueryWords: fc.integer({ min: 1, max: 8 }),
    });
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 400 }),
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        fc.constantFrom({ title: 3, tags: 2, text: 1 }, { title: 1, tags: 1, text: 1 }, { title: 2, tags: 0, text: 1 }),
        options,
        fc.integer({ min: 1, max: 60 }),
        (seed, n, removeShare, boost, o, k) => {
          const r = mulberry32(seed);
          const index = new QueryIndex(boost);
          // fields of fixed lengths keep the running average lengths, hence the impacts, constant:
          // documents with the same words then score exactly the same (ties at the k-th place)
          const fixed = r() < 0.5;
          for (let i = 0; i < n; i++) {
            const fields = fixed
              ? { title: words(r, 2, 2), tags: [wordFrom(r)], text: '' }
              : { title: words(r, 1, 3), tags: words(r, 0, 2).split(' '), text: words(r, 0, 3) };
            index.add(`d${Math.floor(r() * n * 1.2)}`, fields); // some replace an item
            if (r() < removeShare) index.remove(`d${Math.floor(r() * n * 1.2)}`);
          }
          for (let q = 0; q < 5; q++) {
            const query = Array.from({ length: 1 + Math.floor(r() * 4) }, () => queryWord(r)).join(' ');
            expectSameHits(index, query, k, o);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('returns the reference hits across many blocks, budget cut-offs, tombstones and compaction', () => {
    const r = mulberry32(20_240_601);
    for (const [n, removeShare] of [
      [40_000, 0],
      [52_000, 0.04],
      [37_000, 0.6], // tombstones outnumber live items: compacts, then keeps some
    ] as const) {
      const index = new QueryIndex({ title: 3, tags: 2, text: 1 });
      for (let i = 0; i < n; i++) {
        // half the items share one title: equal scores spread over every block
        const title = i % 2 === 0 ? 'kalo mire' : words(r, 1, 4);
        index.add(`i${i}`, { title, tags: words(r, 0, 2).split(' '), text: '' });
      }
      for (let i = 0; i < n * removeShare; i++) index.remove(`i${Math.floor(r() * n)}`);
      for (let q = 0; q < 25; q++) {
        const query = q % 5 === 0 ? 'kalo' : Array.from({ length: 1 + Math.floor(r() * 3) }, () => queryWord(r)).join(' ');
        const o: IndexSearchOptions = {
          fuzzy: r() < 0.5 ? 0.2 : 0.4,
          prefix: r() < 0.7,
          maxExpansions: 8,
          maxPostings: [500, 5_000, 30_000, 200_000][q % 4] as number,
          maxQueryWords: 8,
        };
        expectSameHits(index, query, [1, 10, 300][q % 3] as number, o);
      }
    }
  });
});
