import type { BenchFigures, OpCost } from './BenchFigures.js';
import { MissingBenchFigureError } from './BenchFigures.js';
import type { Quantization, SizingInputs, SlotLoad } from './SizingInputs.js';
import { ceilSafe, fmt } from './internal/format.js';

/** One computed figure and how it was derived, in the seed's "show your work" style. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  /** e.g. `= 80 000 QPS × 4.4 ms ÷ 1000 ÷ 16 cores/node × 1.3 headroom → 29 nodes`. */
  readonly chain: string;
}

export interface SizingResult {
  readonly preset: string;
  readonly description: string;
  readonly traffic: { readonly qps: Figure; readonly annQps: Figure; readonly eventsPerSec: Figure };
  readonly recService: {
    readonly costSource: 'load.json' | 'derived from per-op benchmarks';
    readonly msPerRequest: Figure;
    readonly qpsPerCore: Figure;
    readonly nodes: Figure;
    readonly gpu: { readonly needed: boolean; readonly chain: string };
  };
  readonly featureStore: {
    readonly valuesPerSec: Figure;
    readonly valuesPerSecPerNode: Figure;
    readonly bandwidthGbps: Figure;
    readonly mastersByThroughput: Figure;
    readonly mastersByBandwidth: Figure;
    readonly nodes: Figure;
  };
  readonly kafka: { readonly aggregators: Figure; readonly partitions: Figure };
  readonly ann: {
    readonly bytesPerItem: Figure;
    readonly totalGiB: Figure;
    readonly shards: Figure;
    readonly memoryPerShardGiB: Figure;
    readonly searchMsPerShard: Figure;
    readonly replicasPerShard: Figure;
    readonly nodes: Figure;
    readonly recall: string;
  };
}

const GIB = 1024 ** 3;
/** Bytes per vector component for each quantisation (a property of the format, not a measurement). */
export const SCALAR_BYTES: Readonly<Record<Quantization, number>> = { f32: 4, f16: 2, i8: 1 };

function fig(value: number, unit: string, chain: string): Figure {
  return { value, unit, chain };
}

function scaled(op: OpCost, n: number): number {
  return (op.ms.value * n) / op.candidates;
}

/** Rec-service CPU ms for one request of a slot, from the per-op benchmark costs (linear in candidates). */
export function slotCostMs(b: BenchFigures, s: SlotLoad, featuresPerCandidate: number): { ms: number; fineMs: number; chain: string } {
  const coarse = scaled(b.coarse, s.retrieved);
  const fd = b.featureDecode;
  const decode = (fd.ms.value * s.coarseKeep * featuresPerCandidate) / (fd.candidates * fd.featuresPerItem);
  const fine = scaled(b.fine, s.coarseKeep);
  const rerank = scaled(b.rerank, s.coarseKeep);
  const overhead = b.runnerOverheadMs?.value ?? 0;
  const ms = coarse + decode + fine + rerank + overhead;
  const chain =
    `coarse ${fmt(b.coarse.ms.value)} ms × ${s.retrieved}/${b.coarse.candidates}` +
    ` + feature decode ${fmt(fd.ms.value)} ms × (${s.coarseKeep}×${featuresPerCandidate})/(${fd.candidates}×${fd.featuresPerItem})` +
    ` + fine ${fmt(b.fine.ms.value)} ms × ${s.coarseKeep}/${b.fine.candidates}` +
    ` + re-rank ${fmt(b.rerank.ms.value)} ms × ${s.coarseKeep}/${b.rerank.candidates}` +
    (b.runnerOverheadMs ? ` + runner ${fmt(overhead)} ms` : '') +
    ` = ${fmt(ms)} ms`;
  return { ms, fineMs: fine, chain };
}

/** HNSW search cost grows roughly with log(n) at a fixed beam: scale the measured search to a shard's size. */
export function annSearchMs(measuredMs: number, measuredItems: number, shardItems: number): number {
  return (measuredMs * Math.log(Math.max(shardItems, 2))) / Math.log(Math.max(measuredItems, 2));
}

