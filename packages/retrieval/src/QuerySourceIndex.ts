import { IdTable } from '@recspine/core';
/**
 * The inverted index behind {@link QuerySource}: BM25 field-weighted postings in typed arrays,
 * with query-term expansion (prefix, fuzzy) and a hard budget on the postings one search reads.
 *
 * Hand-written on purpose. MiniSearch (the previous engine) scores every posting of every term
 * through Maps and objects: 400–1 500 ms per two-word query at 1M items. FlexSearch 0.8 was measured
 * in bench/query.ts's first cut (Document index, forward tokenizer, limit 300): p99 53 ms at only
 * 200k items (its AND/suggest intersection still walks the long lists), 11 s to build and 540 MB,
 * and its Document `merge` concatenates fields instead of combining scores, so multi-field
 * relevance (title vs tags boosts) is lost. This index keeps BM25-style scoring and bounds the work.
 *
 * Internal (not exported from the package).
 */

/** Field weights. */
export interface FieldBoost {
  readonly title: number;
  readonly tags: number;
  readonly text: number;
}

/** Search limits and matching options. */
export interface IndexSearchOptions {
  /** Max edit distance as a fraction of the word length (rounded), 0 = exact only. */
  readonly fuzzy: number;
  /** Expand each query word to the indexed terms it is a prefix of. */
  readonly prefix: boolean;
  /** Most expansions (prefix + fuzzy variants) kept per query word, best first. */
  readonly maxExpansions: number;
  /** Most postings read by one search; past it only the newest items are scored (see QuerySource). */
  readonly maxPostings: number;
  /** Most query words used (the rest are ignored). */
  readonly maxQueryWords: number;
}

/** One scored hit. */
export interface IndexHit {
  readonly itemId: string;
  readonly score: number;
}

const K1 = 1.2;
const B = 0.75;
const PREFIX_WEIGHT = 0.375; // MiniSearch's defaults, so scores compare
const FUZZY_WEIGHT = 0.45;
/**
 * Documents scored per block (accumulators of this size stay in L2). It also sets the order in which
 * documents are offered to the top-k heap (block by block, first-touch order within one), and that
 * order decides which of equally scored documents fill the last places: changing it changes results.
 */
const BLOCK = 16_384;
const TOKEN = /[\p{L}\p{N}]+/gu;

/** Lower-cased words of a text. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/** A term's postings: document indexes (ascending) and their BM25 field-weighted impacts. */
class Postings {
  docs = new Int32Array(4);
  impact = new Float32Array(4);
  length = 0;
  /** Live postings (document frequency for IDF). */
  live = 0;

  push(doc: number, w: number): void {
    if (this.length === this.docs.length) {
      const d = new Int32Array(this.length * 2);
      d.set(this.docs);
      this.docs = d;
      const im = new Float32Array(this.length * 2);
      im.set(this.impact);
      this.impact = im;
    }
    this.docs[this.length] = doc;
    this.impact[this.length] = w;
    this.length++;
    this.live++;
  }

  /** First position whose doc is ≥ `doc`. */
  lowerBound(doc: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.docs[mid] as number) < doc) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The vocabulary terms of one first character and one length, in insertion order, with their code
 * units packed in one array: the expansion scan compares those instead of reading each string
 * (scattered in the heap, about a cache miss per term; +17 % search time at 1M items, measured).
 */
class TermBucket {
  readonly terms: string[] = [];
  /** Each term's postings (no Map lookup per candidate). */
  readonly postings: Postings[] = [];
  units: Uint16Array;

  constructor(readonly len: number) {
    this.units = new Uint16Array(len * 4);
  }

  push(t: string, p: Postings): void {
    const off = this.terms.length * this.len;
    if (off + this.len > this.units.length) {
      const u = new Uint16Array(this.units.length * 2);
      u.set(this.units);
      this.units = u;
    }
    for (let i = 0; i < this.len; i++) this.units[off + i] = t.charCodeAt(i);
    this.terms.push(t);
    this.postings.push(p);
  }

  delete(t: string): void {
    const k = this.terms.indexOf(t);
    if (k < 0) return;
    this.units.copyWithin(k * this.len, (k + 1) * this.len, this.terms.length * this.len);
    this.terms.splice(k, 1);
    this.postings.splice(k, 1);
  }
}

