/**
 * QuerySource at catalog scale: index build time, memory and search latency of the typed-array
 * index (src/QuerySourceIndex.ts) against MiniSearch (the engine QuerySource used before), plus
 * overlap@100 of their top-100s as a relevance sanity figure.
 *
 *   nice -n 10 npx tsx --expose-gc bench/query.ts --items 1000000 --baseline-items 200000 --queries 1000
 *
 * Data: synthetic titles/tags shaped like the video-platform example's (itemText.ts): 3–5 title
 * words from a 300-word vocabulary with Zipf(0.8) frequencies (the commonest words are in ~5–8 % of
 * titles), 3–4 tags from the same vocabulary, a creator tag, and a rare word in 30 % of titles.
 * Queries: 1–3 words; 10 % with a typo, 15 % with a truncated last word, 10 % with a rare word.
 *
 * MiniSearch is measured on the first `--baseline-items` items (default 200k: at 1M its build takes
 * minutes and a search up to ~1.5 s); the new index is measured on both sizes, so the ratio and the
 * overlap compare like with like.
 *
 * Writes bench-results/retrieval-query.json.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import MiniSearch from 'minisearch';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import { ctxFor } from '../test/helpers.js';
import { QuerySource } from '../src/QuerySource.js';
import { rng } from './data.js';

const SYL = ['ka', 'lo', 'mi', 're', 'tu', 'san', 'vel', 'dor', 'pi', 'qu', 'zen', 'bra', 'ish', 'on', 'gle', 'tar', 'mo', 'nex'];

/** A pronounceable pseudo-word of 2–4 syllables. */
function word(r: () => number): string {
  const n = 2 + Math.floor(r() * 3);
  let w = '';
  for (let i = 0; i < n; i++) w += SYL[Math.floor(r() * SYL.length)] as string;
  return w;
}

/** Draws an index in [0, n) with P(i) ∝ 1/(i+1)^s (inverse CDF over a precomputed table). */
function zipf(n: number, s: number): (r: () => number) => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf[i] = acc += 1 / Math.pow(i + 1, s);
  for (let i = 0; i < n; i++) cdf[i] = (cdf[i] as number) / acc;
  return (r) => {
    const u = r();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface BenchItem {
  readonly itemId: string;
  readonly title: string;
  readonly tags: string[];
}

interface QueryCorpus {
  readonly items: BenchItem[];
  readonly vocab: string[];
  readonly rare: string[];
  readonly queries: string[];
}

/**
 * `n` items: a title of 3–5 words drawn from a 300-word vocabulary (Zipf s = 0.8, so the top words
 * are in ~5–8 % of titles, like the example's), 3–4 tags from the same vocabulary, a creator tag
 * (`n / 50` creators) and, for 30 % of items, one rare word out of 20 000. Queries: 1–3 vocabulary
 * words; 10 % with a typo (one character dropped or substituted), 15 % with a truncated last word
 * (search-as-you-type), 10 % with a rare word.
 */
function queryCorpus(n: number, nQueries: number, seed = 7): QueryCorpus {
  const r = rng(seed);
  const seen = new Set<string>();
  const fresh = (): string => {
    for (;;) {
      const w = word(r);
      if (!seen.has(w)) {
        seen.add(w);
        return w;
      }
    }
  };
  const vocab = Array.from({ length: 300 }, fresh);
  const rare = Array.from({ length: 20_000 }, fresh);
  const pick = zipf(vocab.length, 0.8);
  const creators = Math.max(1, Math.floor(n / 50));
  const items: BenchItem[] = new Array<BenchItem>(n);
  for (let i = 0; i < n; i++) {
    const tw = 3 + Math.floor(r() * 3);
    const title: string[] = [];
    for (let j = 0; j < tw; j++) title.push(vocab[pick(r)] as string);
    if (r() < 0.3) title.push(rare[Math.floor(r() * rare.length)] as string);
    const tags: string[] = [];
    const nt = 3 + Math.floor(r() * 2);
    for (let j = 0; j < nt; j++) tags.push(vocab[pick(r)] as string);
    tags.push(`c${Math.floor(r() * creators)}`);
    items[i] = { itemId: `v${i}`, title: title.join(' '), tags };
  }
  const queries: string[] = [];
  for (let q = 0; q < nQueries; q++) {
    const nw = 1 + Math.floor(r() * 3);
    const words: string[] = [];
    for (let j = 0; j < nw; j++) words.push(vocab[pick(r)] as string);
    const u = r();
    if (u < 0.1) {
      const j = Math.floor(r() * nw);
      const w = words[j] as string;
      const p = 1 + Math.floor(r() * (w.length - 2));
      words[j] = r() < 0.5 ? w.slice(0, p) + w.slice(p + 1) : w.slice(0, p) + 'x' + w.slice(p + 1);
    } else if (u < 0.25) {
      const w = words[nw - 1] as string;
      words[nw - 1] = w.slice(0, Math.max(3, Math.ceil(w.length / 2)));
    } else if (u < 0.35) {
      words[Math.floor(r() * nw)] = rare[Math.floor(r() * rare.length)] as string;
    }
    queries.push(words.join(' '));
  }
  return { items, vocab, rare, queries };
}

const flags = parseFlags();
const nItems = Number(flags.items ?? 1_000_000);
const nBase = Math.min(nItems, Number(flags['baseline-items'] ?? 200_000));
const nQueries = Number(flags.queries ?? 1000);
const limit = Number(flags.limit ?? 300);
const gc = (globalThis as { gc?: () => void }).gc;

function memMb(): { rss: number; heap: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss / 2 ** 20, heap: (m.heapUsed + m.arrayBuffers) / 2 ** 20 };
}

