import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { VideoPlatformErrors } from '../errors.js';
import { auc } from '../eval/metrics.js';
import type { WorldHandle } from '../world/generateWorld.js';
import { writeColumn } from '../world/internal/binio.js';
import type { ColumnFile } from '../world/internal/binio.js';
import { progress, progressDefault } from '../world/internal/progress.js';
import { Rng } from '../world/internal/random.js';
import { WorldData } from '../world/WorldData.js';
import type { ParityResult } from './checkParity.js';
import { PARITY_TOLERANCE, checkParity } from './checkParity.js';
import type { FeatureSpec, RawRows } from './FeatureSpec.js';
import { FeatureAssembler, emptyRows, fitNormalisation } from './FeatureSpec.js';
import type { Dims } from './featureSets.js';
import { DROPPABLE_GROUPS, coarseSpec, degradedSpec, fineSpec, itemTowerSpec, userTowerSpec } from './featureSets.js';
import type { HeadLoss } from './internal/fit.js';
import { fitRanker, fitTwoTower } from './internal/fit.js';
import { Mlp } from './internal/Mlp.js';
import type { ModelCard } from './ModelCard.js';
import { exportMlpToOnnx } from './OnnxExport.js';
import { initTf } from './tfBackend.js';

/** Version of the models directory format; part of the cache key. */
export const MODELS_SCHEMA_VERSION = 1;

/** Training settings. Part of the cache key. */
export interface TrainConfig {
  readonly seed: number;
  readonly embeddingDim: number;
  readonly towerEpochs: number;
  readonly towerBatch: number;
  readonly temperature: number;
  readonly rankEpochs: number;
  readonly rankBatch: number;
  /** Probability that training drops each droppable feature group of a row (missing-feature augmentation). */
  readonly dropRate: number;
  /** Held-out rows used for the ONNX parity check. */
  readonly parityRows: number;
}

/** Defaults per world scale. */
export const TRAIN_PRESETS = {
  tiny: { towerEpochs: 40, rankEpochs: 3, towerBatch: 256, rankBatch: 512 },
  demo: { towerEpochs: 10, rankEpochs: 2, towerBatch: 512, rankBatch: 1024 },
  large: { towerEpochs: 3, rankEpochs: 1, towerBatch: 1024, rankBatch: 2048 },
} as const satisfies Record<string, Partial<TrainConfig>>;

/** Fills training defaults. */
export function resolveTrainConfig(
  partial: Partial<TrainConfig> & { seed: number },
  preset: keyof typeof TRAIN_PRESETS = 'demo',
): TrainConfig {
  return {
    embeddingDim: 32,
    temperature: 0.1,
    dropRate: 0.1,
    parityRows: 512,
    ...TRAIN_PRESETS[preset],
    ...partial,
  } as TrainConfig;
}

/** One exported model in the models manifest. Paths are relative to the models directory. */
export interface ModelEntry {
  readonly onnx: string;
  readonly featureSpec: string;
  readonly card: string;
  readonly inputWidth: number;
  readonly outputs: readonly string[];
}

/** `manifest.json` of a models directory: what a server loads. */
export interface ModelsManifest {
  readonly kind: 'recspine-video-models';
  readonly schemaVersion: number;
  readonly key: string;
  readonly version: string;
  /** The world these models were trained on (directory relative to this one, and its key). */
  readonly world: { readonly dir: string; readonly key: string; readonly manifest: string };
  readonly trainWindow: { readonly fromMs: number; readonly toMs: number };
  readonly models: {
    readonly userTower: ModelEntry;
    readonly coarse: ModelEntry;
    readonly fine: ModelEntry;
    readonly degraded: ModelEntry;
  };
  /** Item embeddings for the ANN index ([items × dim], row i = item `v<i>`), with the item tower's spec. */
  readonly itemEmbeddings: ColumnFile & { readonly idPrefix: 'v'; readonly itemTowerSpec: string; readonly metric: 'inner_product' };
  /** Training-window popularity (clicks), items by descending count. */
  readonly popularity: ColumnFile;
  /** Objective weights used to combine the heads: `ctr · (watch + satisfaction·s − report·r)`. */
  readonly objective: { readonly satisfaction: number; readonly report: number };
  readonly trainSeconds: number;
  /** CPU time of the training process (user + system): robust to other load on a shared machine. */
  readonly trainCpuSeconds: number;
  readonly trainConfig: TrainConfig;
  readonly createdAt: string;
}

