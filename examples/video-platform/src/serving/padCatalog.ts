import { VideoPlatformErrors } from '../errors.js';
import type { WorldData } from '../world/WorldData.js';
import { mulberry32 as rng } from '../mulberry32.js';

/** Largest padded catalog accepted (memory: ~2 KiB per item across catalog, index and stores). */
export const MAX_PADDED_ITEMS = 5_000_000;

/** What {@link padCatalog} returns. */
export interface PaddedCatalog {
  /** A view of the world whose item columns hold `target` items (the real ones first, unchanged). */
  readonly data: WorldData;
  /** Two-tower item embeddings, `target × dims`, row i = item `v<i>`. */
  readonly itemEmb: Float32Array;
  /** How many items are real (trained on, logged); the rest are synthetic. */
  readonly realItems: number;
  /** For each synthetic item `v<realItems + s>`, the real item it was drawn around. */
  readonly sourceOf: Uint32Array;
}

/** Standard normal from two uniforms (Box–Muller). */
function gauss(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

function grow<T extends Float32Array | Uint32Array | Uint8Array | Int32Array>(src: T, perItem: number, target: number): T {
  const Ctor = src.constructor as new (n: number) => T;
  const out = new Ctor(target * perItem);
  out.set(src);
  return out;
}

/**
 * Pads the trained demo world's catalog to `target` items, so the serving system can be load
 * tested at a catalog size (1M) whose world would be too expensive to generate and train.
 *
 * Each synthetic item is drawn around a uniformly chosen real item `j` (so the padded catalog
 * keeps the real one's joint distribution of category, creator popularity, language, publish time,
 * policy flags and counters): it copies `j`'s categorical columns and split counters, and its
 * content vector and two-tower embedding are `j`'s plus Gaussian noise (`contentNoise` × the
 * per-dimension standard deviation of the real content vectors; `embNoise` per dimension on the
 * embedding, then re-normalised to `j`'s norm, since the item tower ends in an L2 normalisation).
 * The real items keep their ids (`v0…v<n-1>`) and values; synthetic ones are `v<n>…v<target-1>`.
 *
 * The world view shares the real world's logs and users; only its item columns, item count and
 * key (`<key>+pad<target>`) differ. It is built on the `WorldData` prototype (not a subclass)
 * because `WorldData`'s constructor reads a world directory from disk; every `WorldData` method
 * reads the item columns through `this`, so the view serves them the padded arrays.
 *
 * @throws RECSPINE_ERR_VP_WORLD_CONFIG when `target` is smaller than the real catalog or too large.
 */
export function padCatalog(
  data: WorldData,
  itemEmb: Float32Array,
  target: number,
  opts: { readonly seed?: number; readonly contentNoise?: number; readonly embNoise?: number } = {},
): PaddedCatalog {
  const n = data.nItems;
  if (!Number.isInteger(target) || target < n || target > MAX_PADDED_ITEMS) {
    throw VideoPlatformErrors.create(
      'RECSPINE_ERR_VP_WORLD_CONFIG',
      `items: cannot pad a ${n}-item catalog to ${target} (expected an integer in [${n}, ${MAX_PADDED_ITEMS}])`,
      { field: 'items' },
    );
  }
  const D = data.dim;
  const E = itemEmb.length / n;
  if (target === n) return { data, itemEmb, realItems: n, sourceOf: new Uint32Array(0) };
  const r = rng(opts.seed ?? 1);
  const contentNoise = opts.contentNoise ?? 0.25;
  const embNoise = opts.embNoise ?? 0.05;

  // per-dimension standard deviation of the real content vectors
  const mean = new Float64Array(D);
  const sq = new Float64Array(D);
  for (let i = 0; i < n; i++)
    for (let d = 0; d < D; d++) {
      const v = data.itemContent[i * D + d] as number;
      mean[d] = (mean[d] as number) + v;
      sq[d] = (sq[d] as number) + v * v;
    }
  const sd = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    const m = (mean[d] as number) / n;
    sd[d] = Math.sqrt(Math.max(0, (sq[d] as number) / n - m * m));
  }

  const itemCreator = grow(data.itemCreator, 1, target);
  const itemCategory = grow(data.itemCategory, 1, target);
  const itemLanguage = grow(data.itemLanguage, 1, target);
  const itemPublishedS = grow(data.itemPublishedS, 1, target);
  const itemKids = grow(data.itemKids, 1, target);
  const itemBlockedRegion = grow(data.itemBlockedRegion, 1, target);
  const itemMisinfo = grow(data.itemMisinfo, 1, target);
  const itemContent = grow(data.itemContent, D, target);
  const splitImps = grow(data.splitImps, 1, target);
  const splitClicks = grow(data.splitClicks, 1, target);
  const splitWatch = grow(data.splitWatch, 1, target);
  const emb = new Float32Array(target * E);
  emb.set(itemEmb);
  const sourceOf = new Uint32Array(target - n);
  for (let i = n; i < target; i++) {
    const j = Math.min(n - 1, Math.floor(r() * n));
    sourceOf[i - n] = j;
    itemCreator[i] = data.itemCreator[j] as number;
    itemCategory[i] = data.itemCategory[j] as number;
    itemLanguage[i] = data.itemLanguage[j] as number;
    itemPublishedS[i] = data.itemPublishedS[j] as number;
    itemKids[i] = data.itemKids[j] as number;
    itemBlockedRegion[i] = data.itemBlockedRegion[j] as number;
    itemMisinfo[i] = data.itemMisinfo[j] as number;
    splitImps[i] = data.splitImps[j] as number;
    splitClicks[i] = data.splitClicks[j] as number;
    splitWatch[i] = data.splitWatch[j] as number;
    for (let d = 0; d < D; d++)
      itemContent[i * D + d] = (data.itemContent[j * D + d] as number) + contentNoise * (sd[d] as number) * gauss(r);
    let n0 = 0;
    let n1 = 0;
    for (let d = 0; d < E; d++) {
      const v0 = itemEmb[j * E + d] as number;
      const v = v0 + embNoise * gauss(r);
      n0 += v0 * v0;
      n1 += v * v;
      emb[i * E + d] = v;
    }
    const scale = n1 > 0 ? Math.sqrt(n0 / n1) : 1;
    for (let d = 0; d < E; d++) emb[i * E + d] = (emb[i * E + d] as number) * scale;
  }
  const manifest = {
    ...data.manifest,
    key: `${data.manifest.key}+pad${target}`,
    config: { ...data.manifest.config, items: target },
  };
  const view = Object.create(Object.getPrototypeOf(data) as object) as WorldData;
  Object.assign(view, data, {
    manifest,
    itemCreator,
    itemCategory,
    itemLanguage,
    itemPublishedS,
    itemKids,
    itemBlockedRegion,
    itemMisinfo,
    itemContent,
    splitImps,
    splitClicks,
    splitWatch,
    // WorldData's per-item cache of static feature rows, sized to the item count
    staticItems: new Array<unknown>(target),
  });
  return { data: view, itemEmb: emb, realItems: n, sourceOf };
}
