import type { ItemCatalog, ItemMeta } from '@recspine/core';
import type { ItemStats, ItemStatsReader } from '@recspine/rerank';
import { catalogAttributes } from '../world/featureRows.js';
import type { WorldData } from '../world/WorldData.js';

/**
 * The row of item id `v<i>` (`i` in decimal without leading zeros, `i < n`), or −1. The serving
 * module's item ids are their row numbers, so no id → row map is kept (at 1M items a `Map` of
 * a million strings costs ≈ 60 MB of heap and a slower full GC).
 */
export function itemRow(id: string, n: number): number {
  const len = id.length;
  if (len < 2 || len > 11 || id.charCodeAt(0) !== 118 /* v */) return -1;
  if (len > 2 && id.charCodeAt(1) === 48 /* 0 */) return -1;
  let i = 0;
  for (let k = 1; k < len; k++) {
    const d = id.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    i = i * 10 + d;
  }
  return i < n ? i : -1;
}

/**
 * One record per item in one buffer: 8 doubles (the four catalog attributes, the publish time in
 * ms, the creator index, the small codes packed into one integer, one spare) followed by the item's
 * embedding (`dims` floats) — 192 bytes at 32 dims.
 *
 * Why interleaved: a lookup reads every field of one random item of a million, and the coarse
 * ranker then reads its embedding. With one typed array per field (the world's columns) a lookup
 * touched eight arrays at a random row — eight cache misses — and the coarse dot two more lines of
 * the 128 MB embedding matrix. Catalog hydration measured 0.6–0.8 µs per candidate, 0.8–1.2 ms of CPU
 * per request (≈ 1 400 candidates, in-process harness at 1M items). With one record per item the
 * embedding the coarse dot reads right after is in the same, already fetched, record:
 * `bench/catalog.ts`, 1 400 cold candidates, lookups + dot, p50 2.24 → 0.93 ms, p99 5.91 → 2.91 ms.
 * Costs a second copy of the embeddings (128 MB at 1M × 32; the ANN index builds from the world's
 * matrix).
 */
const REC = 8;
const A_IMPS = 0;
const A_CTR = 1;
const A_WATCH = 2;
const A_FOLLOWERS = 3;
const PUBLISHED = 4;
const CREATOR = 5;
/** category | language << 8 | blocked region << 16 | kids << 24 | misinformation << 25 */
const CODES = 6;

/**
 * Local adapter: core's `ItemCatalog` over the world's items (the daily snapshot at the split),
 * building each `ItemMeta` when it is looked up instead of holding one object per item.
 *
 * Why: at 1M items a `MapItemCatalog` holds a million `ItemMeta` objects (≈ 450 MB of heap with
 * their attribute records and embedding views); every major GC marks them all (measured: a full GC
 * 0.2 → 1.6 s on this box). Core looks an item up once per candidate per request: the metas built
 * here die young (scavenged, never marked by a major GC). The fields live in one interleaved record
 * per item (see {@link REC}); the catalog attributes are the same doubles `catalogAttributes` returns.
 *
 * Hand-written because core's only catalog is the map one.
 */
export class ColumnarCatalog implements ItemCatalog {
  /** Per item: `REC` doubles, then the embedding (`stride` doubles per item, see {@link REC}). */
  private readonly rec: Float64Array;
  /** The same buffer as floats: the embeddings' view. */
  private readonly recF32: Float32Array;
  /** Doubles per record: `REC` + the embedding (padded to whole doubles). */
  private readonly stride: number;
  private readonly creatorIds: readonly string[];
  private readonly blocked: readonly (readonly string[] | undefined)[];
  private readonly n: number;
  private readonly categoryNames: readonly string[];
  private readonly languageNames: readonly string[];

  constructor(
    data: WorldData,
    itemEmb: Float32Array,
    private readonly embDims: number,
  ) {
    const n = data.nItems;
    this.n = n;
    if (data.regionNames.length > 255 || data.categoryNames.length > 256 || data.languageNames.length > 256) {
      throw new Error('ColumnarCatalog packs category, language and region codes in one byte each');
    }
    // `WorldData.ms(s)` is `epochMs + s * 1000`: the same doubles
    const epochMs = data.ms(0);
    const stride = REC + Math.ceil(embDims / 2);
    const rec = new Float64Array(n * stride);
    const recF32 = new Float32Array(rec.buffer);
    for (let i = 0; i < n; i++) {
      const a = catalogAttributes(
        data.splitImps[i] as number,
        data.splitClicks[i] as number,
        data.splitWatch[i] as number,
        data.creatorFollowers[data.itemCreator[i] as number] as number,
      );
      const o = i * stride;
      rec[o + A_IMPS] = a['catalog_log1p_impressions'] as number;
      rec[o + A_CTR] = a['catalog_smoothed_ctr'] as number;
      rec[o + A_WATCH] = a['catalog_smoothed_watch'] as number;
      rec[o + A_FOLLOWERS] = a['log1p_creator_followers'] as number;
      rec[o + PUBLISHED] = epochMs + (data.itemPublishedS[i] as number) * 1000;
      rec[o + CREATOR] = data.itemCreator[i] as number;
      rec[o + CODES] =
        (data.itemCategory[i] as number) +
        (data.itemLanguage[i] as number) * 0x100 +
        (data.itemBlockedRegion[i] as number) * 0x10000 +
        (data.itemKids[i] === 1 ? 0x1000000 : 0) +
        (data.itemMisinfo[i] === 1 ? 0x2000000 : 0);
      recF32.set(itemEmb.subarray(i * embDims, (i + 1) * embDims), (o + REC) * 2);
    }
    this.rec = rec;
    this.recF32 = recF32;
    this.stride = stride;
    this.creatorIds = Array.from({ length: data.creatorFollowers.length }, (_, c) => `c${c}`);
    this.blocked = data.regionNames.map((r) => [r]);
    this.categoryNames = data.categoryNames;
    this.languageNames = data.languageNames;
  }