/** Levenshtein distance of `a` and `b` if ≤ `max`, else `max + 1` (banded, early exit). */
function boundedLevenshtein(a: string, b: string, max: number, row: Int32Array): number {
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > max) return max + 1;
  for (let j = 0; j <= lb; j++) row[j] = j;
  for (let i = 1; i <= la; i++) {
    let prev = row[0] as number;
    row[0] = i;
    let best = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= lb; j++) {
      const cur = row[j] as number;
      const v = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (ca === b.charCodeAt(j - 1) ? 0 : 1));
      row[j] = v;
      prev = cur;
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
  }
  return row[lb] as number;
}

/**
 * Same result as {@link boundedLevenshtein} for a pattern of ≤ 32 characters, whose per-character
 * bit masks `keys`/`masks` hold (see {@link QueryIndex.setPattern}), against the `lb` code units of
 * `b` from `off`: Myers' bit-parallel algorithm in Hyyrö's edit-distance form computes one whole DP
 * column per character. The vocabulary scan runs it on every same-letter term of a close length:
 * with the DP there, a search at 1M items took +38 % (measured).
 */
function bitLevenshtein(la: number, b: Uint16Array, off: number, lb: number, max: number, keys: Int32Array, masks: Int32Array): number {
  if (Math.abs(la - lb) > max) return max + 1;
  const high = 1 << (la - 1);
  let pv = -1; // bits above the pattern are junk: carries and shifts only move upwards
  let mv = 0;
  let dist = la;
  for (let j = 0; j < lb; j++) {
    const c = b[off + j] as number;
    const eq = keys[c & 255] === c ? (masks[c & 255] as number) : 0;
    const xv = eq | mv;
    const xh = (((eq & pv) + pv) ^ pv) | eq;
    let ph = mv | ~(xh | pv);
    let mh = pv & xh;
    if ((ph & high) !== 0) dist++;
    else if ((mh & high) !== 0) dist--;
    ph = (ph << 1) | 1;
    mh <<= 1;
    pv = mh | ~(xv | ph);
    mv = ph & xv;
    // the last row moves by ≤ 1 per column: past `max` with too few columns left to come back
    if (dist - (lb - 1 - j) > max) return max + 1;
  }
  return dist <= max ? dist : max + 1;
}

interface Expansion {
  readonly p: Postings;
  readonly weight: number;
  readonly word: number;
}

/** First position in `docs[i, n)` whose document is ≥ `end` (galloping: the block's run is short or long). */
function seek(docs: Int32Array, i: number, n: number, end: number): number {
  let lo = i;
  let hi = i;
  let step = 1;
  while (hi < n && (docs[hi] as number) < end) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  if (hi > n) hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((docs[mid] as number) < end) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Min-heap top-k over (score, doc) kept in two parallel arrays. */
class TopK {
  readonly s: Float64Array;
  readonly d: Int32Array;
  n = 0;
  constructor(readonly k: number) {
    this.s = new Float64Array(k);
    this.d = new Int32Array(k);
  }
  offer(score: number, doc: number): void {
    if (this.n < this.k) {
      let i = this.n++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if ((this.s[p] as number) <= score) break;
        this.s[i] = this.s[p] as number;
        this.d[i] = this.d[p] as number;
        i = p;
      }
      this.s[i] = score;
      this.d[i] = doc;
      return;
    }
    if (score <= (this.s[0] as number)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      const c = r < this.n && (this.s[r] as number) < (this.s[l] as number) ? r : l;
      if ((this.s[c] as number) >= score) break;
      this.s[i] = this.s[c] as number;
      this.d[i] = this.d[c] as number;
      i = c;
    }
    this.s[i] = score;
    this.d[i] = doc;
  }
}

/**
 * Inverted index over title, tags and text. Documents get increasing internal indexes; a replaced
 * or removed item leaves a tombstone that {@link QueryIndex.compact} reclaims (run automatically
 * once tombstones outnumber live items).
 */
