import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureRow, ItemMeta, RequestContext } from '@recspine/core';
import { VideoPlatformErrors } from '../errors.js';
import type { WorldManifest } from './generateWorld.js';
import type { ImpressionColumns, SessionColumns } from './ImpressionLog.js';
import { decodeImpressions, decodeSessions } from './ImpressionLog.js';
import { catalogAttributes, itemStatsRow } from './featureRows.js';
import { readColumn } from './internal/binio.js';
import { WORLD_SCHEMA_VERSION } from './WorldConfig.js';

const labels = (p: string, n: number): string[] => Array.from({ length: n }, (_, k) => `${p}${k}`);

/**
 * A generated world loaded from disk: the observable catalog and profiles, the logged traffic
 * (decoded into columns) and the feature-store snapshot at the split, plus builders for the raw
 * {@link FeatureRow}s that models are fed. Latent truth is *not* here (see `World`).
 *
 * Raw rows (feature names match the feature specs in `train/featureSets.ts`):
 * - user: `region`, `device`, `language`, `age_band` (strings), `recent_items` (item ids, most
 *   recent first; not in logged rows, which carry the pool served then), `history_pool`
 *   (Float32Array), `history_len`;
 * - item: `content`, `creator_log1p_followers` and the `item_stats` row of `itemStatsRow`;
 * - catalog `ItemMeta`: category, language, publish time, creator, policy flags, and
 *   `catalogAttributes` of the counters;
 * - context: `region`, `device`, `language`, `nowMs`.
 *
 * Loads everything into memory: fine at demo scale; the 1M world's log would be read in chunks.
 */
export class WorldData {
  readonly sessions: SessionColumns;
  readonly impressions: ImpressionColumns;
  readonly dim: number;
  readonly regionNames: string[];
  readonly deviceNames: string[];
  readonly languageNames: string[];
  readonly ageNames: string[];
  readonly categoryNames: string[];
  readonly itemCreator: Uint32Array;
  readonly itemCategory: Uint8Array;
  readonly itemLanguage: Uint8Array;
  readonly itemPublishedS: Int32Array;
  readonly itemKids: Uint8Array;
  readonly itemBlockedRegion: Uint8Array;
  readonly itemMisinfo: Uint8Array;
  readonly itemContent: Float32Array;
  readonly creatorFollowers: Float32Array;
  readonly userRegion: Uint8Array;
  readonly userLanguage: Uint8Array;
  readonly userDevice: Uint8Array;
  readonly userAgeBand: Uint8Array;
  readonly splitImps: Float32Array;
  readonly splitClicks: Float32Array;
  readonly splitWatch: Float32Array;
  readonly splitHistory: Int32Array;
  readonly splitHistoryLen: Uint16Array;
  private readonly staticItems: (FeatureRow | undefined)[];