  get size(): number {
    return this.n;
  }

  /** The row of an item id, or −1 (see {@link itemRow}). */
  row(itemId: string): number {
    return itemRow(itemId, this.n);
  }

  get(itemId: string): ItemMeta | undefined {
    const i = itemRow(itemId, this.n);
    if (i < 0) return undefined;
    // No cache of built metas: a direct-mapped cache of 65 536 of them hit 72–86 % of lookups
    // under the load test, and every miss stored a new meta that outlived the next scavenge and was
    // promoted — ≈ 10–20 MB/s of old-generation garbage per worker, Mark-Compact pauses of ~90 ms
    // and slower scavenges at 200 QPS (--trace-gc). Built per lookup they die young.
    return this.meta(i);
  }

  /**
   * An item's creator id without building its meta: the online feature fetch joins creator
   * features on it for every ranked item (`get(id)?.creatorId` built ~300 metas per request).
   */
  creatorOf(itemId: string): string | undefined {
    const i = itemRow(itemId, this.n);
    return i < 0 ? undefined : this.creatorIds[this.rec[i * this.stride + CREATOR] as number];
  }

  /** The same fields, in the same order, as `WorldData.catalogMetaAtSplit` (tests compare them). */
  meta(i: number): ItemMeta {
    const rec = this.rec;
    const o = i * this.stride;
    const codes = rec[o + CODES] as number;
    const br = (codes >>> 16) & 0xff;
    const creatorId = this.creatorIds[rec[o + CREATOR] as number] as string;
    const category = this.categoryNames[codes & 0xff] as string;
    const language = this.languageNames[(codes >>> 8) & 0xff] as string;
    const publishedAtMs = rec[o + PUBLISHED] as number;
    const e = (o + REC) * 2;
    const embedding = this.recF32.subarray(e, e + this.embDims);
    const kidsRestricted = (codes & 0x1000000) !== 0;
    const misinformation = (codes & 0x2000000) !== 0;
    const attributes = {
      catalog_log1p_impressions: rec[o + A_IMPS] as number,
      catalog_smoothed_ctr: rec[o + A_CTR] as number,
      catalog_smoothed_watch: rec[o + A_WATCH] as number,
      log1p_creator_followers: rec[o + A_FOLLOWERS] as number,
    };
    // Two literal shapes instead of a conditional spread (a spread builds the object key by key).
    return br === 255
      ? { creatorId, category, language, publishedAtMs, embedding, kidsRestricted, misinformation, attributes }
      : {
          creatorId,
          category,
          language,
          publishedAtMs,
          embedding,
          kidsRestricted,
          misinformation,
          blockedRegions: this.blocked[br] as readonly string[],
          attributes,
        };
  }
}

/**
 * Exploration counters (rerank's `ItemStatsReader`) over the split snapshot's columns plus the
 * live counts the stream aggregator records: one small `Map` entry per item that had an event
 * since start, not one object per catalog item (1M at the padded scale). Same contract as rerank's
 * `InMemoryItemStats` (`get`, `record`). Hand-written for the same reason as {@link ColumnarCatalog}.
 */
export class ColumnarItemStats implements ItemStatsReader {
  private readonly live = new Map<string, { impressions: number; clicks: number }>();

  constructor(
    private readonly impressions: Float32Array,
    private readonly clicks: Float32Array,
    private readonly n: number,
  ) {}

  get(itemId: string): ItemStats | undefined {
    const i = itemRow(itemId, this.n);
    const l = this.live.get(itemId);
    if (i < 0) return l === undefined ? undefined : { impressions: l.impressions, clicks: l.clicks };
    const imps = this.impressions[i] as number;
    const clicks = this.clicks[i] as number;
    return l === undefined ? { impressions: imps, clicks } : { impressions: imps + l.impressions, clicks: clicks + l.clicks };
  }

  /** Adds impressions and clicks to an item's counts. */
  record(itemId: string, impressions: number, clicks = 0): void {
    const s = this.live.get(itemId);
    if (s === undefined) this.live.set(itemId, { impressions, clicks });
    else {
      s.impressions += impressions;
      s.clicks += clicks;
    }
  }
}
