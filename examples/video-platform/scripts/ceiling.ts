/**
 * Diagnostic: how well can *any* model do in this world? NDCG@10 (realised gains, as in the
 * evaluation) of partial oracles that rank by the true formula with some inputs replaced by what
 * is observable: taste → the user's pooled history at the split (normalised), quality → the
 * smoothed watch rate of the split counters, per-pair noise → 0.
 *
 *   npx tsx scripts/ceiling.ts --preset demo --seed 1 --eval-users 300
 */
import { parseFlags } from '../../../bench/kit.js';
import { ndcg, mean, topK } from '../src/eval/metrics.js';
import { generateWorld } from '../src/world/generateWorld.js';
import { OBJECTIVE, groundTruth, newTruth, objectiveValue } from '../src/world/GroundTruth.js';
import { Rng, hashUniform, sigmoid } from '../src/world/internal/random.js';
import { DAY_S, World } from '../src/world/World.js';
import type { WorldPreset } from '../src/world/WorldConfig.js';
import { resolveWorldConfig } from '../src/world/WorldConfig.js';
import { WorldData } from '../src/world/WorldData.js';
import { DATA_DIR, worldOverrides } from './common.js';

const flags = parseFlags();
const cfg = resolveWorldConfig({ ...worldOverrides(flags), seed: Number(flags['seed'] ?? 1) }, (flags['preset'] ?? 'demo') as WorldPreset);
const h = generateWorld(cfg, { dataDir: DATA_DIR, progress: false });
const data = WorldData.load(h.dir);
const world = World.build(cfg);
const N = cfg.items;
const D = cfg.dim;
const maxUsers = Number(flags['eval-users'] ?? 300);
const picked: number[] = [];
const seen = new Set<number>();
for (let s = data.manifest.counts.trainSessions; s < data.sessions.n && picked.length < maxUsers; s++) {
  const u = data.sessions.user[s] as number;
  if (!seen.has(u)) {
    seen.add(u);
    picked.push(s);
  }
}
const rng = new Rng(cfg.seed, 0xe7a1);
// Taste without its idiosyncratic part: the user's two interest categories only (re-derived as World does).
const catTaste = new Float32Array(cfg.users * D);
for (let u = 0; u < cfg.users; u++) {
  const k1 = Math.floor(hashUniform(cfg.seed, 24, u, 1000) * cfg.categories);
  const k2 = Math.floor(hashUniform(cfg.seed, 24, u, 1001) * cfg.categories);
  let n = 0;
  for (let d = 0; d < D; d++) {
    const v = 0.75 * (world.centroids[k1 * D + d] as number) + 0.45 * (world.centroids[k2 * D + d] as number);
    catTaste[u * D + d] = v;
    n += v * v;
  }
  for (let d = 0; d < D; d++) catTaste[u * D + d] = (catTaste[u * D + d] as number) / Math.sqrt(n);
}
const catA = (u: number, i: number) => {
  let a = 0;
  for (let d = 0; d < D; d++) a += (catTaste[u * D + d] as number) * (world.itemContent[i * D + d] as number);
  return a;
};
const tr = newTruth();
const res: Record<string, number[]> = {
  oracle: [],
  noNoise: [],
  catTaste: [],
  histTaste: [],
  histTasteObsQ: [],
  noTaste: [],
  popularity: [],
};
const pop = Int32Array.from({ length: N }, (_, i) => i).sort((a, b) => (data.splitClicks[b] as number) - (data.splitClicks[a] as number));
let histLenSum = 0;
for (const s of picked) {
  const u = data.sessions.user[s] as number;
  const tS = data.sessions.timeS[s] as number;
  const hist = data.historyAtSplit(u);
  histLenSum += hist.length;
  const pool = data.pool(hist);
  let pn = 0;
  for (let d = 0; d < D; d++) pn += (pool[d] as number) ** 2;
  pn = Math.sqrt(pn) || 1;
  const V = new Float64Array(N);
  const realised = new Float64Array(N);
  const scores: Record<string, Float64Array> = Object.fromEntries(Object.keys(res).map((k) => [k, new Float64Array(N)]));
  for (let i = 0; i < N; i++) {
    if (!data.eligible(u, i) || (data.itemPublishedS[i] as number) > tS) {
      V[i] = Number.NEGATIVE_INFINITY;
      continue;
    }
    groundTruth(world, u, i, tS, tr);
    V[i] = tr.value;
    let g = 0;
    if (rng.next() < tr.pClick) {
      const wf = Math.min(1, Math.max(0, tr.watch + 0.15 * rng.gaussian()));
      const rep = rng.next() < tr.pReport ? 1 : 0;
      const sat = rep === 0 && rng.next() < tr.pSat ? 1 : 0;
      g = Math.max(0, wf + OBJECTIVE.satisfaction * sat - OBJECTIVE.report * rep);
    }
    realised[i] = g;
    let a = 0;
    let ah = 0;
    for (let d = 0; d < D; d++) {
      a += (world.userTaste[u * D + d] as number) * (world.itemTopic[i * D + d] as number);
      ah += ((pool[d] as number) / pn) * (world.itemContent[i * D + d] as number);
    }
    const q = (world.itemQuality[i] as number) - 0.5;
    const clicks = data.splitClicks[i] as number;
    const qObs = ((data.splitWatch[i] as number) + 0.5 * 5) / (clicks + 5) - 0.5;
    const age = Math.max(0, (tS - (world.itemPublishedS[i] as number)) / DAY_S);
    const f = Math.exp(-age / 10);
    const z = world.creatorPopZ[world.itemCreator[i] as number] as number;
    const L = world.userLanguage[u] === world.itemLanguage[i] ? 1 : 0;
    const val = (aa: number, qq: number) =>
      objectiveValue(
        sigmoid(-2.6 + 3.5 * aa + 2.4 * qq + 0.6 * f + 0.35 * z + 1.0 * L - 0.8 * (1 - L)),
        sigmoid(-0.3 + 2.5 * aa + 3.0 * qq),
        sigmoid(-4.5 + 2.5 * (world.itemMisinfo[i] as number) - 3.0 * qq - 1.0 * aa),
        sigmoid(-0.5 + 2.0 * aa + 4.0 * qq),
      );
    (scores['oracle'] as Float64Array)[i] = tr.value;
    (scores['noNoise'] as Float64Array)[i] = val(a, q);
    (scores['histTaste'] as Float64Array)[i] = val(hist.length > 0 ? ah : 0, q);
    (scores['histTasteObsQ'] as Float64Array)[i] = val(hist.length > 0 ? ah : 0, qObs);
    (scores['noTaste'] as Float64Array)[i] = val(0, q);
    (scores['catTaste'] as Float64Array)[i] = val(catA(u, i), q);
  }
  const allowed = (i: number) => V[i] !== Number.NEGATIVE_INFINITY;
  for (const k of Object.keys(res)) {
    const list = k === 'popularity' ? Array.from(pop).filter(allowed).slice(0, 10) : topK(scores[k] as Float64Array, 10, allowed);
    (res[k] as number[]).push(
      ndcg(
        list.map((i) => realised[i] as number),
        realised,
        10,
      ),
    );
  }
}
const o = mean(res['oracle'] as number[]);
console.log(`seed ${cfg.seed}: ${picked.length} users, mean history at split ${(histLenSum / picked.length).toFixed(1)}`);
for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(16)} ndcg ${mean(v).toFixed(3)}  × oracle ${(mean(v) / o).toFixed(3)}`);
