import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { examination, groundTruth, newTruth } from './GroundTruth.js';
import { IMPRESSION_BYTES, sessionBytes } from './ImpressionLog.js';
import type { ColumnFile } from './internal/binio.js';
import { RecordWriter, writeColumn } from './internal/binio.js';
import { progress, progressDefault } from './internal/progress.js';
import { Rng } from './internal/random.js';
import { DAY_S, WORLD_EPOCH_MS, World } from './World.js';
import type { WorldConfig } from './WorldConfig.js';
import { WORLD_SCHEMA_VERSION, worldCacheKey } from './WorldConfig.js';

/** What a generated world directory holds; `manifest.json` in it. Paths are relative to the directory. */
export interface WorldManifest {
  readonly kind: 'recspine-video-world';
  readonly schemaVersion: number;
  readonly key: string;
  readonly config: WorldConfig;
  /** World time 0, ms since epoch. */
  readonly epochMs: number;
  /** Start of the held-out window, world seconds (= trainDays × 86400). */
  readonly splitS: number;
  /** End of the log, world seconds. */
  readonly endS: number;
  readonly counts: {
    readonly sessions: number;
    readonly impressions: number;
    readonly trainSessions: number;
    readonly trainImpressions: number;
    readonly clicks: number;
    readonly creators: number;
  };
  readonly files: {
    readonly sessions: { readonly file: string; readonly recordBytes: number };
    readonly impressions: { readonly file: string; readonly recordBytes: number };
    /** Observable catalog and user profiles, plus the feature-store snapshot at the split. */
    readonly columns: Readonly<Record<string, ColumnFile>>;
  };
  readonly generationSeconds: number;
  readonly createdAt: string;
}

/** Options of {@link generateWorld}. */
export interface GenerateOptions {
  /** Root of the cache (default `examples/video-platform/.data`). */
  readonly dataDir: string;
  /** Draw progress bars (default: when stderr is a TTY and not under CI). */
  readonly progress?: boolean;
  /** Regenerate even when a complete cached world exists. */
  readonly force?: boolean;
}

/** A generated world on disk: its directory and manifest. */
export interface WorldHandle {
  readonly dir: string;
  readonly manifest: WorldManifest;
  /** True when the world came from the cache. */
  readonly cached: boolean;
}

/** Directory of a world in the cache. */
export function worldDir(dataDir: string, cfg: WorldConfig): string {
  return join(dataDir, `world-${worldCacheKey(cfg)}`);
}

/**
 * Generates a world's logged traffic and snapshots, streaming to disk with bounded memory
 * (O(users × historyLength + items) state; records go through fixed-size buffers), or returns
 * the cached copy when one with the same settings and seed is complete.
 *
 * The logging policy: each slate position is a draw from `(1 - ε) · popularity + ε · uniform`
 * (`popularity` ∝ creator followers^0.7), redrawn when the item is unpublished, already in the
 * slate, or not allowed for the user by policy; the logged propensity is the draw probability
 * `(1 - ε) w_i / W + ε / N` (redraws are rare and not renormalised). Outcomes follow
 * {@link groundTruth} with position-dependent examination.
 *
 * @example
 * ```ts
 * const { dir, manifest } = generateWorld(resolveWorldConfig({ seed: 1 }, 'tiny'), { dataDir: '.data' });
 * ```
 */