/**
 * Derives the fleet for one preset from measured per-node figures. Pure arithmetic: no I/O.
 *
 * @throws MissingBenchFigureError when retrieval-ann.json has no usearch entry for the chosen quantisation.
 */
export function computeSizing(input: SizingInputs, b: BenchFigures): SizingResult {
  const slots = Object.entries(input.slots);
  const spike = input.spikeFactor;
  const slotQps = slots.map(([name, s]) => ({ name, s, qps: s.qps * spike }));
  const qps = slotQps.reduce((a, x) => a + x.qps, 0);
  const qpsChain =
    `= (${slots.map(([n, s]) => `${fmt(s.qps)} ${n}`).join(' + ')}) QPS` +
    (spike !== 1 ? ` × ${fmt(spike)} spike` : '') +
    ` → ${fmt(qps)} QPS`;

  // ---- rec service ----
  const costs = slotQps.map((x) => ({ ...x, ...slotCostMs(b, x.s, input.featuresPerCandidate) }));
  const derivedMs = costs.reduce((a, c) => a + c.qps * c.ms, 0) / qps;
  const perSlot = costs.map((c) => `${c.name}: ${c.chain}`).join('; ');
  let msPerRequest: Figure;
  let qpsPerCore: Figure;
  let costSource: SizingResult['recService']['costSource'];
  if (b.load) {
    costSource = 'load.json';
    const refKeep = b.load.coarseKeep;
    let factor = 1;
    let why = 'load.json does not record its coarse keep, so its QPS/core is used unscaled';
    if (refKeep !== undefined) {
      const refMs =
        costs.reduce((a, c) => a + c.qps * slotCostMs(b, { ...c.s, coarseKeep: refKeep }, input.featuresPerCandidate).ms, 0) / qps;
      factor = refMs / derivedMs;
      why = `× ${fmt(factor)} (per-op cost at the load test's keep ${refKeep} ÷ at this preset's keeps)`;
    }
    const perCore = b.load.qpsPerCore.value * factor;
    qpsPerCore = fig(
      perCore,
      'QPS/core',
      `= ${fmt(b.load.qpsPerCore.value)} QPS/core measured end to end (${b.load.qpsPerCore.from}) ${why} → ${fmt(perCore)} QPS/core`,
    );
    msPerRequest = fig(1000 / perCore, 'ms CPU/request', `= 1000 ms ÷ ${fmt(perCore)} QPS/core → ${fmt(1000 / perCore)} ms`);
  } else {
    costSource = 'derived from per-op benchmarks';
    msPerRequest = fig(
      derivedMs,
      'ms CPU/request',
      `no load.json: summed from per-request op costs (p50 service times, linear in candidates) — ${perSlot}; QPS-weighted mean → ${fmt(derivedMs)} ms`,
    );
    qpsPerCore = fig(1000 / derivedMs, 'QPS/core', `= 1000 ms ÷ ${fmt(derivedMs)} ms/request → ${fmt(1000 / derivedMs)} QPS/core`);
  }
  const recCores = qps / qpsPerCore.value;
  const recNodes = ceilSafe((recCores * input.headroom) / input.coresPerNode);
  const nodes = fig(
    recNodes,
    'nodes',
    `= ${fmt(qps)} QPS ÷ ${fmt(qpsPerCore.value)} QPS/core ÷ ${input.coresPerNode} cores/node × ${fmt(input.headroom)} headroom → ${recNodes} nodes (${fmt(recCores)} busy cores)`,
  );
  const fineShare = costs.reduce((a, c) => a + c.qps * c.fineMs, 0) / costs.reduce((a, c) => a + c.qps * c.ms, 0);
  const worstFine = Math.max(...costs.map((c) => c.fineMs));
  const gpuNeeded = worstFine > input.fineBudgetMs / 2 || fineShare > 0.5;
  const saved = Math.floor(recNodes * fineShare);
  const gpuChain =
    `fine rank (assemble + model + combine) = ${fmt(worstFine)} ms CPU at the largest keep (${b.fine.ms.from} ${fmt(b.fine.ms.value)} ms × keep/${b.fine.candidates}) ` +
    `vs its ${input.fineBudgetMs} ms budget, and ${fmt(fineShare * 100)} % of rec-service CPU; a GPU could remove at most that share ` +
    `(Amdahl, and assembly stays on the CPU) → ≤ ${saved} of ${recNodes} nodes → ` +
    (gpuNeeded ? 'GPU worth evaluating' : 'GPU not needed: CPU fine rank fits its budget with room, and offloading it saves little');

  // ---- feature store ----
  const hit = input.featureCacheHitRate;
  const itemValues = slotQps.reduce((a, x) => a + x.qps * x.s.coarseKeep * input.featuresPerCandidate, 0) * (1 - hit);
  const userValues = qps * input.userFeatures;
  const values = itemValues + userValues;
  const valuesChain =
    `= Σ slot QPS × keep × ${input.featuresPerCandidate} features (${slotQps.map((x) => `${fmt(x.qps)}×${x.s.coarseKeep}`).join(' + ')})` +
    (hit > 0 ? ` × (1 − ${fmt(hit)} cache hit)` : '') +
    ` + ${fmt(qps)} QPS × ${input.userFeatures} user features → ${fmt(values)} values/s`;
  const perNode = (b.featureStore.valuesPerRead.value / b.featureStore.readP50Ms.value) * 1000;
  const perNodeFig = fig(
    perNode,
    'values/s/node',
    `= ${fmt(b.featureStore.valuesPerRead.value)} values/read (${b.featureStore.valuesPerRead.from}) ÷ ${fmt(b.featureStore.readP50Ms.value)} ms (${b.featureStore.readP50Ms.from}) × 1000 → ${fmt(perNode)} values/s (a floor: one closed-loop client on the same 2 cores)`,
  );
  const mThr = ceilSafe((values * input.headroom) / perNode);
  const gbps = (values * input.bytesPerFeature * 8) / 1e9;
  const mBw = ceilSafe(gbps / (input.nicGbps * input.nicUsableShare));
  const masters = Math.max(mThr, mBw);
  const fsNodes = masters * (1 + input.featureReplicasPerMaster);

  // ---- kafka ----
  const events = qps * input.eventsPerRequest;
  const agg = b.aggregator.maxSustainedEventsPerSec;
  const aggregators = ceilSafe((events * input.headroom) / agg.value);
  const partitions = aggregators * input.partitionsPerConsumer;

  // ---- ANN ----
  const a = b.ann[input.quantization];
  if (!a)
    throw new MissingBenchFigureError(
      'retrieval-ann.json',
      `retrieval-ann.json has no usearch ${input.quantization} entry in metrics.backends`,
    );
  const sb = SCALAR_BYTES[input.quantization];
  const bpi = a.bytesPerItem.value - a.dims * sb + input.embeddingDims * sb;
  const total = input.catalogItems * bpi;
  const cap = (input.annNodeMemoryGiB * GIB * input.annUsableMemoryShare) / input.annVersionsResident;
  const shards = Math.max(1, ceilSafe(total / cap));
  const itemsPerShard = input.catalogItems / shards;
  const resident = (total / shards) * input.annVersionsResident;
  const annQps = slotQps.reduce((acc, x) => acc + x.qps, 0) * (1 - input.coldUserShare);
  const searchMs = annSearchMs(a.searchP50Ms.value, a.items, itemsPerShard);
  const shardCores = (annQps * searchMs * input.headroom) / 1000;
  const replicas = Math.max(input.annMinReplicas, ceilSafe(shardCores / input.coresPerNode));

  return {
    preset: input.name,
    description: input.description,
    traffic: {
      qps: fig(qps, 'QPS', qpsChain),
      annQps: fig(
        annQps,
        'searches/s',
        `= ${fmt(qps)} QPS × (1 − ${fmt(input.coldUserShare)} cold users: no two-tower search) → ${fmt(annQps)} searches/s, each to every shard`,
      ),
      eventsPerSec: fig(events, 'events/s', `= ${fmt(qps)} QPS × ${fmt(input.eventsPerRequest)} events/request → ${fmt(events)} events/s`),
    },
    recService: {
      costSource,
      msPerRequest,
      qpsPerCore,
      nodes,
      gpu: { needed: gpuNeeded, chain: gpuChain },
    },
    featureStore: {
      valuesPerSec: fig(values, 'values/s', valuesChain),
      valuesPerSecPerNode: perNodeFig,
      bandwidthGbps: fig(gbps, 'Gbit/s', `= ${fmt(values)} values/s × ${fmt(input.bytesPerFeature)} B × 8 → ${fmt(gbps)} Gbit/s`),
      mastersByThroughput: fig(
        mThr,
        'masters',
        `= ${fmt(values)} values/s ÷ ${fmt(perNode)} values/s/node × ${fmt(input.headroom)} headroom → ${mThr} masters`,
      ),
      mastersByBandwidth: fig(
        mBw,
        'masters',
        `= ${fmt(gbps)} Gbit/s ÷ (${input.nicGbps} Gbit/s NIC × ${fmt(input.nicUsableShare)} usable) → ${mBw} masters`,
      ),
      nodes: fig(
        fsNodes,
        'nodes',
        `= max(${mThr} by throughput, ${mBw} by bandwidth) masters × (1 + ${input.featureReplicasPerMaster} replica) → ${fsNodes} Redis Cluster nodes`,
      ),
    },
    kafka: {
      aggregators: fig(
        aggregators,
        'instances',
        `= ${fmt(events)} events/s ÷ ${fmt(agg.value)} events/s sustained per 2-core aggregator (${agg.from}; broker and Redis on the same cores, so a floor) × ${fmt(input.headroom)} headroom → ${aggregators} aggregator instances`,
      ),
      partitions: fig(
        partitions,
        'partitions',
        `= ${aggregators} consumers × ${input.partitionsPerConsumer} partitions each (a consumer group cannot use more consumers than partitions; re-partitioning breaks per-user order) → ${partitions} partitions`,
      ),
    },
    ann: {
      bytesPerItem: fig(
        bpi,
        'B/item',
        `= ${fmt(a.bytesPerItem.value)} B/item measured at ${a.dims}-d ${input.quantization} (${a.bytesPerItem.from}) − ${a.dims}×${sb} B + ${input.embeddingDims}×${sb} B → ${fmt(bpi)} B/item`,
      ),
      totalGiB: fig(total / GIB, 'GiB', `= ${fmt(input.catalogItems)} items × ${fmt(bpi)} B → ${fmt(total / GIB)} GiB per index version`),
      shards: fig(
        shards,
        'shards',
        `= ${fmt(total / GIB)} GiB ÷ (${input.annNodeMemoryGiB} GiB node × ${fmt(input.annUsableMemoryShare)} usable ÷ ${input.annVersionsResident} versions resident: serving + rollback + building) → ${shards} shards`,
      ),
      memoryPerShardGiB: fig(
        resident / GIB,
        'GiB/shard',
        `= ${fmt(total / GIB)} GiB ÷ ${shards} shards × ${input.annVersionsResident} versions → ${fmt(resident / GIB)} GiB resident per shard node (${fmt(total / shards / GIB)} GiB serving)`,
      ),
      searchMsPerShard: fig(
        searchMs,
        'ms/search',
        `= ${fmt(a.searchP50Ms.value)} ms at ${fmt(a.items)} items, k ${a.k}, ef ${a.expansionSearch} (${a.searchP50Ms.from}) × ln(${fmt(itemsPerShard)})/ln(${fmt(a.items)}) → ${fmt(searchMs)} ms`,
      ),
      replicasPerShard: fig(
        replicas,
        'replicas',
        `= max(${input.annMinReplicas}, ${fmt(annQps)} searches/s × ${fmt(searchMs)} ms ÷ 1000 × ${fmt(input.headroom)} headroom ÷ ${input.coresPerNode} cores) → ${replicas} replicas per shard`,
      ),
      nodes: fig(shards * replicas, 'nodes', `= ${shards} shards × ${replicas} replicas → ${shards * replicas} ANN nodes`),
      recall: `recall@${a.k} ${fmt(a.recallAtK)} at ef ${a.expansionSearch} (measured, usearch ${input.quantization})`,
    },
  };
}
