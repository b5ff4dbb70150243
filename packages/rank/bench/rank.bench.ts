/**
 * @recspine/rank benchmark. Writes bench-results/rank.json.
 *
 *   npx tsx bench/rank.bench.ts                 # default size (≈1–2 min)
 *   npx tsx bench/rank.bench.ts --iters 5000 --loadSeconds 10
 *
 * 1. Fine rank: 200 candidates × ~100 features, 3-layer multi-task MLP (256-128-64, 4 heads):
 *    assemble + run p50/p99/p999, and the event-loop time blocked per call (ELU active time).
 * 2. Coarse rank of 1000 candidates (linear: 64-d dot + retrieval + freshness), and the tiny-MLP variant.
 * 3. Feature fetch + fine rank at 200 (coarse 1000 → 200 first) vs at 1000 (coarse off). The fetch is an
 *    in-process feature source (bench-local `InProcessFeatureSource`): per-item rows stored encoded
 *    (JSON + a packed float32 embedding) in Maps and decoded per request into a core `FeatureBatch`,
 *    which mimics the decode work of a cache read but not the network hop of Redis.
 * 4. Worker pool vs inline under open-loop concurrent load.
 * 5. Coarse-shaped assemble: the video-platform coarse spec (dot + 5 numerics + match) over 2 600
 *    candidates whose metas are object literals built per lookup, embeddings random-row views of a
 *    1M × 32 Float32Array; `assemble` (feature by feature) against `assembleRowMajor` (the previous
 *    row-major loop) in the same run, alternating, each on its own fresh candidate set.
 *
 *   npx tsx bench/rank.bench.ts --only coarseAssemble   # case 5 alone (bench-results/rank-coarse-assemble.json)
 */
import { PerformanceObserver, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Candidate, FeatureBatch, FeatureRow, FeatureValue, ItemMeta, StageContext } from '@recspine/core';
import { LatencyRecorder, parseFlags, printTable, writeResult } from '../../../bench/kit.js';
import {
  CoarseRanker,
  FeatureAssembler,
  MultiTaskRanker,
  OnnxModel,
  OnnxWorkerPool,
  type FeatureAssemblerSpec,
  type FeatureSpec,
  type OnnxModelSpec,
} from '../src/index.js';
import { buildMlp, prng } from '../src/testing/onnxModels.js';

const flags = parseFlags();
const ITERS = Number(flags.iters ?? 2000);
const LOAD_SECONDS = Number(flags.loadSeconds ?? 4);
const LOAD_RATE = Number(flags.rate ?? 150);
const COARSE_ASSEMBLE_ITERS = Number(flags.assembleIters ?? 1500);
const EMB = 64;
const HEADS = ['ctr', 'watch', 'report', 'satisfaction'] as const;
const rand = prng(42);

// ---------------------------------------------------------------- the world
const N_ITEMS = 5000;
const CATS = ['music', 'news', 'gaming', 'sports', 'comedy', 'education', 'film', 'kids'];
const NOW = Date.now();
function vec(d: number): Float32Array {
  return Float32Array.from({ length: d }, () => (rand() * 2 - 1) / Math.sqrt(d));
}
const itemEmb = Array.from({ length: N_ITEMS }, () => vec(EMB));

