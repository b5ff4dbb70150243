import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { FeatureAssemblerSpec } from '@recspine/rank';
import { VideoPlatformErrors } from '../errors.js';
import { auc } from '../eval/metrics.js';
import type { WorldHandle } from '../world/generateWorld.js';
import { writeColumn } from '../world/internal/binio.js';
import type { ColumnFile } from '../world/internal/binio.js';
import { progress, progressDefault } from '../world/internal/progress.js';
import { Rng } from '../world/internal/random.js';
import { OBJECTIVE } from '../world/GroundTruth.js';
import { WorldData } from '../world/WorldData.js';
import type { LoggedEmbeddings } from './assembleLogged.js';
import { assembleCatalog, assembleLogged, fitNorms, normsFromMatrix } from './assembleLogged.js';
import type { ParityResult } from './checkParity.js';
import { PARITY_TOLERANCE, checkParity } from './checkParity.js';
import type { Dims, Norms } from './featureSets.js';
import { DROPPABLE_GROUPS, GROUPS, HEADS, coarseSpec, degradedSpec, fineSpec, itemTowerSpec, userTowerFeatures } from './featureSets.js';
import type { HeadLoss } from './internal/fit.js';
import { fitRanker, fitTwoTower } from './internal/fit.js';
import { Mlp } from './internal/Mlp.js';
import type { ModelCard } from './ModelCard.js';
import { exportMlpToOnnx } from './OnnxExport.js';
import { initTf } from './tfBackend.js';
import { userTowerInput, userTowerWidth } from './userTowerInput.js';

/** Version of the models directory format; part of the cache key. */
export const MODELS_SCHEMA_VERSION = 3;

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
  /** Hidden width of each tower. */
  readonly towerHidden: number;
  readonly towerLr: number;
  /**
   * Share of non-click training impressions the rankers keep (negative downsampling); kept ones
   * are weighted by its inverse, so the losses stay unbiased.
   */
  readonly negativeRate: number;
  /** Held-out impressions used for AUC (a uniform sample when the window is larger). */
  readonly aucRows: number;
}

/** Defaults per world scale. */
export const TRAIN_PRESETS = {
  tiny: { towerEpochs: 40, rankEpochs: 4, towerBatch: 256, rankBatch: 256, negativeRate: 0.5 },
  demo: { towerEpochs: 8, rankEpochs: 3, towerBatch: 512, rankBatch: 512, negativeRate: 0.2 },
  large: { towerEpochs: 3, rankEpochs: 1, towerBatch: 1024, rankBatch: 2048, negativeRate: 0.1 },
} as const satisfies Record<string, Partial<TrainConfig>>;