export function generateWorld(cfg: WorldConfig, opts: GenerateOptions): WorldHandle {
  const dir = worldDir(opts.dataDir, cfg);
  const manifestPath = join(dir, 'manifest.json');
  if (!opts.force && existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as WorldManifest;
    if (manifest.schemaVersion === WORLD_SCHEMA_VERSION) return { dir, manifest, cached: true };
  }
  const t0 = performance.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const show = opts.progress ?? progressDefault();

  const world = World.build(cfg);
  const { users: U, items: N, dim: D, historyLength: H, slateSize: S } = cfg;
  const table = world.loggingTable();
  const eps = cfg.explorationRate;
  const totalDays = cfg.trainDays + cfg.evalDays;
  const splitS = cfg.trainDays * DAY_S;

  // Bounded state: per-user recent history ring, per-item counters.
  const hist = new Int32Array(U * H).fill(-1);
  const histLen = new Uint16Array(U);
  const histHead = new Uint16Array(U);
  const imps = new Float32Array(N);
  const clicks = new Float32Array(N);
  const watchSum = new Float32Array(N);
  let snapshot:
    | { hist: Int32Array; histLen: Uint16Array; histHead: Uint16Array; imps: Float32Array; clicks: Float32Array; watch: Float32Array }
    | undefined;

  const C = cfg.categories;
  const sw = new RecordWriter(join(tmp, 'sessions.bin'), sessionBytes(D, C));
  const catShare = new Float32Array(C);
  const iw = new RecordWriter(join(tmp, 'impressions.bin'), IMPRESSION_BYTES);
  const rng = new Rng(cfg.seed, 0x10661);
  const truth = newTruth();
  const slate = new Int32Array(S);
  const slateProp = new Float64Array(S);
  const pool = new Float32Array(D);
  seedPriorHistory(world, hist, histLen, histHead);
  seedPriorCounters(world, table, eps, imps, clicks, watchSum);
  let trainSessions = 0;
  let trainImpressions = 0;
  let totalClicks = 0;
  const bar = progress('world: days', totalDays, show);

  for (let day = 0; day < totalDays; day++) {
    if (day === cfg.trainDays) {
      snapshot = {
        hist: hist.slice(),
        histLen: histLen.slice(),
        histHead: histHead.slice(),
        imps: imps.slice(),
        clicks: clicks.slice(),
        watch: watchSum.slice(),
      };
      trainSessions = sw.count;
      trainImpressions = iw.count;
    }
    const held = day >= cfg.trainDays;
    const shift = held ? cfg.shift : 0;
    // Who is active today, and when (sorted by time so counters are point-in-time).
    const active: number[] = [];
    const times: number[] = [];
    for (let u = 0; u < U; u++) {
      if (!held && world.userCold[u] === 1) continue;
      let p = cfg.dailyActiveRate;
      if (shift > 0 && world.userRegion[u] !== cfg.regions - 1 && world.userDevice[u] !== cfg.devices - 1) p *= 1 - 0.9 * shift;
      if (rng.next() < p) {
        active.push(u);
        times.push(day * DAY_S + rng.int(DAY_S));
      }
    }
    const order = Array.from(active.keys()).sort((a, b) => (times[a] as number) - (times[b] as number));
    for (const k of order) {
      const u = active[k] as number;
      const tS = times[k] as number;
      // Served user features: pooled content of the most recent history (fewer under shift).
      const keep = shift > 0 ? Math.max(0, Math.floor((histLen[u] as number) * (1 - 0.8 * shift))) : (histLen[u] as number);
      pool.fill(0);
      catShare.fill(0);
      for (let j = 0; j < keep; j++) {
        const slot = ((histHead[u] as number) - 1 - j + H * 2) % H;
        const it = hist[u * H + slot] as number;
        for (let d = 0; d < D; d++) pool[d] = (pool[d] as number) + (world.itemContent[it * D + d] as number);
        const k = world.itemCategory[it] as number;
        catShare[k] = (catShare[k] as number) + 1;
      }
      if (keep > 0) {
        for (let d = 0; d < D; d++) pool[d] = (pool[d] as number) / keep;
        for (let k = 0; k < C; k++) catShare[k] = (catShare[k] as number) / keep;
      }
      const so = sw.next();
      const sv = sw.view;
      sv.writeUInt32LE(u, so);
      sv.writeUInt32LE(tS, so + 4);
      sv.writeUInt16LE(keep, so + 8);
      sv.writeUInt8(world.userDevice[u] as number, so + 10);
      sv.writeUInt8(world.userRegion[u] as number, so + 11);
      for (let d = 0; d < D; d++) sv.writeFloatLE(pool[d] as number, so + 12 + 4 * d);
      for (let k = 0; k < C; k++) sv.writeFloatLE(catShare[k] as number, so + 12 + 4 * D + 4 * k);
      const sessionIndex = sw.count - 1;

      // The logging policy's slate.
      for (let p = 0; p < S; p++) {
        let item = -1;
        for (let attempt = 0; attempt < 50; attempt++) {
          const cand = rng.next() < eps ? rng.int(N) : table.sample(rng);
          if ((world.itemPublishedS[cand] as number) > tS) continue;
          if (!world.eligible(u, cand)) continue;
          let dup = false;
          for (let q = 0; q < p; q++) if (slate[q] === cand) dup = true;
          if (dup) continue;
          item = cand;
          break;
        }
        slate[p] = item;
        slateProp[p] = item < 0 ? 0 : (1 - eps) * (table.p[item] as number) + eps / N;
      }
      const newHist: number[] = [];
      for (let p = 0; p < S; p++) {
        const i = slate[p] as number;
        if (i < 0) continue;
        groundTruth(world, u, i, tS, truth);
        const examined = rng.next() < examination(p);
        const click = examined && rng.next() < truth.pClick;
        let w = 0;
        let rep = 0;
        let sat = 0;
        if (click) {
          w = Math.min(1, Math.max(0, truth.watch + 0.15 * rng.gaussian()));
          rep = rng.next() < truth.pReport ? 1 : 0;
          sat = rep === 0 && rng.next() < truth.pSat ? 1 : 0;
          if (w >= 0.1) newHist.push(i);
          totalClicks++;
        }
        const io = iw.next();
        const iv = iw.view;
        iv.writeUInt32LE(sessionIndex, io);
        iv.writeUInt32LE(i, io + 4);
        iv.writeUInt8(p, io + 8);
        iv.writeUInt8(click ? 1 : 0, io + 9);
        iv.writeUInt8(rep, io + 10);
        iv.writeUInt8(sat, io + 11);
        iv.writeFloatLE(w, io + 12);
        iv.writeFloatLE(slateProp[p] as number, io + 16);
        iv.writeFloatLE(imps[i] as number, io + 20);
        iv.writeFloatLE(clicks[i] as number, io + 24);
        iv.writeFloatLE(watchSum[i] as number, io + 28);
        imps[i] = (imps[i] as number) + 1;
        if (click) {
          clicks[i] = (clicks[i] as number) + 1;
          watchSum[i] = (watchSum[i] as number) + w;
        }
      }
      for (const i of newHist) {
        hist[u * H + (histHead[u] as number)] = i;
        histHead[u] = ((histHead[u] as number) + 1) % H;
        histLen[u] = Math.min(H, (histLen[u] as number) + 1);
      }
    }
    bar.tick();
  }
  bar.stop();
  sw.close();
  iw.close();
  if (!snapshot) throw new Error('unreachable: the split snapshot is always taken');

  // Observable catalog + profiles + the feature-store snapshot at the split (what a server loads).
  const ordered = orderHistory(snapshot.hist, snapshot.histLen, snapshot.histHead, U, H);
  const columns: Record<string, ColumnFile> = {
    itemCreator: writeColumn(tmp, 'item_creator.u32', world.itemCreator),
    itemCategory: writeColumn(tmp, 'item_category.u8', world.itemCategory),
    itemLanguage: writeColumn(tmp, 'item_language.u8', world.itemLanguage),
    itemPublishedS: writeColumn(tmp, 'item_published_s.i32', world.itemPublishedS),
    itemKids: writeColumn(tmp, 'item_kids.u8', world.itemKids),
    itemBlockedRegion: writeColumn(tmp, 'item_blocked_region.u8', world.itemBlockedRegion),
    itemMisinfo: writeColumn(tmp, 'item_misinfo.u8', world.itemMisinfo),
    itemContent: writeColumn(tmp, 'item_content.f32', world.itemContent, [N, D]),
    creatorFollowers: writeColumn(tmp, 'creator_followers.f32', world.creatorFollowers),
    userRegion: writeColumn(tmp, 'user_region.u8', world.userRegion),
    userLanguage: writeColumn(tmp, 'user_language.u8', world.userLanguage),
    userDevice: writeColumn(tmp, 'user_device.u8', world.userDevice),
    userAgeBand: writeColumn(tmp, 'user_age_band.u8', world.userAgeBand),
    splitItemImpressions: writeColumn(tmp, 'split_item_impressions.f32', snapshot.imps),
    splitItemClicks: writeColumn(tmp, 'split_item_clicks.f32', snapshot.clicks),
    splitItemWatch: writeColumn(tmp, 'split_item_watch.f32', snapshot.watch),
    splitUserHistory: writeColumn(tmp, 'split_user_history.i32', ordered, [U, H]),
    splitUserHistoryLen: writeColumn(tmp, 'split_user_history_len.u16', snapshot.histLen),
  };
  const manifest: WorldManifest = {
    kind: 'recspine-video-world',
    schemaVersion: WORLD_SCHEMA_VERSION,
    key: worldCacheKey(cfg),
    config: cfg,
    epochMs: WORLD_EPOCH_MS,
    splitS,
    endS: totalDays * DAY_S,
    counts: {
      sessions: sw.count,
      impressions: iw.count,
      trainSessions,
      trainImpressions,
      clicks: totalClicks,
      creators: world.nCreators,
    },
    files: {
      sessions: { file: 'sessions.bin', recordBytes: sessionBytes(D, C) },
      impressions: { file: 'impressions.bin', recordBytes: IMPRESSION_BYTES },
      columns,
    },
    generationSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, manifest, cached: false };
}

