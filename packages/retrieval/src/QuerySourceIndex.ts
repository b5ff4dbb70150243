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
/** Documents scored per block (accumulators of this size stay in L2). */
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

interface Expansion {
  readonly p: Postings;
  readonly weight: number;
  readonly word: number;
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
  private readonly vocab = new Map<string, string[][]>();
  private ids: string[] = [];
  private alive = new Uint8Array(1024);
  private readonly slot = new Map<string, number>();
  private lengthSum = { title: 0, tags: 0, text: 0 };
  private dead = 0;
  private readonly acc = new Float32Array(BLOCK);
  private readonly hits = new Uint8Array(BLOCK);
  private readonly touched = new Int32Array(BLOCK);
  private readonly lev = new Int32Array(256);

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
        (byLen[t.length] ??= []).push(t);
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
        const bucket = this.vocab.get(t[0] as string)?.[t.length];
        if (bucket !== undefined) bucket.splice(bucket.indexOf(t), 1);
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
    const cands: { t: string; weight: number }[] = [];
    const L = word.length;
    const byLen = this.vocab.get(word[0] as string) ?? [];
    const last = byLen.length - 1;
    for (let len = Math.max(1, L - maxD); len <= (o.prefix ? last : Math.min(last, L + maxD)); len++) {
      const bucket = byLen[len];
      if (bucket === undefined) continue;
      for (const t of bucket) {
        if (t === word) continue;
        let w = 0;
        if (o.prefix && len > L && t.startsWith(word)) w = (PREFIX_WEIGHT * L) / len;
        if (maxD > 0 && Math.abs(len - L) <= maxD) {
          const d = boundedLevenshtein(word, t, maxD, this.lev); // first chars equal: one edit fewer to look for
          if (d <= maxD) w = Math.max(w, (FUZZY_WEIGHT * L) / (L + d));
        }
        if (w > 0) cands.push({ t, weight: w });
      }
    }
    cands.sort((a, b) => b.weight - a.weight || (this.terms.get(b.t)?.live ?? 0) - (this.terms.get(a.t)?.live ?? 0));
    for (const c of cands.slice(0, o.maxExpansions)) out.push({ p: this.terms.get(c.t) as Postings, weight: c.weight, word: wordIdx });
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
    const acc = this.acc;
    const hits = this.hits;
    const touched = this.touched;
    const alive = this.alive;
    const top = new TopK(Math.min(k, this.slot.size));
    const nw = words.length;
    const pos = exps.map((e) => e.p.lowerBound(cut));
    const fs = exps.map((e) => e.weight * Math.log(1 + (N - e.p.live + 0.5) / (e.p.live + 0.5)));
    for (let base = cut; base < nDocs; base += BLOCK) {
      const end = Math.min(nDocs, base + BLOCK);
      let nt = 0;
      for (let x = 0; x < exps.length; x++) {
        const e = exps[x] as Expansion;
        const f = fs[x] as number;
        const bit = 1 << e.word;
        const docs = e.p.docs;
        const imp = e.p.impact;
        const n = e.p.length;
        let i = pos[x] as number;
        for (; i < n; i++) {
          const d = docs[i] as number;
          if (d >= end) break;
          if (alive[d] === 0) continue;
          const j = d - base;
          if (hits[j] === 0) touched[nt++] = j;
          hits[j] = (hits[j] as number) | bit;
          acc[j] = (acc[j] as number) + f * (imp[i] as number);
        }
        pos[x] = i;
      }
      for (let i = 0; i < nt; i++) {
        const j = touched[i] as number;
        let h = hits[j] as number;
        let m = 0;
        while (h !== 0) {
          h &= h - 1;
          m++;
        }
        top.offer(((acc[j] as number) * m) / nw, base + j);
        acc[j] = 0;
        hits[j] = 0;
      }
    }
    const out: IndexHit[] = [];
    for (let i = 0; i < top.n; i++) out.push({ itemId: this.ids[top.d[i] as number] as string, score: top.s[i] as number });
    // compare, not subtract: no heap number per comparison
    return out.sort((a, b) => (b.score > a.score ? 1 : b.score < a.score ? -1 : a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
  }
}