/** A trained models directory. */
export interface ModelsHandle {
  readonly dir: string;
  readonly manifest: ModelsManifest;
  readonly cached: boolean;
}

/** Options of {@link trainModels}. */
export interface TrainOptions {
  readonly progress?: boolean;
  readonly force?: boolean;
  readonly log?: (line: string) => void;
}

/** Cache key of a models directory: world key + training settings + schema. */
export function modelsCacheKey(worldKey: string, cfg: TrainConfig): string {
  const keys = Object.keys(cfg).sort() as (keyof TrainConfig)[];
  const canon = JSON.stringify({ v: MODELS_SCHEMA_VERSION, worldKey, ...Object.fromEntries(keys.map((k) => [k, cfg[k]])) });
  return createHash('sha256').update(canon).digest('hex').slice(0, 12);
}

interface Built {
  X: Float32Array;
  spec: FeatureSpec;
}

/**
 * Builds a model input matrix through the {@link FeatureAssembler} — the same code that builds
 * serving inputs — after fitting the normalisation on (up to 50k) un-augmented rows.
 */
function build(
  specDef: FeatureSpec,
  n: number,
  rowsOf: (k: number, r: RawRows) => RawRows,
  drop?: (k: number) => ReadonlySet<string> | undefined,
): Built {
  const fitN = Math.min(n, 50_000);
  const rawAsm = new FeatureAssembler(specDef);
  const raw = new Float32Array(fitN * specDef.width);
  const scratch = emptyRows();
  const stride = n / fitN;
  for (let k = 0; k < fitN; k++) rawAsm.assemble(rowsOf(Math.floor(k * stride), scratch), raw, k * specDef.width);
  const spec = fitNormalisation(specDef, raw, fitN);
  const asm = new FeatureAssembler(spec);
  const X = new Float32Array(n * spec.width);
  for (let k = 0; k < n; k++) asm.assemble(rowsOf(k, scratch), X, k * spec.width, drop?.(k));
  return { X, spec };
}

/**
 * Trains every model of the example on a generated world — the two-tower retrieval model, the
 * coarse ranker, the multi-task fine ranker and the degraded-mode ranker — exports each to ONNX
 * with its feature spec and model card, checks ONNX/trainer parity, and writes a manifest. Cached
 * by world key + training settings: a rerun with the same settings returns at once.
 *
 * @throws RECSPINE_ERR_VP_TRAINING when a model has non-finite weights or there is too little data;
 *   RECSPINE_ERR_VP_PARITY when an export disagrees with the trainer beyond 1e-4.
 * @example
 * ```ts
 * const models = await trainModels(world, resolveTrainConfig({ seed: 1 }, 'tiny'));
 * models.manifest.models.fine.onnx; // 'fine.onnx'
 * ```
 */