/** Re-orders each user's ring buffer to most-recent-first, padded with -1. */
function orderHistory(hist: Int32Array, len: Uint16Array, head: Uint16Array, U: number, H: number): Int32Array {
  const out = new Int32Array(U * H).fill(-1);
  for (let u = 0; u < U; u++) {
    for (let j = 0; j < (len[u] as number); j++) out[u * H + j] = hist[u * H + (((head[u] as number) - 1 - j + 2 * H) % H)] as number;
  }
  return out;
}

/**
 * Warm users' history from before the logged window (`priorHistory`): organic discovery (search,
 * subscriptions, browsing). Each past watch is the user's choice from a page of
 * `priorPageSize` random catalog items published before the window: the one with the highest true
 * pClick at world time 0 (a choice model: users pick what appeals to them most on a page).
 * Cold users get none. Its own random stream, so the logged traffic's stream is unchanged.
 */
function seedPriorHistory(world: World, hist: Int32Array, histLen: Uint16Array, histHead: Uint16Array): void {
  const { users: U, items: N, historyLength: H, priorHistory: mean } = world.cfg;
  if (mean <= 0) return;
  const rng = new Rng(world.cfg.seed, 0x9a57);
  const truth = newTruth();
  for (let u = 0; u < U; u++) {
    if (world.userCold[u] === 1) continue;
    let k = 0;
    for (let t = 0; t < 2 * mean; t++) if (rng.next() < 0.5) k++;
    k = Math.min(k, H);
    for (let j = 0; j < k; j++) {
      let best = -1;
      let bestP = -1;
      for (let m = 0; m < world.cfg.priorPageSize; m++) {
        const i = rng.int(N);
        if ((world.itemPublishedS[i] as number) > 0 || !world.eligible(u, i)) continue;
        groundTruth(world, u, i, 0, truth);
        if (truth.pClick > bestP) {
          bestP = truth.pClick;
          best = i;
        }
      }
      if (best < 0) continue;
      hist[u * H + (histHead[u] as number)] = best;
      histHead[u] = ((histHead[u] as number) + 1) % H;
      histLen[u] = Math.min(H, (histLen[u] as number) + 1);
    }
  }
}