/** In-process feature source: encoded rows per item, decoded per fetch into a FeatureBatch. */
class InProcessFeatureSource {
  private readonly items = new Map<string, { json: string; emb: Buffer }>();
  private readonly users = new Map<string, { json: string; emb: Buffer }>();
  constructor() {
    for (let i = 0; i < N_ITEMS; i++) {
      const row: Record<string, unknown> = { cat: CATS[i % CATS.length], tags: [`t${i % 17}`, `t${i % 5}`, `t${i % 11}`] };
      for (let k = 0; k < 12; k++) if (rand() > 0.05) row[`i${k}`] = rand() * 10;
      for (let k = 0; k < 4; k++) row[`creator_c${k}`] = rand() * 100;
      const e = vec(16);
      this.items.set(`item${i}`, { json: JSON.stringify(row), emb: Buffer.from(e.buffer) });
    }
    const u: Record<string, number> = {};
    for (let k = 0; k < 8; k++) u[`u${k}`] = rand();
    this.users.set('u1', { json: JSON.stringify(u), emb: Buffer.from(vec(16).buffer) });
  }
  fetch(userId: string, itemIds: readonly string[]): FeatureBatch {
    const decode = (r: { json: string; emb: Buffer } | undefined): FeatureRow => {
      if (r === undefined) return {};
      const o = JSON.parse(r.json) as Record<string, FeatureValue>;
      o.emb = new Float32Array(r.emb.buffer.slice(r.emb.byteOffset, r.emb.byteOffset + r.emb.byteLength));
      return o;
    };
    return {
      userId,
      itemIds,
      user: decode(this.users.get(userId)),
      items: itemIds.map((id) => decode(this.items.get(id))),
      missingGroups: new Map(),
    };
  }
}

// ---------------------------------------------------------------- the fine model (~100 features)
const features: FeatureSpec[] = [
  ...Array.from({ length: 8 }, (_, k): FeatureSpec => ({
    kind: 'numeric',
    name: `u${k}`,
    from: 'user',
    key: `u${k}`,
    normalize: { kind: 'zscore', mean: 0.5, std: 0.3 },
  })),
  { kind: 'vector', name: 'uemb', from: 'user', key: 'emb', dim: 16, missingIndicator: false },
  ...Array.from({ length: 12 }, (_, k): FeatureSpec => ({
    kind: 'numeric',
    name: `i${k}`,
    from: 'item',
    key: `i${k}`,
    normalize: { kind: 'log1p' },
  })),
  { kind: 'vector', name: 'iemb', from: 'item', key: 'emb', dim: 16, missingIndicator: false },
  { kind: 'category', name: 'cat', from: 'item', key: 'cat', vocabulary: CATS, encoding: 'onehot' },
  { kind: 'idList', name: 'tags', from: 'item', key: 'tags', encoding: 'hashedBag', buckets: 8 },
  ...Array.from({ length: 4 }, (_, k): FeatureSpec => ({
    kind: 'numeric',
    name: `c${k}`,
    from: 'item',
    key: `creator_c${k}`,
    normalize: { kind: 'minmax', min: 0, max: 100 },
  })),
  { kind: 'dot', name: 'affinity', a: { from: 'user', key: 'emb' }, b: { from: 'item', key: 'emb' } },
];
const assembler = new FeatureAssembler({ maxBatch: 1000, features });
const F = assembler.width;
const fineSpec: OnnxModelSpec = {
  inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', F] }],
  outputs: HEADS.map((name) => ({ name, dtype: 'float32', shape: 'perRow' as const, range: [0, 1] as const })),
  maxBatch: 1000,
};
const fineMlp = buildMlp({
  inputDim: F,
  hidden: [256, 128, 64],
  heads: HEADS.map((name) => ({ name, activation: 'sigmoid' as const })),
  seed: 7,
});
const heads = {
  ctr: { weight: 1 },
  watch: { weight: 0.6, transform: { kind: 'log' as const } },
  report: { weight: -4 },
  satisfaction: { weight: 0.8 },
};

// ---------------------------------------------------------------- candidates + contexts
function candidates(n: number): Candidate[] {
  return Array.from({ length: n }, (_, r) => {
    const i = Math.floor(rand() * N_ITEMS);
    return {
      itemId: `item${i}`,
      score: 1 / (60 + r),
      retrievalScore: 1 / (60 + r),
      sources: r % 3 === 0 ? ['twoTower', 'pop'] : ['twoTower'],
      sourceScores: r % 3 === 0 ? [rand(), rand() * 100] : [rand()],
      meta: { embedding: itemEmb[i] as Float32Array, publishedAtMs: NOW - rand() * 7 * 86_400_000 },
    };
  });
}
const userEmbedding = vec(EMB);
function ctx(): StageContext {
  return {
    request: { slot: 'homepage', userId: 'u1', limit: 20, context: { nowMs: NOW } },
    requestId: 'b',
    stage: 'homepage/fine',
    signal: new AbortController().signal,
    deadlineAt: performance.now() + 1000,
    remainingMs: () => 1000,
    state: new Map([['userEmbedding', userEmbedding]]),
    params: {},
  };
}