  private constructor(
    readonly dir: string,
    readonly manifest: WorldManifest,
  ) {
    const cfg = manifest.config;
    this.dim = cfg.dim;
    const col = manifest.files.columns;
    const need = (k: string) => {
      const c = col[k];
      if (!c) throw VideoPlatformErrors.create('RECSPINE_ERR_VP_ARTIFACT', `world manifest lacks column ${k}`, { stage: 'artifacts' });
      return c;
    };
    this.itemCreator = readColumn(dir, { ...need('itemCreator'), dtype: 'u32' });
    this.itemCategory = readColumn(dir, { ...need('itemCategory'), dtype: 'u8' });
    this.itemLanguage = readColumn(dir, { ...need('itemLanguage'), dtype: 'u8' });
    this.itemPublishedS = readColumn(dir, { ...need('itemPublishedS'), dtype: 'i32' });
    this.itemKids = readColumn(dir, { ...need('itemKids'), dtype: 'u8' });
    this.itemBlockedRegion = readColumn(dir, { ...need('itemBlockedRegion'), dtype: 'u8' });
    this.itemMisinfo = readColumn(dir, { ...need('itemMisinfo'), dtype: 'u8' });
    this.itemContent = readColumn(dir, { ...need('itemContent'), dtype: 'f32' });
    this.creatorFollowers = readColumn(dir, { ...need('creatorFollowers'), dtype: 'f32' });
    this.userRegion = readColumn(dir, { ...need('userRegion'), dtype: 'u8' });
    this.userLanguage = readColumn(dir, { ...need('userLanguage'), dtype: 'u8' });
    this.userDevice = readColumn(dir, { ...need('userDevice'), dtype: 'u8' });
    this.userAgeBand = readColumn(dir, { ...need('userAgeBand'), dtype: 'u8' });
    this.splitImps = readColumn(dir, { ...need('splitItemImpressions'), dtype: 'f32' });
    this.splitClicks = readColumn(dir, { ...need('splitItemClicks'), dtype: 'f32' });
    this.splitWatch = readColumn(dir, { ...need('splitItemWatch'), dtype: 'f32' });
    this.splitHistory = readColumn(dir, { ...need('splitUserHistory'), dtype: 'i32' });
    this.splitHistoryLen = readColumn(dir, { ...need('splitUserHistoryLen'), dtype: 'u16' });
    this.sessions = decodeSessions(readFileSync(join(dir, manifest.files.sessions.file)), cfg.dim, cfg.categories);
    this.impressions = decodeImpressions(readFileSync(join(dir, manifest.files.impressions.file)));
    if (this.sessions.n !== manifest.counts.sessions || this.impressions.n !== manifest.counts.impressions) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_ARTIFACT', `world log in ${dir} is truncated`, { stage: 'artifacts' });
    }
    this.regionNames = labels('r', cfg.regions);
    this.deviceNames = labels('d', cfg.devices);
    this.languageNames = labels('l', cfg.languages);
    this.ageNames = labels('a', cfg.ageBands);
    this.categoryNames = labels('k', cfg.categories);
    this.staticItems = new Array<FeatureRow | undefined>(cfg.items);
  }

  /** Loads a world directory written by `generateWorld`. */
  static load(dir: string): WorldData {
    let manifest: WorldManifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as WorldManifest;
    } catch (cause) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_ARTIFACT', `no readable world manifest in ${dir}`, { stage: 'artifacts', cause });
    }
    if (manifest.kind !== 'recspine-video-world' || manifest.schemaVersion !== WORLD_SCHEMA_VERSION) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_ARTIFACT', `${dir} is not a world of schema ${WORLD_SCHEMA_VERSION}`, {
        stage: 'artifacts',
      });
    }
    return new WorldData(dir, manifest);
  }

  get nItems(): number {
    return this.manifest.config.items;
  }
  get nUsers(): number {
    return this.manifest.config.users;
  }
  /** World seconds → ms since epoch. */
  ms(worldS: number): number {
    return this.manifest.epochMs + worldS * 1000;
  }

  /** The served user row of a logged session (profile + the history pool served then). */
  userRowOfSession(s: number): FeatureRow {
    const u = this.sessions.user[s] as number;
    return {
      region: this.regionNames[this.userRegion[u] as number] as string,
      device: this.deviceNames[this.userDevice[u] as number] as string,
      language: this.languageNames[this.userLanguage[u] as number] as string,
      age_band: this.ageNames[this.userAgeBand[u] as number] as string,
      history_pool: this.sessions.pool.subarray(s * this.dim, (s + 1) * this.dim),
      history_categories: this.sessions.categoryShare.subarray(s * this.nCategories, (s + 1) * this.nCategories),
      history_len: this.sessions.historyLen[s] as number,
    };
  }

  /** The request context of a logged session. */
  contextOfSession(s: number): RequestContext {
    const u = this.sessions.user[s] as number;
    return {
      region: this.regionNames[this.sessions.region[s] as number] as string,
      device: this.deviceNames[this.sessions.device[s] as number] as string,
      language: this.languageNames[this.userLanguage[u] as number] as string,
      nowMs: this.ms(this.sessions.timeS[s] as number),
    };
  }

  /** Recent history of a user in the split snapshot (most recent first). */
  historyAtSplit(u: number): number[] {
    const H = this.manifest.config.historyLength;
    const out: number[] = [];
    for (let j = 0; j < (this.splitHistoryLen[u] as number); j++) out.push(this.splitHistory[u * H + j] as number);
    return out;
  }

  get nCategories(): number {
    return this.manifest.config.categories;
  }

  /** Share of a list of items in each category (zeros when empty): the `history_categories` feature. */
  categoryShare(items: readonly number[]): Float32Array {
    const out = new Float32Array(this.nCategories);
    for (const i of items) out[this.itemCategory[i] as number] = (out[this.itemCategory[i] as number] as number) + 1;
    if (items.length > 0) for (let k = 0; k < out.length; k++) out[k] = (out[k] as number) / items.length;
    return out;
  }

  /** Mean content embedding of a list of items (zeros when empty): the `history_pool` feature. */
  pool(items: readonly number[]): Float32Array {
    const D = this.dim;
    const p = new Float32Array(D);
    for (const i of items) for (let d = 0; d < D; d++) p[d] = (p[d] as number) + (this.itemContent[i * D + d] as number);
    if (items.length > 0) for (let d = 0; d < D; d++) p[d] = (p[d] as number) / items.length;
    return p;
  }

  /** A user's feature-store row given a recent history (defaults to the split snapshot). */
  userRow(u: number, history: readonly number[] = this.historyAtSplit(u)): FeatureRow {
    return {
      region: this.regionNames[this.userRegion[u] as number] as string,
      device: this.deviceNames[this.userDevice[u] as number] as string,
      language: this.languageNames[this.userLanguage[u] as number] as string,
      age_band: this.ageNames[this.userAgeBand[u] as number] as string,
      recent_items: history.map((i) => `v${i}`),
      history_pool: this.pool(history),
      history_categories: this.categoryShare(history),
      history_len: history.length,
    };
  }

  /** A request context for user `u` at `nowMs`. */
  contextRow(u: number, nowMs: number): RequestContext {
    return {
      region: this.regionNames[this.userRegion[u] as number] as string,
      device: this.deviceNames[this.userDevice[u] as number] as string,
      language: this.languageNames[this.userLanguage[u] as number] as string,
      nowMs,
    };
  }

  /** Static part of an item's feature-store row (cached): `content`, `creator_log1p_followers`. */
  itemStatic(i: number): FeatureRow {
    let r = this.staticItems[i];
    if (r === undefined) {
      r = {
        content: this.itemContent.subarray(i * this.dim, (i + 1) * this.dim),
        category_onehot: oneHot(this.nCategories, this.itemCategory[i] as number),
        creator_log1p_followers: Math.log1p(this.creatorFollowers[this.itemCreator[i] as number] as number),
      };
      this.staticItems[i] = r;
    }
    return r;
  }

  /** The item row served with logged impression `r` (static + the counters served then). */
  itemRowOfImpression(r: number): FeatureRow {
    const i = this.impressions.item[r] as number;
    return {
      ...this.itemStatic(i),
      ...itemStatsRow(
        this.impressions.itemImps[r] as number,
        this.impressions.itemClicks[r] as number,
        this.impressions.itemWatch[r] as number,
      ),
    };
  }

  /** The item row of the feature-store snapshot at the split (static + split counters). */
  itemRowAtSplit(i: number): FeatureRow {
    return {
      ...this.itemStatic(i),
      ...itemStatsRow(this.splitImps[i] as number, this.splitClicks[i] as number, this.splitWatch[i] as number),
    };
  }

  /**
   * The in-process catalog entry of item `i` with the given counters (the daily snapshot at
   * serving; the served counters in training) and, optionally, its two-tower embedding.
   */
  catalogMeta(i: number, impressions: number, clicks: number, watchSum: number, embedding?: Float32Array): ItemMeta {
    const br = this.itemBlockedRegion[i] as number;
    return {
      creatorId: `c${this.itemCreator[i] as number}`,
      category: this.categoryNames[this.itemCategory[i] as number] as string,
      language: this.languageNames[this.itemLanguage[i] as number] as string,
      publishedAtMs: this.ms(this.itemPublishedS[i] as number),
      ...(embedding === undefined ? {} : { embedding }),
      kidsRestricted: this.itemKids[i] === 1,
      misinformation: this.itemMisinfo[i] === 1,
      ...(br === 255 ? {} : { blockedRegions: [this.regionNames[br] as string] }),
      attributes: catalogAttributes(impressions, clicks, watchSum, this.creatorFollowers[this.itemCreator[i] as number] as number),
    };
  }

  /** {@link catalogMeta} with the split snapshot's counters. */
  catalogMetaAtSplit(i: number, embedding?: Float32Array): ItemMeta {
    return this.catalogMeta(i, this.splitImps[i] as number, this.splitClicks[i] as number, this.splitWatch[i] as number, embedding);
  }

  /** Hard policy for a user (same rule as `World.eligible`), from observable columns. */
  eligible(u: number, i: number): boolean {
    if (this.itemMisinfo[i] === 1) return false;
    if (this.itemKids[i] === 1 && this.userAgeBand[u] === 0) return false;
    const br = this.itemBlockedRegion[i] as number;
    return br === 255 || br !== this.userRegion[u];
  }
}

function oneHot(n: number, k: number): Float32Array {
  const v = new Float32Array(n);
  v[k] = 1;
  return v;
}