export async function trainModels(world: WorldHandle, cfg: TrainConfig, opts: TrainOptions = {}): Promise<ModelsHandle> {
  const key = modelsCacheKey(world.manifest.key, cfg);
  const dir = join(world.dir, `models-${key}`);
  const mPath = join(dir, 'manifest.json');
  if (!opts.force && existsSync(mPath)) {
    const manifest = JSON.parse(readFileSync(mPath, 'utf8')) as ModelsManifest;
    if (manifest.schemaVersion === MODELS_SCHEMA_VERSION) return { dir, manifest, cached: true };
  }
  const log = opts.log ?? (() => undefined);
  const show = opts.progress ?? progressDefault();
  await initTf();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });

  const data = WorldData.load(world.dir);
  const wc = data.manifest.config;
  const dims: Dims = wc;
  const imp = data.impressions;
  const ses = data.sessions;
  const trainN = data.manifest.counts.trainImpressions;
  const heldN = imp.n - trainN;
  const N = data.nItems;
  const rng = new Rng(cfg.seed, 0xd20);
  if (trainN < 1000 || heldN < 100) {
    throw VideoPlatformErrors.create(
      'RECSPINE_ERR_VP_TRAINING',
      `too little traffic to train (${trainN} train / ${heldN} held-out impressions)`,
      { stage: 'train' },
    );
  }

  // ---- two-tower ----
  const positives: number[] = [];
  for (let r = 0; r < trainN; r++) if (imp.click[r] === 1 && (imp.watch[r] as number) >= 0.3) positives.push(r);
  const posItem = Int32Array.from(positives, (r) => imp.item[r] as number);
  const counts = new Float32Array(N);
  for (const i of posItem) counts[i] = (counts[i] as number) + 1;
  const logQ = Float32Array.from(counts, (c) => Math.log((c + 1) / (posItem.length + N)));
  const item = build(itemTowerSpec(dims), N, (i, r) => ({ ...r, item: data.itemRowAtSplit(i) }));
  const userOfPos = build(userTowerSpec(dims), positives.length, (k, r) => ({
    ...r,
    user: data.userRowOfSession(imp.session[positives[k] as number] as number),
  }));
  const userTower = new Mlp(userOfPos.spec.width, [64], { embedding: cfg.embeddingDim }, 'l2normalize', cfg.seed + 1);
  const itemTower = new Mlp(item.spec.width, [64], { embedding: cfg.embeddingDim }, 'l2normalize', cfg.seed + 2);
  let bar = progress('train: two-tower', cfg.towerEpochs, show);
  const tt = fitTwoTower(userTower, itemTower, userOfPos.X, userOfPos.spec.width, item.X, item.spec.width, posItem, logQ, {
    epochs: cfg.towerEpochs,
    batch: cfg.towerBatch,
    lr: 3e-3,
    temperature: cfg.temperature,
    seed: cfg.seed,
    onEpoch: () => bar.tick(),
  });
  bar.stop();
  log(`two-tower: ${positives.length} positives, ${tt.steps} steps, loss ${tt.finalLoss.toFixed(3)}`);
  if (!userTower.finite() || !itemTower.finite())
    throw VideoPlatformErrors.create('RECSPINE_ERR_VP_TRAINING', 'two-tower weights are not finite', { stage: 'train/two-tower' });
  const itemEmb = itemTower.predictArrays(item.X, N, item.spec.width)['embedding'] as Float32Array;
  // User embedding of every logged session (served features), then the per-impression tt_score.
  const userSpecFinal = userOfPos.spec;
  const uAsm = new FeatureAssembler(userSpecFinal);
  const Xs = new Float32Array(ses.n * userSpecFinal.width);
  const scratch = emptyRows();
  for (let s = 0; s < ses.n; s++) uAsm.assemble({ ...scratch, user: data.userRowOfSession(s) }, Xs, s * userSpecFinal.width);
  const sessEmb = userTower.predictArrays(Xs, ses.n, userSpecFinal.width)['embedding'] as Float32Array;
  const E = cfg.embeddingDim;
  const ttScore = new Float32Array(imp.n);
  for (let r = 0; r < imp.n; r++) {
    const s = imp.session[r] as number;
    const i = imp.item[r] as number;
    let d = 0;
    for (let k = 0; k < E; k++) d += (sessEmb[s * E + k] as number) * (itemEmb[i * E + k] as number);
    ttScore[r] = d;
  }

  // ---- rankers: labels ----
  const label = {
    click: Float32Array.from(imp.click),
    watch: Float32Array.from(imp.watch),
    report: Float32Array.from(imp.report),
    sat: Float32Array.from(imp.sat),
    engaged: Float32Array.from(imp.click, (c, r) => (c === 1 && (imp.watch[r] as number) >= 0.3 ? 1 : 0)),
  };
  const clickMask = label.click;
  const multiTask = (from: number, n: number): HeadLoss[] => [
    { head: 'ctr', kind: 'pal', label: label.click.subarray(from, from + n), weight: 1 },
    { head: 'watch', kind: 'bce', label: label.watch.subarray(from, from + n), mask: clickMask.subarray(from, from + n), weight: 0.5 },
    { head: 'report', kind: 'bce', label: label.report.subarray(from, from + n), mask: clickMask.subarray(from, from + n), weight: 0.5 },
    { head: 'satisfaction', kind: 'bce', label: label.sat.subarray(from, from + n), mask: clickMask.subarray(from, from + n), weight: 0.5 },
  ];
  const rowsFor =
    (which: 'fine' | 'degraded' | 'coarse') =>
    (k: number, r: RawRows): RawRows => {
      const s = imp.session[k] as number;
      const itemRow = data.itemRowOfImpression(k);
      if (which === 'fine') return { ...r, user: data.userRowOfSession(s), item: itemRow, context: data.contextOfSession(s) };
      return { ...r, item: itemRow, context: data.contextOfSession(s), candidate: { tt_score: ttScore[k] as number } };
    };
  const dropSets: ReadonlySet<string>[] = [];
  const dropFine = (): ReadonlySet<string> | undefined => {
    const groups = DROPPABLE_GROUPS.filter(() => rng.next() < cfg.dropRate);
    if (groups.length === 0) return undefined;
    const set = new Set<string>(groups);
    dropSets.push(set);
    return set;
  };
  const retrievalDrop: ReadonlySet<string> = new Set(['retrieval']);
  const dropRetrieval = (): ReadonlySet<string> | undefined => (rng.next() < cfg.dropRate ? retrievalDrop : undefined);

  const all = imp.n;
  const fine = build(fineSpec(dims), all, rowsFor('fine'), (k) => (k < trainN ? dropFine() : undefined));
  const degraded = build(degradedSpec(dims), all, rowsFor('degraded'), (k) => (k < trainN ? dropRetrieval() : undefined));
  const coarse = build(coarseSpec(), all, rowsFor('coarse'), (k) => (k < trainN ? dropRetrieval() : undefined));

  const positions = Uint8Array.from(imp.position);
  const S = wc.slateSize;
  const fineModel = new Mlp(fine.spec.width, [128, 64], { ctr: 1, watch: 1, report: 1, satisfaction: 1 }, 'sigmoid', cfg.seed + 3);
  const degModel = new Mlp(degraded.spec.width, [64, 32], { ctr: 1, watch: 1, report: 1, satisfaction: 1 }, 'sigmoid', cfg.seed + 4);
  const coarseModel = new Mlp(coarse.spec.width, [16], { score: 1 }, 'sigmoid', cfg.seed + 5);
  bar = progress('train: rankers', cfg.rankEpochs * 3, show);
  const common = {
    epochs: cfg.rankEpochs,
    batch: cfg.rankBatch,
    lr: 2e-3,
    seed: cfg.seed,
    positions,
    slateSize: S,
    onEpoch: () => bar.tick(),
  };
  const fineFit = fitRanker(fineModel, fine.X, trainN, fine.spec.width, multiTask(0, trainN), common);
  const degFit = fitRanker(degModel, degraded.X, trainN, degraded.spec.width, multiTask(0, trainN), common);
  const coarseFit = fitRanker(
    coarseModel,
    coarse.X,
    trainN,
    coarse.spec.width,
    [{ head: 'score', kind: 'pal', label: label.engaged, weight: 1 }],
    common,
  );
  bar.stop();
  for (const [name, m] of [
    ['fine', fineModel],
    ['degraded', degModel],
    ['coarse', coarseModel],
  ] as const) {
    if (!m.finite())
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_TRAINING', `${name} weights are not finite`, { stage: `train/${name}` });
  }
  log(
    `rankers: fine ${fineFit.steps} steps loss ${fineFit.finalLoss.toFixed(4)}; degraded loss ${degFit.finalLoss.toFixed(4)}; coarse loss ${coarseFit.finalLoss.toFixed(4)}`,
  );
  log(`examination learned (PAL) by position: ${Array.from(fineFit.positionLogits, (z) => (1 / (1 + Math.exp(-z))).toFixed(2)).join(' ')}`);

  // ---- held-out AUC per head (the held-out window's logged labels) ----
  const heldAuc = (m: Mlp, X: Float32Array, W: number): Record<string, number> => {
    const p = m.predictArrays(X.subarray(trainN * W), heldN, W);
    const click = label.click.subarray(trainN);
    const out: Record<string, number> = {};
    if (p['ctr']) {
      out['ctr'] = auc(p['ctr'], click);
      out['watch'] = auc(
        p['watch'] as Float32Array,
        Float32Array.from(label.watch.subarray(trainN), (w) => (w >= 0.5 ? 1 : 0)),
        click,
      );
      out['report'] = auc(p['report'] as Float32Array, label.report.subarray(trainN), click);
      out['satisfaction'] = auc(p['satisfaction'] as Float32Array, label.sat.subarray(trainN), click);
    }
    if (p['score']) out['score'] = auc(p['score'], label.engaged.subarray(trainN));
    return out;
  };
  const fineAuc = heldAuc(fineModel, fine.X, fine.spec.width);
  const degAuc = heldAuc(degModel, degraded.X, degraded.spec.width);
  const coarseAuc = heldAuc(coarseModel, coarse.X, coarse.spec.width);
  log(
    `held-out AUC fine ${JSON.stringify(round(fineAuc))} degraded ${JSON.stringify(round(degAuc))} coarse ${JSON.stringify(round(coarseAuc))}`,
  );

  // ---- export, parity, cards ----
  const trainWindow = { fromMs: data.ms(0), toMs: data.ms(data.manifest.splitS) };
  const version = `${world.manifest.key}-${key}`;
  const parityRows = Math.min(cfg.parityRows, heldN);
  const exportOne = async (
    name: string,
    m: Mlp,
    spec: FeatureSpec,
    heldX: Float32Array,
    metrics: Record<string, number>,
    notes: Record<string, unknown>,
  ): Promise<ModelEntry> => {
    const bytes = exportMlpToOnnx(m.weights(), { name, version, docString: `RecSpine video-platform ${name} model` });
    const parity: ParityResult = await checkParity(bytes, m, heldX, Math.min(parityRows, heldX.length / spec.width), spec.width);
    if (!(parity.maxAbsDiff <= PARITY_TOLERANCE)) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_PARITY', `${name}: ONNX differs from tfjs by ${parity.maxAbsDiff}`, {
        stage: `train/${name}`,
      });
    }
    writeFileSync(join(tmp, `${name}.onnx`), bytes);
    writeFileSync(join(tmp, `${name}.features.json`), JSON.stringify(spec, null, 2));
    const card: ModelCard = {
      kind: 'recspine-model-card',
      schemaVersion: MODELS_SCHEMA_VERSION,
      featureSchemaVersion: spec.schemaVersion,
      model: name,
      version,
      onnx: `${name}.onnx`,
      featureSpec: `${name}.features.json`,
      input: { name: 'features', width: spec.width },
      outputs: spec.outputs,
      trainWindow: { fromIso: new Date(trainWindow.fromMs).toISOString(), toIso: new Date(trainWindow.toMs).toISOString() },
      evalWindow: { fromIso: new Date(trainWindow.toMs).toISOString(), toIso: new Date(data.ms(data.manifest.endS)).toISOString() },
      world: { key: world.manifest.key, config: wc },
      metrics,
      parity: { rows: parity.rows, maxAbsDiff: parity.maxAbsDiff, tolerance: PARITY_TOLERANCE, runtime: 'onnxruntime-node' },
      notes,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(tmp, `${name}.card.json`), JSON.stringify(card, null, 2));
    log(`${name}: exported, parity max |Δ| = ${parity.maxAbsDiff.toExponential(2)}`);
    return {
      onnx: `${name}.onnx`,
      featureSpec: `${name}.features.json`,
      card: `${name}.card.json`,
      inputWidth: spec.width,
      outputs: spec.outputs,
    };
  };
  const heldUser = new Float32Array(parityRows * userSpecFinal.width);
  for (let k = 0; k < parityRows; k++) {
    const s = imp.session[trainN + k] as number;
    heldUser.set(Xs.subarray(s * userSpecFinal.width, (s + 1) * userSpecFinal.width), k * userSpecFinal.width);
  }
  const positionBias = 'PAL: click likelihood σ(model)·σ(b_position) in training; position is never a serving feature';
  const mUser = await exportOne(
    'user_tower',
    userTower,
    userSpecFinal,
    heldUser,
    { inBatchLoss: tt.finalLoss },
    {
      negativeSampling: `in-batch negatives (batch ${cfg.towerBatch}) with logQ correction, temperature ${cfg.temperature}`,
      positives: 'clicks with watched fraction ≥ 0.3 in the training window',
      embeddingDim: E,
    },
  );
  const tail = (b: Built) => b.X.subarray(trainN * b.spec.width);
  const mFine = await exportOne(
    'fine',
    fineModel,
    fine.spec,
    tail(fine),
    { ...prefix('auc.', fineAuc), finalLoss: fineFit.finalLoss },
    {
      positionBias,
      examinationByPosition: Array.from(fineFit.positionLogits, (z) => 1 / (1 + Math.exp(-z))),
      missingAugmentation: `each of ${DROPPABLE_GROUPS.join(', ')} dropped per row with p = ${cfg.dropRate}`,
      heads: 'ctr: P(click | examined); watch: E[watched fraction | click]; report: P(report | click); satisfaction: P(satisfied | click)',
    },
  );
  const mDeg = await exportOne(
    'degraded',
    degModel,
    degraded.spec,
    tail(degraded),
    { ...prefix('auc.', degAuc), finalLoss: degFit.finalLoss },
    {
      positionBias,
      featureDeprived: 'request context + catalog (incl. its daily popularity snapshot) + retrieval score only; no feature-store groups',
    },
  );
  const mCoarse = await exportOne(
    'coarse',
    coarseModel,
    coarse.spec,
    tail(coarse),
    { ...prefix('auc.', coarseAuc), finalLoss: coarseFit.finalLoss },
    {
      positionBias,
      label: 'engaged = click with watched fraction ≥ 0.3',
    },
  );
  const embFile = writeColumn(tmp, 'item_embeddings.f32', itemEmb, [N, E]);
  writeFileSync(join(tmp, 'item_tower.features.json'), JSON.stringify(item.spec, null, 2));
  const clicksByItem = new Float32Array(N);
  for (let r = 0; r < trainN; r++)
    if (imp.click[r] === 1) clicksByItem[imp.item[r] as number] = (clicksByItem[imp.item[r] as number] as number) + 1;
  const popOrder = Int32Array.from({ length: N }, (_, k) => k).sort(
    (a, b) => (clicksByItem[b] as number) - (clicksByItem[a] as number) || a - b,
  );
  const popFile = writeColumn(tmp, 'popularity.i32', popOrder);
  const manifest: ModelsManifest = {
    kind: 'recspine-video-models',
    schemaVersion: MODELS_SCHEMA_VERSION,
    key,
    version,
    world: { dir: relative(dir, world.dir) || '..', key: world.manifest.key, manifest: '../manifest.json' },
    trainWindow,
    models: { userTower: mUser, coarse: mCoarse, fine: mFine, degraded: mDeg },
    itemEmbeddings: { ...embFile, idPrefix: 'v', itemTowerSpec: 'item_tower.features.json', metric: 'inner_product' },
    popularity: popFile,
    objective: { satisfaction: 0.5, report: 3 },
    trainSeconds: (performance.now() - t0) / 1000,
    trainCpuSeconds: cpuSeconds(process.cpuUsage(cpu0)),
    trainConfig: cfg,
    createdAt: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
  for (const m of [userTower, itemTower, fineModel, degModel, coarseModel]) m.dispose();
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`training done in ${manifest.trainSeconds.toFixed(1)} s wall, ${manifest.trainCpuSeconds.toFixed(1)} s CPU → ${dir}`);
  return { dir, manifest, cached: false };
}

function cpuSeconds(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1e6;
}
function round(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
}
function prefix(p: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [p + k, v]));
}