/** Measures latency (ms) and event-loop active time (ELU delta, ms) of `fn`, run sequentially. */
async function measure(iters: number, fn: () => Promise<unknown>): Promise<{ lat: LatencyRecorder; blocked: LatencyRecorder }> {
  for (let i = 0; i < Math.min(200, iters); i++) await fn(); // warm-up
  const lat = new LatencyRecorder();
  const blocked = new LatencyRecorder();
  for (let i = 0; i < iters; i++) {
    const e0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    await fn();
    const t1 = performance.now();
    const e = performance.eventLoopUtilization(e0);
    lat.recordMs(t1 - t0);
    blocked.recordMs(e.active);
  }
  return { lat, blocked };
}

const row = (name: string, r: LatencyRecorder) => ({ case: name, p50: r.pMs(50), p99: r.pMs(99), p999: r.pMs(99.9), n: r.count });

// ---------------------------------------------------------------- 5. coarse-shaped assemble
/** The video-platform coarse model's spec (its `coarse.features.json`). */
const coarseSpec: FeatureAssemblerSpec = {
  maxBatch: 4096,
  features: [
    {
      kind: 'dot',
      name: 'cross.two_tower',
      a: { from: 'state', key: 'userEmbedding' },
      b: { from: 'candidate', key: 'meta.embedding' },
      group: 'retrieval',
    },
    {
      kind: 'numeric',
      name: 'candidate.age',
      from: 'candidate',
      key: 'meta.ageHours',
      normalize: { kind: 'log1p' },
      missingIndicator: false,
    },
    {
      kind: 'numeric',
      name: 'catalog.log1p_impressions',
      from: 'candidate',
      key: 'meta.attributes.catalog_log1p_impressions',
      normalize: { kind: 'zscore', mean: 4.99, std: 1.36 },
    },
    {
      kind: 'numeric',
      name: 'catalog.smoothed_ctr',
      from: 'candidate',
      key: 'meta.attributes.catalog_smoothed_ctr',
      normalize: { kind: 'zscore', mean: 0.0512, std: 0.0341 },
      missingIndicator: false,
    },
    {
      kind: 'numeric',
      name: 'catalog.smoothed_watch',
      from: 'candidate',
      key: 'meta.attributes.catalog_smoothed_watch',
      normalize: { kind: 'zscore', mean: 0.495, std: 0.103 },
      missingIndicator: false,
    },
    {
      kind: 'numeric',
      name: 'catalog.log1p_creator_followers',
      from: 'candidate',
      key: 'meta.attributes.log1p_creator_followers',
      normalize: { kind: 'zscore', mean: 6.7, std: 1.86 },
      missingIndicator: false,
    },
    {
      kind: 'match',
      name: 'cross.context_language_match',
      a: { from: 'context', key: 'language' },
      b: { from: 'candidate', key: 'meta.language' },
      missingIndicator: false,
    },
  ],
};

interface CoarseAssembleResult {
  after: LatencyRecorder;
  before: LatencyRecorder;
  /** The same, without the samples a GC pause overlapped. */
  afterNoGc: LatencyRecorder;
  beforeNoGc: LatencyRecorder;
  rows: number;
  width: number;
}

/**
 * Case 5: `assemble` vs `assembleRowMajor` on the coarse spec, alternating which goes first. Each run
 * gets a fresh candidate set built before the timer (as catalog hydration builds the metas before
 * coarse rank), so neither reads embedding rows the other just pulled into cache. Each iteration
 * yields to the event loop first, as requests do (V8 runs its GC tasks there). Building ≈5 000
 * candidates per iteration makes garbage, so GC pauses land in some samples of either path; the
 * samples a pause overlapped are also reported apart (`…NoGc`) to show what the tail is made of.
 */