/** Fills training defaults. */
export function resolveTrainConfig(
  partial: Partial<TrainConfig> & { seed: number },
  preset: keyof typeof TRAIN_PRESETS = 'demo',
): TrainConfig {
  return {
    embeddingDim: 32,
    temperature: 0.05,
    towerHidden: 128,
    towerLr: 5e-3,
    aucRows: 60_000,
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

/** Version of the feature-spec files (rank `FeatureAssemblerSpec` JSON; user tower `OnnxUserTower` features). */
export const FEATURE_SPEC_VERSION = 2;

/** The user tower's feature file: the retrieval package's `OnnxUserTower` features, the `ids` table by reference. */
export interface UserTowerFeatureFile {
  readonly kind: 'recspine-user-tower-features';
  readonly schemaVersion: number;
  /** `ids` features carry `table: { ref: 'world:item_content', dims }`: the world's content column, ids `v<i>`. */
  readonly features: readonly Record<string, unknown>[];
  readonly width: number;
  readonly normalize: boolean;
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
  const dims: Dims = { ...wc, embeddingDim: cfg.embeddingDim };
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
  for (let r = 0; r < trainN; r++) if (imp.click[r] === 1 && (imp.watch[r] as number) >= 0.1) positives.push(r);
  const posItem = Int32Array.from(positives, (r) => imp.item[r] as number);
  const counts = new Float32Array(N);
  for (const i of posItem) counts[i] = (counts[i] as number) + 1;
  // Logit correction per item: logQ (the in-batch sampling frequency, i.e. the item's share of
  // positives) minus log exposure (its share of logged impressions, known from the logging policy).
  // The softmax then models exposure · pClick with exposure as a fixed offset, so u·v learns
  // log pClick(u, i) — relevance — rather than how often the logging policy showed the item.
  const shown = new Float32Array(N);
  for (let r = 0; r < trainN; r++) shown[imp.item[r] as number] = (shown[imp.item[r] as number] as number) + 1;
  const logQ = Float32Array.from(
    counts,
    (c, i) => Math.log((c + 1) / (posItem.length + N)) - Math.log(((shown[i] as number) + 1) / (trainN + N)),
  );
  // User tower input of every logged session (served profile + served history pool), in the
  // retrieval package's OnnxUserTower layout.
  let hlS = 0;
  let hlS2 = 0;
  for (let s = 0; s < ses.n; s++) {
    const v = Math.log1p(ses.historyLen[s] as number);
    hlS += v;
    hlS2 += v * v;
  }
  const hlMean = hlS / ses.n;
  const hlNorm = { mean: hlMean, std: Math.sqrt(Math.max(1e-12, hlS2 / ses.n - hlMean * hlMean)) };
  const contentRef = { ids: [] as string[], vectors: new Float32Array(0), dims: wc.dim };
  const towerFeatures = userTowerFeatures(dims, contentRef, { 'user.history_len': hlNorm });
  const UW = userTowerWidth(towerFeatures);
  const Xs = new Float32Array(ses.n * UW);
  for (let s = 0; s < ses.n; s++) {
    const row = data.userRowOfSession(s);
    userTowerInput(towerFeatures, { ...row, recent_items__pooled: row['history_pool'] as Float32Array }, Xs, s * UW);
  }
  const Xpos = new Float32Array(positives.length * UW);
  positives.forEach((r, k) => {
    const s = imp.session[r] as number;
    Xpos.set(Xs.subarray(s * UW, (s + 1) * UW), k * UW);
  });
  // Item tower input: the catalog snapshot at the split, through the rank FeatureAssembler.
  const allItems = Int32Array.from({ length: N }, (_, i) => i);
  const itemRaw = assembleCatalog(itemTowerSpec(dims), data, allItems);
  const itemNorms = normsFromMatrix(itemRaw.X, itemRaw.width, itemRaw.columns, N);
  const itemSpec = itemTowerSpec(dims, itemNorms);
  const item = assembleCatalog(itemSpec, data, allItems);
  const userTower = new Mlp(UW, [cfg.towerHidden], { embedding: cfg.embeddingDim }, 'l2normalize', cfg.seed + 1);
  const itemTower = new Mlp(item.width, [cfg.towerHidden], { embedding: cfg.embeddingDim }, 'l2normalize', cfg.seed + 2);
  let bar = progress('train: two-tower', cfg.towerEpochs, show);
  const tt = fitTwoTower(userTower, itemTower, Xpos, UW, item.X, item.width, posItem, logQ, {
    epochs: cfg.towerEpochs,
    batch: cfg.towerBatch,
    lr: cfg.towerLr,
    temperature: cfg.temperature,
    seed: cfg.seed,
    onEpoch: () => bar.tick(),
  });
  bar.stop();
  log(
    `two-tower: ${positives.length} positives, ${tt.steps} steps, loss ${tt.finalLoss.toFixed(3)} (chance ${Math.log(cfg.towerBatch).toFixed(2)}), ${cpuSeconds(process.cpuUsage(cpu0)).toFixed(1)} s CPU so far`,
  );
  if (!userTower.finite() || !itemTower.finite())
    throw VideoPlatformErrors.create('RECSPINE_ERR_VP_TRAINING', 'two-tower weights are not finite', { stage: 'train/two-tower' });
  const itemEmb = itemTower.predictArrays(item.X, N, item.width)['embedding'] as Float32Array;
  const sessEmb = userTower.predictArrays(Xs, ses.n, UW)['embedding'] as Float32Array;
  const E = cfg.embeddingDim;
  const emb: LoggedEmbeddings = { session: sessEmb, item: itemEmb, dim: E };

  // ---- rankers: rows (negative downsampling), labels, weights ----
  const picked: number[] = [];
  for (let r = 0; r < trainN; r++) if (imp.click[r] === 1 || rng.next() < cfg.negativeRate) picked.push(r);
  const trainRows = picked.length;
  const heldRows = Math.min(heldN, cfg.aucRows);
  for (let k = 0; k < heldRows; k++) picked.push(trainN + Math.floor((k * heldN) / heldRows));
  const idx = Int32Array.from(picked);
  const trainIdx = idx.subarray(0, trainRows);
  const rowWeight = Float32Array.from(idx, (r, k) => (k >= trainRows || imp.click[r] === 1 ? 1 : 1 / cfg.negativeRate));
  const label = {
    click: Float32Array.from(idx, (r) => imp.click[r] as number),
    watch: Float32Array.from(idx, (r) => imp.watch[r] as number),
    report: Float32Array.from(idx, (r) => imp.report[r] as number),
    sat: Float32Array.from(idx, (r) => imp.sat[r] as number),
    engaged: Float32Array.from(idx, (r) => (imp.click[r] === 1 && (imp.watch[r] as number) >= 0.3 ? 1 : 0)),
  };
  const clickMask = label.click;
  const multiTask = (from: number, n: number): HeadLoss[] => [
    { head: 'ctr', kind: 'pal', label: label.click.subarray(from, from + n), mask: rowWeight.subarray(from, from + n), weight: 1 },
    { head: 'watch', kind: 'bce', label: label.watch.subarray(from, from + n), mask: clickMask.subarray(from, from + n), weight: 0.5 },
    { head: 'report', kind: 'bce', label: label.report.subarray(from, from + n), mask: clickMask.subarray(from, from + n), weight: 0.5 },
    { head: 'satisfaction', kind: 'bce', label: label.sat.subarray(from, from + n), mask: clickMask.subarray(from, from + n), weight: 0.5 },
  ];
  // Missing-feature augmentation, per logged request (as a group times out per request at serving).
  const trainSessions = data.manifest.counts.trainSessions;
  const dropFine = (s: number): ReadonlySet<string> | undefined => {
    if (s >= trainSessions) return undefined;
    const groups: string[] = DROPPABLE_GROUPS.filter(() => rng.next() < cfg.dropRate);
    if (rng.next() < cfg.dropRate) groups.push(GROUPS.retrieval);
    return groups.length === 0 ? undefined : new Set(groups);
  };
  const retrievalDrop: ReadonlySet<string> = new Set([GROUPS.retrieval]);
  const dropRetrieval = (s: number): ReadonlySet<string> | undefined =>
    s < trainSessions && rng.next() < cfg.dropRate ? retrievalDrop : undefined;
  const buildRanker = (specOf: (n?: Norms) => FeatureAssemblerSpec, drop: (s: number) => ReadonlySet<string> | undefined) => {
    const norms = fitNorms(specOf, data, emb, trainIdx);
    const spec = specOf(norms);
    return { spec, ...assembleLogged(spec, data, emb, idx, drop) };
  };
  const fine = buildRanker((n) => fineSpec(dims, n), dropFine);
  const degraded = buildRanker((n) => degradedSpec(dims, n), dropRetrieval);
  const coarse = buildRanker((n) => coarseSpec(dims, n), dropRetrieval);

  const positions = Uint8Array.from(idx, (r) => imp.position[r] as number);
  const S = wc.slateSize;
  const fineModel = new Mlp(fine.width, [128, 64], { ctr: 1, watch: 1, report: 1, satisfaction: 1 }, 'sigmoid', cfg.seed + 3, OBJECTIVE);
  const degModel = new Mlp(degraded.width, [64, 32], { ctr: 1, watch: 1, report: 1, satisfaction: 1 }, 'sigmoid', cfg.seed + 4, OBJECTIVE);
  const coarseModel = new Mlp(coarse.width, [16], { score: 1 }, 'sigmoid', cfg.seed + 5);
  log(
    `rankers: ${trainRows} training rows (negatives kept with p = ${cfg.negativeRate}), ${cpuSeconds(process.cpuUsage(cpu0)).toFixed(1)} s CPU so far`,
  );
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
  const fineFit = fitRanker(fineModel, fine.X, trainRows, fine.width, multiTask(0, trainRows), common);
  const degFit = fitRanker(degModel, degraded.X, trainRows, degraded.width, multiTask(0, trainRows), common);
  const coarseFit = fitRanker(
    coarseModel,
    coarse.X,
    trainRows,
    coarse.width,
    [{ head: 'score', kind: 'pal', label: label.engaged, mask: rowWeight, weight: 1 }],
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
    `rankers: fine ${fineFit.steps} steps loss ${fineFit.finalLoss.toFixed(4)}; degraded loss ${degFit.finalLoss.toFixed(4)}; coarse loss ${coarseFit.finalLoss.toFixed(4)}; ${cpuSeconds(process.cpuUsage(cpu0)).toFixed(1)} s CPU so far`,
  );
  log(`examination learned (PAL) by position: ${Array.from(fineFit.positionLogits, (z) => (1 / (1 + Math.exp(-z))).toFixed(2)).join(' ')}`);

  // ---- held-out AUC per head (the held-out window's logged labels) ----
  const heldAuc = (m: Mlp, X: Float32Array, W: number): Record<string, number> => {
    const p = m.predictArrays(X.subarray(trainRows * W), heldRows, W);
    const click = label.click.subarray(trainRows);
    const out: Record<string, number> = {};
    if (p['ctr']) {
      out['ctr'] = auc(p['ctr'], click);
      out['watch'] = auc(
        p['watch'] as Float32Array,
        Float32Array.from(label.watch.subarray(trainRows), (w) => (w >= 0.5 ? 1 : 0)),
        click,
      );
      out['report'] = auc(p['report'] as Float32Array, label.report.subarray(trainRows), click);
      out['satisfaction'] = auc(p['satisfaction'] as Float32Array, label.sat.subarray(trainRows), click);
    }
    if (p['score']) out['score'] = auc(p['score'], label.engaged.subarray(trainRows));
    return out;
  };
  const fineAuc = heldAuc(fineModel, fine.X, fine.width);
  const degAuc = heldAuc(degModel, degraded.X, degraded.width);
  const coarseAuc = heldAuc(coarseModel, coarse.X, coarse.width);
  log(
    `held-out AUC fine ${JSON.stringify(round(fineAuc))} degraded ${JSON.stringify(round(degAuc))} coarse ${JSON.stringify(round(coarseAuc))}`,
  );

  // ---- export, parity, cards ----
  const trainWindow = { fromMs: data.ms(0), toMs: data.ms(data.manifest.splitS) };
  const version = `${world.manifest.key}-${key}`;
  const parityRows = Math.min(cfg.parityRows, heldN, cfg.aucRows);
  const exportOne = async (
    name: string,
    m: Mlp,
    featureFile: object,
    width: number,
    outputs: readonly string[],
    heldX: Float32Array,
    metrics: Record<string, number>,
    notes: Record<string, unknown>,
  ): Promise<ModelEntry> => {
    const bytes = exportMlpToOnnx(m.weights(), { name, version, docString: `RecSpine video-platform ${name} model` });
    const parity: ParityResult = await checkParity(bytes, m, heldX, Math.min(parityRows, heldX.length / width), width);
    if (!(parity.maxAbsDiff <= PARITY_TOLERANCE)) {
      throw VideoPlatformErrors.create('RECSPINE_ERR_VP_PARITY', `${name}: ONNX differs from tfjs by ${parity.maxAbsDiff}`, {
        stage: `train/${name}`,
      });
    }
    writeFileSync(join(tmp, `${name}.onnx`), bytes);
    writeFileSync(join(tmp, `${name}.features.json`), JSON.stringify(featureFile, null, 2));
    const card: ModelCard = {
      kind: 'recspine-model-card',
      schemaVersion: MODELS_SCHEMA_VERSION,
      featureSchemaVersion: FEATURE_SPEC_VERSION,
      model: name,
      version,
      onnx: `${name}.onnx`,
      featureSpec: `${name}.features.json`,
      input: { name: 'features', width },
      outputs,
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
      inputWidth: width,
      outputs,
    };
  };
  const heldUser = new Float32Array(parityRows * UW);
  for (let k = 0; k < parityRows; k++) {
    const s = imp.session[trainN + k] as number;
    heldUser.set(Xs.subarray(s * UW, (s + 1) * UW), k * UW);
  }
  const towerFile: UserTowerFeatureFile = {
    kind: 'recspine-user-tower-features',
    schemaVersion: FEATURE_SPEC_VERSION,
    features: towerFeatures.map((f) => (f.kind === 'ids' ? { ...f, table: { ref: 'world:item_content', dims: f.table.dims } } : { ...f })),
    width: UW,
    normalize: false,
  };
  const rankerOutputs = [...HEADS, 'value'];
  const positionBias = 'PAL: click likelihood σ(model)·σ(b_position) in training; position is never a serving feature';
  const mUser = await exportOne(
    'user_tower',
    userTower,
    towerFile,
    UW,
    ['embedding'],
    heldUser,
    { inBatchLoss: tt.finalLoss },
    {
      negativeSampling: `in-batch negatives (batch ${cfg.towerBatch}) with logQ correction plus a log-exposure offset (logged impressions), temperature ${cfg.temperature}`,
      positives: 'clicks with watched fraction ≥ 0.1 in the training window (the history criterion)',
      embeddingDim: E,
    },
  );
  const tail = (b: { X: Float32Array; width: number }) => b.X.subarray(trainRows * b.width);
  const mFine = await exportOne(
    'fine',
    fineModel,
    fine.spec,
    fine.width,
    rankerOutputs,
    tail(fine),
    { ...prefix('auc.', fineAuc), finalLoss: fineFit.finalLoss },
    {
      positionBias,
      examinationByPosition: Array.from(fineFit.positionLogits, (z) => 1 / (1 + Math.exp(-z))),
      missingAugmentation: `each of ${DROPPABLE_GROUPS.join(', ')} and the two-tower score marked missing per logged request with p = ${cfg.dropRate} (batch.missingGroups, as a group timeout at serving)`,
      objective: 'output value = ctr · (watch + 0.5 · satisfaction − 3 · report), computed in the graph',
      columns: fine.columns,
      heads: 'ctr: P(click | examined); watch: E[watched fraction | click]; report: P(report | click); satisfaction: P(satisfied | click)',
    },
  );
  const mDeg = await exportOne(
    'degraded',
    degModel,
    degraded.spec,
    degraded.width,
    rankerOutputs,
    tail(degraded),
    { ...prefix('auc.', degAuc), finalLoss: degFit.finalLoss },
    {
      positionBias,
      featureDeprived: 'request context + catalog (incl. its daily popularity snapshot) + retrieval score only; no feature-store groups',
      columns: degraded.columns,
    },
  );
  const mCoarse = await exportOne(
    'coarse',
    coarseModel,
    coarse.spec,
    coarse.width,
    ['score'],
    tail(coarse),
    { ...prefix('auc.', coarseAuc), finalLoss: coarseFit.finalLoss },
    {
      positionBias,
      label: 'engaged = click with watched fraction ≥ 0.3',
      columns: coarse.columns,
    },
  );
  const embFile = writeColumn(tmp, 'item_embeddings.f32', itemEmb, [N, E]);
  writeFileSync(join(tmp, 'item_tower.features.json'), JSON.stringify(itemSpec, null, 2));
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
    objective: { satisfaction: OBJECTIVE.satisfaction, report: OBJECTIVE.report },
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