const corpus = queryCorpus(nItems, nQueries);
const ctxs = corpus.queries.map((query) => ctxFor({ slot: 'search', query }));

interface Measured {
  readonly buildS: number;
  readonly rssDeltaMb: number;
  /** heapUsed + arrayBuffers delta: robust to RSS not shrinking after an earlier phase freed memory. */
  readonly heapDeltaMb: number;
  readonly latency: ReturnType<LatencyRecorder['summaryMs']>;
  readonly top: string[][];
  readonly meanHits: number;
  /** MiniSearch only: its scores of the new index's top-100 items, and its 100th-best score, per query. */
  readonly scores?: Map<string, number>[];
  readonly cutoff?: number[];
}

async function measureNew(n: number): Promise<Measured> {
  const before = memMb();
  const t0 = performance.now();
  const qs = new QuerySource({ boost: { title: 2, tags: 1 } });
  for (let i = 0; i < n; i++) qs.addItem(corpus.items[i] as BenchItem);
  const buildS = (performance.now() - t0) / 1000;
  const after = memMb();
  const rssDeltaMb = after.rss - before.rss;
  const heapDeltaMb = after.heap - before.heap;
  const rec = new LatencyRecorder();
  const top: string[][] = [];
  let hits = 0;
  for (const ctx of ctxs) await qs.retrieve(ctx, limit); // warm-up (JIT)
  for (const ctx of ctxs) {
    const t = performance.now();
    const got = await qs.retrieve(ctx, limit);
    rec.recordMs(performance.now() - t);
    hits += got.length;
    top.push(got.slice(0, 100).map((g) => g.itemId));
  }
  return { buildS, rssDeltaMb, heapDeltaMb, latency: rec.summaryMs(), top, meanHits: hits / ctxs.length };
}

function measureMiniSearch(n: number, probe: string[][]): Measured {
  const before = memMb();
  const t0 = performance.now();
  // exactly the configuration QuerySource used before (fuzzy 0.2, prefix, OR), with the example's boosts
  const ms = new MiniSearch<BenchItem & { id: string }>({
    fields: ['title', 'tags'],
    storeFields: [],
    extractField: (doc, field) => {
      const v = (doc as unknown as Record<string, unknown>)[field];
      return Array.isArray(v) ? v.join(' ') : ((v as string | undefined) ?? '');
    },
    searchOptions: { boost: { title: 2, tags: 1 }, fuzzy: 0.2, prefix: true, combineWith: 'OR' },
  });
  for (let i = 0; i < n; i++) ms.add({ ...(corpus.items[i] as BenchItem), id: (corpus.items[i] as BenchItem).itemId });
  const buildS = (performance.now() - t0) / 1000;
  const after = memMb();
  const rssDeltaMb = after.rss - before.rss;
  const heapDeltaMb = after.heap - before.heap;
  const rec = new LatencyRecorder();
  const top: string[][] = [];
  const scores: Map<string, number>[] = [];
  const cutoff: number[] = [];
  let hits = 0;
  for (const q of corpus.queries) {
    const t = performance.now();
    const all = ms.search(q);
    const got = all.slice(0, limit);
    rec.recordMs(performance.now() - t);
    hits += got.length;
    top.push(got.slice(0, 100).map((g) => String(g.id)));
    const want = new Set(probe[scores.length]);
    scores.push(new Map(all.filter((g) => want.has(String(g.id))).map((g) => [String(g.id), g.score])));
    cutoff.push(all[Math.min(99, all.length - 1)]?.score ?? 0);
  }
  return { buildS, rssDeltaMb, heapDeltaMb, latency: rec.summaryMs(), top, meanHits: hits / corpus.queries.length, scores, cutoff };
}