async function coarseAssemble(iters: number): Promise<CoarseAssembleResult> {
  const ROWS = 1_000_000;
  const DIM = 32;
  const N = 2600;
  const r = prng(2600);
  const matrix = new Float32Array(ROWS * DIM);
  for (let i = 0; i < matrix.length; i++) matrix[i] = (r() * 2 - 1) / Math.sqrt(DIM);
  const languages = ['en', 'es', 'pt', 'de', 'fr', 'ja'];
  // the shape of the video platform's ColumnarCatalog.meta: one object literal per lookup
  const meta = (i: number): ItemMeta => {
    const attributes = {
      catalog_log1p_impressions: r() * 10,
      catalog_smoothed_ctr: r() * 0.12,
      catalog_smoothed_watch: r(),
      log1p_creator_followers: r() * 12,
    };
    return {
      creatorId: `c${i % 20_000}`,
      category: CATS[i % CATS.length] as string,
      language: languages[i % languages.length] as string,
      publishedAtMs: NOW - r() * 30 * 86_400_000,
      embedding: matrix.subarray(i * DIM, (i + 1) * DIM),
      kidsRestricted: false,
      misinformation: false,
      attributes,
    };
  };
  const cands = (): Candidate[] => {
    const out: Candidate[] = [];
    for (let k = 0; k < N; k++) {
      const i = Math.floor(r() * ROWS);
      const s = 1 / (60 + k);
      out.push({ itemId: `item${i}`, score: s, retrievalScore: s, sources: ['twoTower'], sourceScores: [r()], meta: meta(i) });
    }
    return out;
  };
  const user = Float32Array.from({ length: DIM }, () => (r() * 2 - 1) / Math.sqrt(DIM));
  const cctx = (): StageContext => ({
    ...ctx(),
    request: { slot: 'homepage', userId: 'u1', limit: 20, context: { nowMs: NOW, language: 'en' } },
    stage: 'homepage/coarse',
    state: new Map([['userEmbedding', user]]),
  });
  const asm = new FeatureAssembler(coarseSpec);
  // the two paths must write the same bits
  {
    const cs = cands();
    const c = cctx();
    const a = asm.assemble({ candidates: cs, ctx: c });
    const b = asm.assembleRowMajor({ candidates: cs, ctx: c });
    const x = new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length);
    const y = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length);
    if (x.length !== y.length || x.some((v, k) => v !== y[k]) || a.missing !== b.missing || a.malformed !== b.malformed)
      throw new Error('coarse assemble: assemble and assembleRowMajor differ');
    a.release();
    b.release();
  }
  const gcs: { start: number; end: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
  const samples: { rowMajor: boolean; t0: number; t1: number }[] = [];
  const warm = Math.min(200, iters);
  for (let i = 0; i < warm + iters; i++) {
    await new Promise((res) => setImmediate(res));
    for (const rowMajor of i % 2 === 0 ? [false, true] : [true, false]) {
      const cs = cands();
      const c = cctx();
      const t0 = performance.now();
      const lease = rowMajor ? asm.assembleRowMajor({ candidates: cs, ctx: c }) : asm.assemble({ candidates: cs, ctx: c });
      const t1 = performance.now();
      lease.release();
      if (i >= warm) samples.push({ rowMajor, t0, t1 });
    }
  }
  await new Promise((res) => setTimeout(res, 50)); // the observer's last entries
  obs.disconnect();
  const res: CoarseAssembleResult = {
    after: new LatencyRecorder(),
    before: new LatencyRecorder(),
    afterNoGc: new LatencyRecorder(),
    beforeNoGc: new LatencyRecorder(),
    rows: N,
    width: asm.width,
  };
  for (const { rowMajor, t0, t1 } of samples) {
    (rowMajor ? res.before : res.after).recordMs(t1 - t0);
    if (!gcs.some((g) => g.start < t1 && g.end > t0)) (rowMajor ? res.beforeNoGc : res.afterNoGc).recordMs(t1 - t0);
  }
  return res;
}

