import { AliasTable, hashGaussian, hashUniform, sigmoid } from './internal/random.js';
import type { WorldConfig } from './WorldConfig.js';

/** Start of the training window: world time 0 (ms since epoch). */
export const WORLD_EPOCH_MS = Date.UTC(2025, 0, 6);
/** Seconds per day. */
export const DAY_S = 86_400;

// Tags that separate the counter-based random streams of the entities.
const T = {
  centroid: 1,
  creatorPop: 2,
  creatorLang: 3,
  creatorCat: 4,
  creatorFollow: 5,
  itemCreator: 10,
  itemCat: 11,
  itemTopic: 12,
  itemContent: 13,
  itemQuality: 14,
  itemPublish: 15,
  itemPolicy: 16,
  userRegion: 20,
  userLang: 21,
  userDevice: 22,
  userAge: 23,
  userTaste: 24,
  userCold: 25,
} as const;

function normalise(v: Float32Array, off: number, d: number): void {
  let s = 0;
  for (let k = 0; k < d; k++) s += (v[off + k] as number) ** 2;
  const inv = 1 / Math.sqrt(s || 1);
  for (let k = 0; k < d; k++) v[off + k] = (v[off + k] as number) * inv;
}

/**
 * The entities of a synthetic world: users, items and creators, as typed arrays (no per-entity
 * objects, so 1M × 1M fits in a few hundred MB). A pure function of the {@link WorldConfig}:
 * building twice with the same settings gives identical arrays.
 *
 * Ids: user `u<index>`, item `v<index>`, creator `c<index>`; regions `r<k>`, languages `l<k>`,
 * devices `d<k>`, age bands `a<k>` (band `a0` is minors), categories `k<k>`.
 *
 * @example
 * ```ts
 * const world = World.build(resolveWorldConfig({ seed: 1 }, 'tiny'));
 * world.itemCategory[0]; // category index of item v0
 * ```
 */
export class World {
  readonly cfg: WorldConfig;
  readonly nCreators: number;
  /** Category centroids, [categories × dim]. */
  readonly centroids: Float32Array;
  /** Creator popularity, standardised log (heavy-tailed, Pareto α = 1.1). */
  readonly creatorPopZ: Float32Array;
  /** Observable follower count of each creator (popularity × log-normal measurement noise). */
  readonly creatorFollowers: Float32Array;
  readonly creatorLanguage: Uint8Array;
  readonly itemCreator: Uint32Array;
  readonly itemCategory: Uint8Array;
  readonly itemLanguage: Uint8Array;
  /** Latent topic, unit norm, [items × dim]. Hidden from models. */
  readonly itemTopic: Float32Array;
  /** Observable content embedding (topic + noise), [items × dim]. */
  readonly itemContent: Float32Array;
  /** Latent quality in (0, 1). Hidden from models. */
  readonly itemQuality: Float32Array;
  /** Publish time in world seconds (negative = before the training window). */
  readonly itemPublishedS: Int32Array;
  readonly itemKids: Uint8Array;
  /** Region index the item is blocked in, or 255 for none. */
  readonly itemBlockedRegion: Uint8Array;
  readonly itemMisinfo: Uint8Array;
  readonly userRegion: Uint8Array;
  readonly userLanguage: Uint8Array;
  readonly userDevice: Uint8Array;
  readonly userAgeBand: Uint8Array;
  /** Cold users have no sessions in the training window. */
  readonly userCold: Uint8Array;
  /** Latent taste, unit norm, [users × dim]. Hidden from models. */
  readonly userTaste: Float32Array;