/**
 * Lifetime item counters before the window (`priorExposureDays`): an item published `A` days
 * before the window holds the expected counters of `min(A, priorExposureDays)` days of the logging
 * policy's traffic (its draw probability × the daily impression volume), with clicks and watch
 * sums from the truth averaged over a sample of users and the slate's mean examination, plus
 * binomial-sized noise. Its own random stream.
 */
function seedPriorCounters(
  world: World,
  table: ReturnType<World['loggingTable']>,
  eps: number,
  imps: Float32Array,
  clicks: Float32Array,
  watchSum: Float32Array,
): void {
  const cfg = world.cfg;
  if (cfg.priorExposureDays <= 0) return;
  const rng = new Rng(cfg.seed, 0xc0de);
  const truth = newTruth();
  const daily = cfg.users * (1 - cfg.coldUserShare) * cfg.dailyActiveRate * cfg.slateSize;
  let exam = 0;
  for (let p = 0; p < cfg.slateSize; p++) exam += examination(p) / cfg.slateSize;
  const SAMPLE = 16;
  for (let i = 0; i < cfg.items; i++) {
    const ageDays = -(world.itemPublishedS[i] as number) / DAY_S;
    if (ageDays <= 0) continue;
    const days = Math.min(ageDays, cfg.priorExposureDays);
    const p = (1 - eps) * (table.p[i] as number) + eps / cfg.items;
    const n = Math.max(0, Math.round(p * daily * days + Math.sqrt(p * daily * days) * rng.gaussian()));
    if (n === 0) continue;
    let pc = 0;
    let w = 0;
    for (let s = 0; s < SAMPLE; s++) {
      groundTruth(world, rng.int(cfg.users), i, 0, truth);
      pc += truth.pClick / SAMPLE;
      w += (truth.pClick * truth.watch) / SAMPLE;
    }
    const meanClicks = n * exam * pc;
    const c = Math.max(0, Math.min(n, Math.round(meanClicks + Math.sqrt(meanClicks * (1 - exam * pc)) * rng.gaussian())));
    imps[i] = n;
    clicks[i] = c;
    watchSum[i] = pc > 0 ? c * (w / pc) : 0;
  }
}