function reportCoarseAssemble(res: CoarseAssembleResult): Record<string, number> {
  const { after, before, afterNoGc, beforeNoGc } = res;
  const ratio = (name: string, b: LatencyRecorder, a: LatencyRecorder) => ({
    case: name,
    p50: b.pMs(50) / a.pMs(50),
    p99: b.pMs(99) / a.pMs(99),
    p999: b.pMs(99.9) / a.pMs(99.9),
    n: a.count,
  });
  printTable(`coarse-shaped assemble: ${res.rows} candidates × ${res.width} columns, random rows of a 1M × 32 matrix (ms)`, [
    row('before: assembleRowMajor', before),
    row('after: assemble', after),
    ratio('ratio before ÷ after', before, after),
    row('before, samples without GC', beforeNoGc),
    row('after, samples without GC', afterNoGc),
    ratio('ratio without GC', beforeNoGc, afterNoGc),
  ]);
  return {
    coarseAssembleCandidates: res.rows,
    coarseAssembleP50Ms: after.pMs(50),
    coarseAssembleP99Ms: after.pMs(99),
    coarseAssembleRowMajorP50Ms: before.pMs(50),
    coarseAssembleRowMajorP99Ms: before.pMs(99),
    coarseAssembleSpeedupP50: before.pMs(50) / after.pMs(50),
    coarseAssembleSpeedupP99: before.pMs(99) / after.pMs(99),
    coarseAssembleNoGcP99Ms: afterNoGc.pMs(99),
    coarseAssembleRowMajorNoGcP99Ms: beforeNoGc.pMs(99),
    coarseAssembleGcHitSamples: after.count - afterNoGc.count,
    coarseAssembleRowMajorGcHitSamples: before.count - beforeNoGc.count,
  };
}