export class QueryIndex {
  private readonly terms = new Map<string, Postings>();
  /** Vocabulary bucketed by first character, then by length, for fuzzy and prefix expansion. */
  private readonly vocab = new Map<string, TermBucket[]>();
  private ids: string[] = [];
  private alive = new Uint8Array(1024);
  private readonly slot = new IdTable();
  private lengthSum = { title: 0, tags: 0, text: 0 };
  private dead = 0;
  private readonly acc = new Float32Array(BLOCK + 1); // + 1: the spare slot padding `touched`
  private readonly hits = new Uint8Array(BLOCK + 1);
  private readonly touched = new Int32Array(BLOCK + 3); // + 3: padding to a multiple of 4
  private readonly lev = new Int32Array(256);
  /** {@link bitLevenshtein}'s pattern: char code (-1 = none) and bit mask per low byte of a char code. */
  private readonly peqKeys = new Int32Array(256).fill(-1);
  private readonly peqMasks = new Int32Array(256);

  constructor(private readonly boost: FieldBoost) {}

  get size(): number {
    return this.slot.size;
  }

  has(itemId: string): boolean {
    return this.slot.has(itemId);
  }

  /** Adds or replaces a document. */
  add(itemId: string, fields: { title: string; tags: readonly string[]; text: string }): void {
    if (this.slot.has(itemId)) this.remove(itemId);
    const doc = this.ids.length;
    this.ids.push(itemId);
    if (doc >= this.alive.length) this.grow(doc + 1);
    this.alive[doc] = 1;
    this.slot.set(itemId, doc);
    const title = tokenize(fields.title);
    const tags = fields.tags.flatMap(tokenize);
    const text = tokenize(fields.text);
    this.lengthSum.title += title.length;
    this.lengthSum.tags += tags.length;
    this.lengthSum.text += text.length;
    const n = this.slot.size;
    const w = new Map<string, number>();
    const field = (toks: string[], boost: number, sum: number): void => {
      if (toks.length === 0 || boost === 0) return;
      const tf = new Map<string, number>();
      for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1);
      // BM25 term-frequency saturation with length normalisation against the running average length
      const norm = K1 * (1 - B + (B * toks.length) / Math.max(1, sum / n));
      for (const [t, f] of tf) w.set(t, (w.get(t) ?? 0) + (boost * (f * (K1 + 1))) / (f + norm));
    };
    field(title, this.boost.title, this.lengthSum.title);
    field(tags, this.boost.tags, this.lengthSum.tags);
    field(text, this.boost.text, this.lengthSum.text);
    for (const [t, imp] of w) {
      let p = this.terms.get(t);
      if (p === undefined) {
        p = new Postings();
        this.terms.set(t, p);
        let byLen = this.vocab.get(t[0] as string);
        if (byLen === undefined) this.vocab.set(t[0] as string, (byLen = []));
        (byLen[t.length] ??= new TermBucket(t.length)).push(t, p);
      }
      p.push(doc, imp);
    }
  }

  /** Removes a document (tombstone); unknown ids are ignored. */
  remove(itemId: string): void {
    const doc = this.slot.get(itemId);
    if (doc === undefined) return;
    this.slot.delete(itemId);
    this.alive[doc] = 0;
    this.dead++;
    for (const p of this.termsOfDoc(doc)) p.live--;
    if (this.dead > Math.max(1024, this.slot.size)) this.compact();
  }

  /**
   * The postings lists holding `doc`. A removal is rare next to searches, so rather than keep a
   * forward index (memory per item) we re-derive a removed doc's terms by a binary search in each
   * list: O(vocabulary · log postings).
   */
  private termsOfDoc(doc: number): Postings[] {
    const out: Postings[] = [];
    for (const p of this.terms.values()) {
      const i = p.lowerBound(doc);
      if (i < p.length && p.docs[i] === doc) out.push(p);
    }
    return out;
  }

  /** Drops tombstones: renumbers live documents (order kept) and filters every postings list. */
  compact(): void {
    const remap = new Int32Array(this.ids.length);
    const ids: string[] = [];
    for (let d = 0; d < this.ids.length; d++) {
      if (this.alive[d] === 1) {
        remap[d] = ids.length;
        ids.push(this.ids[d] as string);
      } else remap[d] = -1;
    }
    for (const [t, p] of this.terms) {
      let w = 0;
      for (let i = 0; i < p.length; i++) {
        const nd = remap[p.docs[i] as number] as number;
        if (nd < 0) continue;
        p.docs[w] = nd;
        p.impact[w] = p.impact[i] as number;
        w++;
      }
      p.length = w;
      if (w === 0) {
        this.terms.delete(t);
        this.vocab.get(t[0] as string)?.[t.length]?.delete(t);
      }
    }
    this.ids = ids;
    this.alive.fill(0);
    this.alive.fill(1, 0, ids.length);
    this.slot.clear();
    ids.forEach((id, i) => this.slot.set(id, i));
    this.dead = 0;
  }

  private grow(min: number): void {
    let cap = this.alive.length;
    while (cap < min) cap *= 2;
    const a = new Uint8Array(cap);
    a.set(this.alive);
    this.alive = a;
  }

  /**
   * Loads `word` as {@link bitLevenshtein}'s pattern. False (and nothing loaded) when it is longer
   * than 32 or two of its characters share a low byte: the caller then falls back to the DP.
   */
  private setPattern(word: string): boolean {
    const keys = this.peqKeys;
    const masks = this.peqMasks;
    if (word.length > 32) return false;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      const s = c & 255;
      if (keys[s] === c) masks[s] = (masks[s] as number) | (1 << i);
      else if (keys[s] === -1) {
        keys[s] = c;
        masks[s] = 1 << i;
      } else {
        for (let j = 0; j < i; j++) keys[word.charCodeAt(j) & 255] = -1;
        return false;
      }
    }
    return true;
  }

  /**
   * Exact term plus its best prefix/fuzzy variants, capped at `maxExpansions`. Variants share the
   * word's first character (Elasticsearch's `prefix_length: 1`) and are at most 2 edits away
   * (Elasticsearch's `AUTO` cap): this keeps the scan to one first-letter bucket of the vocabulary.
   */
  private expand(word: string, wordIdx: number, o: IndexSearchOptions): Expansion[] {
    const out: Expansion[] = [];
    const exact = this.terms.get(word);
    if (exact !== undefined) out.push({ p: exact, weight: 1, word: wordIdx });
    const maxD = Math.min(Math.round(word.length * o.fuzzy), 2);
    if ((maxD === 0 && !o.prefix) || o.maxExpansions === 0) return out;
    const cands: { p: Postings; weight: number }[] = [];
    const L = word.length;
    const bits = maxD > 0 && this.setPattern(word);
    const byLen = this.vocab.get(word[0] as string) ?? [];
    const last = byLen.length - 1;
    for (let len = Math.max(1, L - maxD); len <= (o.prefix ? last : Math.min(last, L + maxD)); len++) {
      const bucket = byLen[len];
      const prefix = o.prefix && len > L;
      const fuzzy = maxD > 0 && Math.abs(len - L) <= maxD;
      if (bucket === undefined || !(prefix || fuzzy)) continue;
      const units = bucket.units;
      for (let t = 0, off = 0; t < bucket.terms.length; t++, off += len) {
        let w = 0;
        if (prefix) {
          let i = 1; // same first character: the bucket's
          while (i < L && units[off + i] === word.charCodeAt(i)) i++;
          if (i === L) w = (PREFIX_WEIGHT * L) / len;
        }
        if (fuzzy) {
          // first chars equal: one edit fewer to look for
          const d = bits
            ? bitLevenshtein(L, units, off, len, maxD, this.peqKeys, this.peqMasks)
            : boundedLevenshtein(word, bucket.terms[t] as string, maxD, this.lev);
          if (d === 0) continue; // the word itself (the exact term)
          if (d <= maxD) w = Math.max(w, (FUZZY_WEIGHT * L) / (L + d));
        }
        if (w > 0) cands.push({ p: bucket.postings[t] as Postings, weight: w });
      }
    }
    if (bits) for (let i = 0; i < L; i++) this.peqKeys[word.charCodeAt(i) & 255] = -1;
    // postings ride along: no two Map lookups per comparison
    cands.sort((a, b) => b.weight - a.weight || b.p.live - a.p.live);
    for (const c of cands.slice(0, o.maxExpansions)) out.push({ p: c.p, weight: c.weight, word: wordIdx });
    return out;
  }

  /**
   * Top `k` documents for `query`: score = coord · Σ_variants weight · idf · impact, where coord is
   * the fraction of query words the document matched (so items matching more words rank first).
   * Reads at most `maxPostings` postings: when the query's lists are longer, it scores exactly the
   * newest documents whose postings fit the budget (one docIndex cut-off shared by every list).
   */
  search(query: string, k: number, o: IndexSearchOptions): IndexHit[] {
    const words = [...new Set(tokenize(query))].slice(0, Math.min(o.maxQueryWords, 8));
    if (words.length === 0 || k <= 0) return [];
    const exps = words.flatMap((w, i) => this.expand(w, i, o));
    if (exps.length === 0) return [];
    const nDocs = this.ids.length;
    const N = Math.max(1, this.slot.size);
    // shared cut-off: largest window [cut, nDocs) whose postings fit the budget
    const count = (cut: number): number => exps.reduce((s, e) => s + e.p.length - e.p.lowerBound(cut), 0);
    let cut = 0;
    if (count(0) > o.maxPostings) {
      let lo = 0;
      let hi = nDocs;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (count(mid) > o.maxPostings) lo = mid + 1;
        else hi = mid;
      }
      cut = lo;
    }
    // Block-at-a-time: every list is scanned over one window of BLOCK documents before moving on,
    // so the accumulators (BLOCK floats) stay in cache; a 1M-float accumulator missed it (≈ 5× slower).
    // "+x %" below: mean search time over bench/query.ts's queries at 1M items without that trick.
    const acc = this.acc;
    const hits = this.hits;
    const touched = this.touched;
    const alive = this.alive;
    const dead = this.dead;
    const top = new TopK(Math.min(k, this.slot.size));
    if (top.k === 0) return [];
    const nw = words.length;
    const nx = exps.length;
    const pos = Int32Array.from(exps, (e) => e.p.lowerBound(cut));
    const fs = exps.map((e) => e.weight * Math.log(1 + (N - e.p.live + 0.5) / (e.p.live + 0.5)));
    // A document enters the heap only if its score beats `thr` (the heap's minimum once it is full,
    // -∞ before): testing that first skips the offer (and the coverage count, and the division) for
    // the ~98 % of touched documents that cannot enter. Offering every one: +43 % (measured).
    let thr = -Infinity;
    for (let base = cut; base < nDocs; base += BLOCK) {
      const end = Math.min(nDocs, base + BLOCK);
      let nt = 0;
      for (let x = 0; x < nx; x++) {
        const e = exps[x] as Expansion;
        const f = fs[x] as number;
        const bit = 1 << e.word;
        const docs = e.p.docs;
        const imp = e.p.impact;
        let i = pos[x] as number;
        const stop = seek(docs, i, e.p.length, end);
        pos[x] = stop;
        // Unrolled by 4 (the postings of one list are distinct documents: the 4 are independent).
        // TurboFan (Node 20) re-checks each typed array's map and length and reloads its data pointer
        // on every iteration; unrolling shares that between 4 postings. Scalar loops: +36 % (measured).
        if (nt === 0) {
          // nothing touched yet in this block: every posting is a first touch (acc is 0, and 0 + v = v),
          // so no hits test (≈ 4 %: half the postings a bench query reads are first-list ones)
          for (; i + 3 < stop; i += 4) {
            const j0 = (docs[i] as number) - base;
            const j1 = (docs[i + 1] as number) - base;
            const j2 = (docs[i + 2] as number) - base;
            const j3 = (docs[i + 3] as number) - base;
            touched[nt] = j0;
            touched[nt + 1] = j1;
            touched[nt + 2] = j2;
            touched[nt + 3] = j3;
            nt += 4;
            hits[j0] = bit;
            hits[j1] = bit;
            hits[j2] = bit;
            hits[j3] = bit;
            acc[j0] = f * (imp[i] as number);
            acc[j1] = f * (imp[i + 1] as number);
            acc[j2] = f * (imp[i + 2] as number);
            acc[j3] = f * (imp[i + 3] as number);
          }
          for (; i < stop; i++) {
            const j = (docs[i] as number) - base;
            touched[nt++] = j;
            hits[j] = bit;
            acc[j] = f * (imp[i] as number);
          }
        } else {
          // Branch-free first-touch append ((h - 1) >>> 31 is 1 iff h === 0): whether a document was
          // already touched is data-dependent, so a branch there mispredicts. Branching: +15 % (measured).
          for (; i + 3 < stop; i += 4) {
            const j0 = (docs[i] as number) - base;
            const j1 = (docs[i + 1] as number) - base;
            const j2 = (docs[i + 2] as number) - base;
            const j3 = (docs[i + 3] as number) - base;
            const h0 = hits[j0] as number;
            const h1 = hits[j1] as number;
            const h2 = hits[j2] as number;
            const h3 = hits[j3] as number;
            hits[j0] = h0 | bit;
            hits[j1] = h1 | bit;
            hits[j2] = h2 | bit;
            hits[j3] = h3 | bit;
            touched[nt] = j0;
            nt += (h0 - 1) >>> 31;
            touched[nt] = j1;
            nt += (h1 - 1) >>> 31;
            touched[nt] = j2;
            nt += (h2 - 1) >>> 31;
            touched[nt] = j3;
            nt += (h3 - 1) >>> 31;
            acc[j0] = (acc[j0] as number) + f * (imp[i] as number);
            acc[j1] = (acc[j1] as number) + f * (imp[i + 1] as number);
            acc[j2] = (acc[j2] as number) + f * (imp[i + 2] as number);
            acc[j3] = (acc[j3] as number) + f * (imp[i + 3] as number);
          }
          for (; i < stop; i++) {
            const j = (docs[i] as number) - base;
            const h = hits[j] as number;
            touched[nt] = j;
            nt += (h - 1) >>> 31;
            hits[j] = h | bit;
            acc[j] = (acc[j] as number) + f * (imp[i] as number);
          }
        }
      }
      // Offers, in first-touch order (see BLOCK), 4 touched documents at a time like the scatter
      // (one at a time: +25 %, measured); `touched` is padded to a multiple of 4 with the spare slot
      // BLOCK (acc 0, never offered). Tombstones are dropped here, per touched document, not per posting.
      touched[nt] = BLOCK;
      touched[nt + 1] = BLOCK;
      touched[nt + 2] = BLOCK;
      for (let i = 0; i < nt; i += 4) {
        const j0 = touched[i] as number;
        const j1 = touched[i + 1] as number;
        const j2 = touched[i + 2] as number;
        const j3 = touched[i + 3] as number;
        const a0 = acc[j0] as number;
        const a1 = acc[j1] as number;
        const a2 = acc[j2] as number;
        const a3 = acc[j3] as number;
        // score = acc · m / nw ≤ acc (m ≤ nw, rounding is monotone): if no acc beats thr, none enters
        if (a0 > thr || a1 > thr || a2 > thr || a3 > thr) {
          for (let u = i; u < i + 4 && u < nt; u++) {
            const j = touched[u] as number;
            const a = acc[j] as number;
            if (a <= thr || (dead !== 0 && alive[base + j] === 0)) continue;
            let m = 0; // query words matched: set bits of hits
            for (let h = hits[j] as number; h !== 0; h &= h - 1) m++;
            const score = (a * m) / nw;
            if (score > thr) {
              top.offer(score, base + j);
              if (top.n === top.k) thr = top.s[0] as number;
            }
          }
        }
        acc[j0] = 0;
        acc[j1] = 0;
        acc[j2] = 0;
        acc[j3] = 0;
        hits[j0] = 0;
        hits[j1] = 0;
        hits[j2] = 0;
        hits[j3] = 0;
      }
    }
    const out: IndexHit[] = [];
    for (let i = 0; i < top.n; i++) out.push({ itemId: this.ids[top.d[i] as number] as string, score: top.s[i] as number });
    // compare, not subtract: no heap number per comparison
    return out.sort((a, b) => (b.score > a.score ? 1 : b.score < a.score ? -1 : a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
  }
}