/** Mean |A ∩ B| / min(100, |B|) over queries with a non-empty baseline top-100. */
function overlap(a: string[][], b: string[][]): number {
  let s = 0;
  let n = 0;
  a.forEach((top, i) => {
    const base = b[i] as string[];
    if (base.length === 0) return;
    const set = new Set(base);
    s += top.filter((x) => set.has(x)).length / Math.min(100, base.length);
    n++;
  });
  return n === 0 ? 0 : s / n;
}

/**
 * Tie-aware agreement: the fraction of the new top-100 that MiniSearch scores at least as high as
 * its own 100th result (titles over a small vocabulary tie a lot, so which tied items fill a
 * top-100 is arbitrary and plain overlap under-counts agreement).
 */
function tieAwareOverlap(a: string[][], base: Measured): number {
  let s = 0;
  let n = 0;
  a.forEach((top, i) => {
    const sc = base.scores?.[i] as Map<string, number>;
    if ((base.top[i] as string[]).length === 0 || top.length === 0) return;
    const c = (base.cutoff?.[i] as number) * (1 - 1e-9);
    s += top.filter((x) => (sc.get(x) ?? 0) >= c).length / top.length;
    n++;
  });
  return n === 0 ? 0 : s / n;
}

const load = { before: loadavg() };
// the full size first, in a fresh process, so its RSS delta is not hidden by freed earlier phases
const newFull = await measureNew(nItems);
const newSmall = nItems > nBase ? await measureNew(nBase) : newFull;
const mini = measureMiniSearch(nBase, newSmall.top);

const row = (engine: string, items: number, m: Measured): Record<string, string | number> => ({
  engine,
  items,
  buildS: m.buildS,
  rssMb: Math.round(m.rssDeltaMb),
  heapMb: Math.round(m.heapDeltaMb),
  p50: m.latency.p50,
  p99: m.latency.p99,
  p999: m.latency.p999,
  max: m.latency.max,
  meanHits: Math.round(m.meanHits),
});
printTable(`QuerySource search, limit ${limit}, ${nQueries} queries (ms)`, [
  row('minisearch (old)', nBase, mini),
  row('typed-array (new)', nBase, newSmall),
  ...(nItems > nBase ? [row('typed-array (new)', nItems, newFull)] : []),
]);
const ov = overlap(newSmall.top, mini.top);
const ovTie = tieAwareOverlap(newSmall.top, mini);
const loadAfter = loadavg();
console.log(`overlap@100 new vs MiniSearch at ${nBase} items: ${ov.toFixed(3)}`);
console.log(`tie-aware overlap@100 (new top-100 items MiniSearch scores ≥ its 100th): ${ovTie.toFixed(3)}`);
console.log(`load average before ${load.before.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
console.log(`p99 ratio MiniSearch / new at ${nBase} items: ${(mini.latency.p99 / newSmall.latency.p99).toFixed(1)}×`);
const file = writeResult(
  'retrieval-query',
  { items: nItems, baselineItems: nBase, queries: nQueries, limit, boost: { title: 2, tags: 1 }, fuzzy: 0.2, prefix: true },
  {
    minisearch: {
      items: nBase,
      buildS: mini.buildS,
      rssDeltaMb: mini.rssDeltaMb,
      heapDeltaMb: mini.heapDeltaMb,
      latencyMs: mini.latency,
      meanHits: mini.meanHits,
    },
    newAtBaseline: {
      items: nBase,
      buildS: newSmall.buildS,
      rssDeltaMb: newSmall.rssDeltaMb,
      heapDeltaMb: newSmall.heapDeltaMb,
      latencyMs: newSmall.latency,
      meanHits: newSmall.meanHits,
    },
    newAtFull: {
      items: nItems,
      buildS: newFull.buildS,
      rssDeltaMb: newFull.rssDeltaMb,
      heapDeltaMb: newFull.heapDeltaMb,
      latencyMs: newFull.latency,
      meanHits: newFull.meanHits,
    },
    overlapAt100: ov,
    tieAwareOverlapAt100: ovTie,
    loadAverage: { before: load.before, after: loadAfter },
    p99RatioMiniSearchOverNew: mini.latency.p99 / newSmall.latency.p99,
  },
);
console.log(`wrote ${file}`);
