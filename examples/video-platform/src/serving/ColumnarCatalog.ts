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

const ATTRS = 4;

/**
 * Local adapter: core's `ItemCatalog` over the world's item columns (the daily snapshot at the
 * split), building each `ItemMeta` when it is looked up instead of holding one object per item.
 *
 * Why: at 1M items a `MapItemCatalog` holds a million `ItemMeta` objects (≈ 450 MB of heap with
 * their attribute records and embedding views); every major GC marks them all (measured: a full GC
 * 0.2 → 1.6 s on this box). Core looks an item up once per candidate per request: the metas built
 * here die young (scavenged, never marked by a major GC). The catalog attributes are precomputed
 * into one `Float64Array` (the same doubles `catalogAttributes` returns).
 *
 * Hand-written because core's only catalog is the map one.
 */
export class ColumnarCatalog implements ItemCatalog {
  private readonly attrs: Float64Array;
  private readonly creatorIds: readonly string[];
  private readonly blocked: readonly (readonly string[] | undefined)[];
  private readonly n: number;
  // The world's item columns, held here rather than read through `data` on every lookup: a padded
  // world is a view object with ~30 properties assigned at run time, and reading ten of them per
  // lookup, plus a conditional spread, made `meta` ≈ 3× slower (1 600 lookups at 1M items: 4.1–10.6
  // ms against 0.8–2.8 ms, micro-benchmark on a loaded box).
  private readonly creator: Uint32Array;
  private readonly category: Uint8Array;
  private readonly language: Uint8Array;
  private readonly publishedS: Int32Array;
  private readonly kids: Uint8Array;
  private readonly misinfo: Uint8Array;
  private readonly blockedRegion: Uint8Array;
  private readonly categoryNames: readonly string[];
  private readonly languageNames: readonly string[];
  private readonly epochMs: number;

  constructor(
    data: WorldData,
    private readonly itemEmb: Float32Array,
    private readonly embDims: number,
  ) {
    const n = data.nItems;
    this.n = n;
    this.attrs = new Float64Array(n * ATTRS);
    for (let i = 0; i < n; i++) {
      const a = catalogAttributes(
        data.splitImps[i] as number,
        data.splitClicks[i] as number,
        data.splitWatch[i] as number,
        data.creatorFollowers[data.itemCreator[i] as number] as number,
      );
      this.attrs[i * ATTRS] = a['catalog_log1p_impressions'] as number;
      this.attrs[i * ATTRS + 1] = a['catalog_smoothed_ctr'] as number;
      this.attrs[i * ATTRS + 2] = a['catalog_smoothed_watch'] as number;
      this.attrs[i * ATTRS + 3] = a['log1p_creator_followers'] as number;
    }
    this.creatorIds = Array.from({ length: data.creatorFollowers.length }, (_, c) => `c${c}`);
    this.blocked = data.regionNames.map((r) => [r]);
    this.creator = data.itemCreator;
    this.category = data.itemCategory;
    this.language = data.itemLanguage;
    this.publishedS = data.itemPublishedS;
    this.kids = data.itemKids;
    this.misinfo = data.itemMisinfo;
    this.blockedRegion = data.itemBlockedRegion;
    this.categoryNames = data.categoryNames;
    this.languageNames = data.languageNames;
    // `WorldData.ms(s)` is `epochMs + s * 1000`: the same doubles
    this.epochMs = data.ms(0);
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
    return i < 0 ? undefined : this.creatorIds[this.creator[i] as number];
  }

  /** The same fields, in the same order, as `WorldData.catalogMetaAtSplit` (tests compare them). */
  meta(i: number): ItemMeta {
    const br = this.blockedRegion[i] as number;
    const E = this.embDims;
    const a = i * ATTRS;
    const attrs = this.attrs;
    const creatorId = this.creatorIds[this.creator[i] as number] as string;
    const category = this.categoryNames[this.category[i] as number] as string;
    const language = this.languageNames[this.language[i] as number] as string;
    const publishedAtMs = this.epochMs + (this.publishedS[i] as number) * 1000;
    const embedding = this.itemEmb.subarray(i * E, (i + 1) * E);
    const kidsRestricted = this.kids[i] === 1;
    const misinformation = this.misinfo[i] === 1;
    const attributes = {
      catalog_log1p_impressions: attrs[a] as number,
      catalog_smoothed_ctr: attrs[a + 1] as number,
      catalog_smoothed_watch: attrs[a + 2] as number,
      log1p_creator_followers: attrs[a + 3] as number,
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