async function main(): Promise<void> {
  if (flags.only === 'coarseAssemble') {
    const metrics = reportCoarseAssemble(await coarseAssemble(COARSE_ASSEMBLE_ITERS));
    console.log(`wrote ${writeResult('rank-coarse-assemble', { iters: COARSE_ASSEMBLE_ITERS, spec: 'video-platform coarse' }, metrics)}`);
    return;
  }
  const store = new InProcessFeatureSource();
  const fineModel = await OnnxModel.load(fineMlp.bytes, fineSpec, { version: 'fine-bench' });
  const fine = new MultiTaskRanker({ model: fineModel, assembler, heads });
  const coarse = new CoarseRanker({ keep: 200, weights: { dot: 1, retrieval: 30, freshness: { weight: 0.2, halfLifeHours: 48 } } });

  // coarse MLP variant (in-memory features only)
  const coarseAssembler = new FeatureAssembler({
    maxBatch: 1000,
    features: [
      { kind: 'dot', name: 'aff', a: { from: 'state', key: 'userEmbedding' }, b: { from: 'candidate', key: 'meta.embedding' } },
      { kind: 'numeric', name: 'rs', from: 'candidate', key: 'retrievalScore', missingIndicator: false },
      { kind: 'numeric', name: 'n', from: 'candidate', key: 'sourceCount', missingIndicator: false },
      { kind: 'numeric', name: 'pop', from: 'candidate', key: 'source:pop', normalize: { kind: 'log1p' } },
      { kind: 'numeric', name: 'age', from: 'candidate', key: 'meta.ageHours', normalize: { kind: 'log1p' } },
    ],
  });
  const coarseMlp = buildMlp({ inputDim: coarseAssembler.width, hidden: [16], heads: [{ name: 'score', activation: 'none' }], seed: 3 });
  const coarseModel = await OnnxModel.load(
    coarseMlp.bytes,
    {
      inputs: [{ name: 'features', dtype: 'float32', shape: ['batch', coarseAssembler.width] }],
      outputs: [{ name: 'score', dtype: 'float32', shape: 'perRow' }],
      maxBatch: 1000,
    },
    { version: 'coarse-mlp' },
  );
  const coarseNet = new CoarseRanker({ keep: 200, mlp: { model: coarseModel, assembler: coarseAssembler } });

  const c200 = candidates(200);
  const c1000 = candidates(1000);
  const f200 = store.fetch(
    'u1',
    c200.map((c) => c.itemId),
  );
  const f1000 = store.fetch(
    'u1',
    c1000.map((c) => c.itemId),
  );

  // 1. fine at 200: assemble + run (+ combine)
  const fineInline = await measure(ITERS, () => fine.score(ctx(), c200, f200));
  // assemble alone, and run alone
  const asm = new LatencyRecorder();
  for (let i = 0; i < ITERS; i++) {
    const t0 = performance.now();
    assembler.assemble({ batch: f200, candidates: c200, ctx: ctx() }).release();
    asm.recordMs(performance.now() - t0);
  }
  // 2. coarse at 1000
  const coarseLin = await measure(ITERS, async () => coarse.score(ctx(), c1000, f1000));
  const coarseMl = await measure(ITERS, () => coarseNet.score(ctx(), c1000, f1000));

  // 3. fetch + fine at 200 (coarse on) vs 1000 (coarse off)
  const at200 = await measure(ITERS, async () => {
    const cs = ctx();
    const sb = await coarse.score(cs, c1000, f1000);
    const kept = coarse.selectTop(c1000, sb.scores);
    const feats = store.fetch(
      'u1',
      kept.map((c) => c.itemId),
    );
    return fine.score(cs, kept, feats);
  });
  const at200FetchFine = await measure(ITERS, async () => {
    const feats = store.fetch(
      'u1',
      c200.map((c) => c.itemId),
    );
    return fine.score(ctx(), c200, feats);
  });
  const at1000 = await measure(Math.max(200, Math.floor(ITERS / 2)), async () => {
    const feats = store.fetch(
      'u1',
      c1000.map((c) => c.itemId),
    );
    return fine.score(ctx(), c1000, feats);
  });

  // 4. worker pool vs inline under open-loop load: each request = fetch (200) + fine, arrivals at LOAD_RATE/s
  const pool = new OnnxWorkerPool({ size: 1 });
  const pooledModel = await OnnxModel.load(fineMlp.bytes, fineSpec, { version: 'fine-bench', pool });
  const finePooled = new MultiTaskRanker({ model: pooledModel, assembler, heads });
  const pooledSeq = await measure(ITERS, () => finePooled.score(ctx(), c200, f200));
  async function load(
    r: MultiTaskRanker,
  ): Promise<{ lat: LatencyRecorder; loopDelay: { p50: number; p99: number; max: number }; done: number; failed: number }> {
    const lat = new LatencyRecorder();
    const h = monitorEventLoopDelay({ resolution: 1 });
    const total = Math.floor(LOAD_RATE * LOAD_SECONDS);
    const interval = 1000 / LOAD_RATE;
    let done = 0;
    let failed = 0;
    const start = performance.now();
    h.enable();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((res) => setTimeout(res, wait));
      // open loop: latency counts from the scheduled arrival, so queueing is included
      pending.push(
        (async () => {
          await new Promise((res) => setImmediate(res)); // the fetch's I/O hop
          const feats = store.fetch(
            'u1',
            c200.map((c) => c.itemId),
          );
          await r.score(ctx(), c200, feats);
        })().then(
          () => {
            done++;
            lat.recordMs(performance.now() - due);
          },
          () => {
            failed++;
          },
        ),
      );
    }
    await Promise.all(pending);
    h.disable();
    return { lat, loopDelay: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 }, done, failed };
  }
  const loadInline = await load(fine);
  const loadPool = await load(finePooled);

  await pooledModel.release();
  await pool.close();
  await Promise.all([fineModel.release(), coarseModel.release()]);

  // 5. coarse-shaped assemble, last: its 128 MB matrix is not around for the cases above
  const coarseAsm = await coarseAssemble(COARSE_ASSEMBLE_ITERS);

  printTable('rank: latency (ms)', [
    row('assemble 200×' + F, asm),
    row('fine 200 inline (assemble+run)', fineInline.lat),
    row('  event loop blocked', fineInline.blocked),
    row('fine 200 pool (assemble+run)', pooledSeq.lat),
    row('  event loop blocked', pooledSeq.blocked),
    row('coarse 1000 linear', coarseLin.lat),
    row('coarse 1000 tiny MLP', coarseMl.lat),
    row('coarse1000+fetch200+fine200', at200.lat),
    row('fetch200+fine200', at200FetchFine.lat),
    row('fetch1000+fine1000', at1000.lat),
  ]);
  printTable(`open-loop load: ${LOAD_RATE} req/s × ${LOAD_SECONDS}s, each = fetch 200 + fine 200`, [
    {
      mode: 'inline',
      p50: loadInline.lat.pMs(50),
      p99: loadInline.lat.pMs(99),
      p999: loadInline.lat.pMs(99.9),
      loopDelayP99: loadInline.loopDelay.p99,
      loopDelayMax: loadInline.loopDelay.max,
      done: loadInline.done,
      failed: loadInline.failed,
    },
    {
      mode: 'pool(1)',
      p50: loadPool.lat.pMs(50),
      p99: loadPool.lat.pMs(99),
      p999: loadPool.lat.pMs(99.9),
      loopDelayP99: loadPool.loopDelay.p99,
      loopDelayMax: loadPool.loopDelay.max,
      done: loadPool.done,
      failed: loadPool.failed,
    },
  ]);
  const coarseAsmMetrics = reportCoarseAssemble(coarseAsm);
  const ratio = at1000.lat.pMs(99) / at200.lat.pMs(99);
  console.log(`\ncoarseSavingsRatio (fetch+fine p99 at 1000 ÷ coarse+fetch+fine p99 at 200) = ${ratio.toFixed(2)}`);
  const file = writeResult(
    'rank',
    {
      iters: ITERS,
      features: F,
      fineModel: `MLP ${F}-256-128-64 → 4 sigmoid heads`,
      coarse: 'linear: 64-d dot + RRF + freshness',
      featureSource: 'bench-local InProcessFeatureSource: JSON + packed float32 rows in Maps, decoded per fetch into a core FeatureBatch',
      threads: 'intraOp 1, interOp 1, no spinning',
      load: { rate: LOAD_RATE, seconds: LOAD_SECONDS, poolSize: 1 },
    },
    {
      fineCandidates: 200,
      fineP50Ms: fineInline.lat.pMs(50),
      fineP99Ms: fineInline.lat.pMs(99),
      fineP999Ms: fineInline.lat.pMs(99.9),
      fineEventLoopBlockedP99Ms: fineInline.blocked.pMs(99),
      assembleP99Ms: asm.pMs(99),
      finePoolP50Ms: pooledSeq.lat.pMs(50),
      finePoolP99Ms: pooledSeq.lat.pMs(99),
      finePoolEventLoopBlockedP99Ms: pooledSeq.blocked.pMs(99),
      coarseCandidates: 1000,
      coarseP50Ms: coarseLin.lat.pMs(50),
      coarseP99Ms: coarseLin.lat.pMs(99),
      coarseP999Ms: coarseLin.lat.pMs(99.9),
      coarseMlpP50Ms: coarseMl.lat.pMs(50),
      coarseMlpP99Ms: coarseMl.lat.pMs(99),
      fetchPlusFineAt200P99Ms: at200.lat.pMs(99),
      fetchPlusFineAt200P50Ms: at200.lat.pMs(50),
      fetchPlusFineAt200ExclCoarseP99Ms: at200FetchFine.lat.pMs(99),
      fetchPlusFineAt1000P99Ms: at1000.lat.pMs(99),
      fetchPlusFineAt1000P50Ms: at1000.lat.pMs(50),
      coarseSavingsRatio: ratio,
      loadInlineP50Ms: loadInline.lat.pMs(50),
      loadInlineP99Ms: loadInline.lat.pMs(99),
      loadInlineLoopDelayP99Ms: loadInline.loopDelay.p99,
      loadPoolP50Ms: loadPool.lat.pMs(50),
      loadPoolP99Ms: loadPool.lat.pMs(99),
      loadPoolLoopDelayP99Ms: loadPool.loopDelay.p99,
      ...coarseAsmMetrics,
    },
  );
  console.log(`wrote ${file}`);
}

await main();