  private constructor(cfg: WorldConfig) {
    this.cfg = cfg;
    const { seed, dim: D, items: N, users: U } = cfg;
    const C = Math.ceil(N / cfg.itemsPerCreator);
    this.nCreators = C;
    this.centroids = new Float32Array(cfg.categories * D);
    for (let k = 0; k < cfg.categories; k++) {
      for (let d = 0; d < D; d++) this.centroids[k * D + d] = hashGaussian(seed, T.centroid, k, d);
      normalise(this.centroids, k * D, D);
    }
    // Languages are skewed: language 0 is the most common.
    const langW = Array.from({ length: cfg.languages }, (_, l) => 1 / (1 + l));
    const langCdf = cdf(langW);
    this.creatorPopZ = new Float32Array(C);
    this.creatorFollowers = new Float32Array(C);
    this.creatorLanguage = new Uint8Array(C);
    const creatorCat = new Uint8Array(C);
    let m = 0;
    let m2 = 0;
    for (let c = 0; c < C; c++) {
      const pop = Math.pow(1 - hashUniform(seed, T.creatorPop, c), -1 / 1.1);
      const lp = Math.log(pop);
      this.creatorPopZ[c] = lp;
      m += lp;
      m2 += lp * lp;
      this.creatorFollowers[c] = Math.round(100 * pop * Math.exp(0.3 * hashGaussian(seed, T.creatorFollow, c)));
      this.creatorLanguage[c] = pick(langCdf, hashUniform(seed, T.creatorLang, c));
      creatorCat[c] = Math.floor(hashUniform(seed, T.creatorCat, c) * cfg.categories);
    }
    m /= C;
    const sd = Math.sqrt(Math.max(1e-9, m2 / C - m * m));
    for (let c = 0; c < C; c++) this.creatorPopZ[c] = ((this.creatorPopZ[c] as number) - m) / sd;

    this.itemCreator = new Uint32Array(N);
    this.itemCategory = new Uint8Array(N);
    this.itemLanguage = new Uint8Array(N);
    this.itemTopic = new Float32Array(N * D);
    this.itemContent = new Float32Array(N * D);
    this.itemQuality = new Float32Array(N);
    this.itemPublishedS = new Int32Array(N);
    this.itemKids = new Uint8Array(N);
    this.itemBlockedRegion = new Uint8Array(N).fill(255);
    this.itemMisinfo = new Uint8Array(N);
    const invSqrtD = 1 / Math.sqrt(D);
    const horizon = (cfg.trainDays + cfg.evalDays) * DAY_S;
    for (let i = 0; i < N; i++) {
      const c = Math.floor(hashUniform(seed, T.itemCreator, i) * C);
      this.itemCreator[i] = c;
      const u = hashUniform(seed, T.itemCat, i);
      const cat = u < 0.7 ? (creatorCat[c] as number) : Math.floor(((u - 0.7) / 0.3) * cfg.categories) % cfg.categories;
      this.itemCategory[i] = cat;
      this.itemLanguage[i] = this.creatorLanguage[c] as number;
      const o = i * D;
      for (let d = 0; d < D; d++) {
        this.itemTopic[o + d] = (this.centroids[cat * D + d] as number) + 0.7 * invSqrtD * hashGaussian(seed, T.itemTopic, i, d);
      }
      normalise(this.itemTopic, o, D);
      for (let d = 0; d < D; d++) {
        this.itemContent[o + d] = (this.itemTopic[o + d] as number) + 0.35 * invSqrtD * hashGaussian(seed, T.itemContent, i, d);
      }
      this.itemQuality[i] = sigmoid(1.2 * hashGaussian(seed, T.itemQuality, i));
      const up = hashUniform(seed, T.itemPublish, i, 0);
      const ut = hashUniform(seed, T.itemPublish, i, 1);
      this.itemPublishedS[i] = up < cfg.freshItemShare ? Math.floor(ut * horizon) : -Math.floor(ut * 60 * DAY_S) - 1;
      const pol = hashUniform(seed, T.itemPolicy, i, 0);
      if (pol < cfg.kidsRestrictedShare) this.itemKids[i] = 1;
      else if (pol < cfg.kidsRestrictedShare + cfg.regionRestrictedShare)
        this.itemBlockedRegion[i] = Math.floor(hashUniform(seed, T.itemPolicy, i, 1) * cfg.regions);
      else if (pol < cfg.kidsRestrictedShare + cfg.regionRestrictedShare + cfg.misinformationShare) this.itemMisinfo[i] = 1;
    }

    this.userRegion = new Uint8Array(U);
    this.userLanguage = new Uint8Array(U);
    this.userDevice = new Uint8Array(U);
    this.userAgeBand = new Uint8Array(U);
    this.userCold = new Uint8Array(U);
    this.userTaste = new Float32Array(U * D);
    const regionCdf = cdf(Array.from({ length: cfg.regions }, (_, r) => 1 / (1 + 0.5 * r)));
    const deviceCdf = cdf(Array.from({ length: cfg.devices }, (_, d) => 1 / (1 + 2 * d)));
    for (let u = 0; u < U; u++) {
      const r = pick(regionCdf, hashUniform(seed, T.userRegion, u));
      this.userRegion[u] = r;
      const ul = hashUniform(seed, T.userLang, u, 0);
      this.userLanguage[u] = ul < 0.8 ? r % cfg.languages : pick(langCdf, hashUniform(seed, T.userLang, u, 1));
      this.userDevice[u] = pick(deviceCdf, hashUniform(seed, T.userDevice, u));
      this.userAgeBand[u] = Math.floor(hashUniform(seed, T.userAge, u) * cfg.ageBands);
      this.userCold[u] = hashUniform(seed, T.userCold, u) < cfg.coldUserShare ? 1 : 0;
      const k1 = Math.floor(hashUniform(seed, T.userTaste, u, 1000) * cfg.categories);
      const k2 = Math.floor(hashUniform(seed, T.userTaste, u, 1001) * cfg.categories);
      const o = u * D;
      for (let d = 0; d < D; d++) {
        this.userTaste[o + d] =
          0.75 * (this.centroids[k1 * D + d] as number) +
          0.45 * (this.centroids[k2 * D + d] as number) +
          cfg.tasteNoise * invSqrtD * hashGaussian(seed, T.userTaste, u, d);
      }
      normalise(this.userTaste, o, D);
    }
  }

  /** Builds the entities of a world (deterministic in `cfg`). */
  static build(cfg: WorldConfig): World {
    return new World(cfg);
  }

  /** Hard policy: may item `i` be shown to user `u`? (kids-restricted items never to band a0, region blocks, misinformation never). */
  eligible(u: number, i: number): boolean {
    if (this.itemMisinfo[i] === 1) return false;
    if (this.itemKids[i] === 1 && this.userAgeBand[u] === 0) return false;
    const br = this.itemBlockedRegion[i] as number;
    return br === 255 || br !== this.userRegion[u];
  }

  /** Static weights of the logging policy's popularity draw: followers^0.7 of the item's creator. */
  loggingWeights(): Float64Array {
    const w = new Float64Array(this.cfg.items);
    for (let i = 0; i < this.cfg.items; i++) w[i] = Math.pow(this.creatorFollowers[this.itemCreator[i] as number] as number, 0.7) + 1;
    return w;
  }

  /** An alias table over {@link loggingWeights}. */
  loggingTable(): AliasTable {
    return new AliasTable(this.loggingWeights());
  }
}

function cdf(w: readonly number[]): Float64Array {
  const out = new Float64Array(w.length);
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] as number;
  let acc = 0;
  for (let i = 0; i < w.length; i++) {
    acc += (w[i] as number) / s;
    out[i] = acc;
  }
  return out;
}

function pick(c: Float64Array, u: number): number {
  for (let i = 0; i < c.length; i++) if (u < (c[i] as number)) return i;
  return c.length - 1;
}
