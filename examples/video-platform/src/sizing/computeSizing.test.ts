import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BenchFigures } from './BenchFigures.js';
import { MissingBenchFigureError } from './BenchFigures.js';
import { annSearchMs, computeSizing, slotCostMs } from './computeSizing.js';
import type { SizingInputs } from './SizingInputs.js';
import { EVENT_SPIKE, STEADY_STATE } from './SizingInputs.js';

// Round synthetic figures, so the expected values below can be worked out by hand.
function bench(over: Partial<BenchFigures> = {}): BenchFigures {
  const m = (value: number): { value: number; from: string } => ({ value, from: 'test.json x' });
  return {
    coarse: { ms: m(1), candidates: 1000 },
    fine: { ms: m(2), candidates: 200 },
    rerank: { ms: m(0.5), candidates: 200 },
    featureDecode: { ms: m(1.5), candidates: 200, featuresPerItem: 50 },
    runnerOverheadMs: undefined,
    featureStore: { valuesPerRead: m(10_000), readP50Ms: m(10) },
    ann: {
      f16: { bytesPerItem: m(300), dims: 64, items: 1_000_000, searchP50Ms: m(6), k: 1000, expansionSearch: 4000, recallAtK: 0.96 },
    },
    aggregator: { maxSustainedEventsPerSec: m(1000), partitions: 6 },
    ...over,
  };
}

const ONE_SLOT: SizingInputs = {
  ...STEADY_STATE,
  slots: { homepage: { qps: 10_000, retrieved: 1000, coarseKeep: 200 } },
  featuresPerCandidate: 50,
  userFeatures: 0,
  bytesPerFeature: 10,
  coldUserShare: 0,
  eventsPerRequest: 5,
  headroom: 1,
  coresPerNode: 10,
  catalogItems: 1_000_000,
  embeddingDims: 64,
  quantization: 'f16',
  annNodeMemoryGiB: 10,
  annUsableMemoryShare: 1,
  annVersionsResident: 1,
  annMinReplicas: 1,
  nicGbps: 10,
  nicUsableShare: 1,
  featureReplicasPerMaster: 1,
  partitionsPerConsumer: 2,
};

describe('computeSizing', () => {
  describe('slotCostMs', () => {
    it('sums the per-op costs scaled linearly by candidate counts', () => {
      // coarse 1 ms × 1000/1000 + decode 1.5 × (100×50)/(200×50) + fine 2 × 100/200 + rerank 0.5 × 100/200
      const c = slotCostMs(bench(), { qps: 1, retrieved: 1000, coarseKeep: 100 }, 50);
      expect(c.ms).toBeCloseTo(1 + 0.75 + 1 + 0.25, 10);
      expect(c.fineMs).toBeCloseTo(1, 10);
      expect(c.chain).toContain('= 3 ms');
    });
    it('adds the runner overhead when core-overhead.json was read', () => {
      const c = slotCostMs(bench({ runnerOverheadMs: { value: 0.1, from: 'x' } }), { qps: 1, retrieved: 1000, coarseKeep: 200 }, 50);
      expect(c.ms).toBeCloseTo(1 + 1.5 + 2 + 0.5 + 0.1, 10);
    });
  });

  describe('rec service', () => {
    it('derives nodes from QPS ÷ QPS/core ÷ cores × headroom, rounded up', () => {
      // 5 ms/request → 200 QPS/core; 10 000 QPS → 50 cores → 5 nodes of 10; × 1.3 → 6.5 → 7
      const r = computeSizing({ ...ONE_SLOT, headroom: 1.3 }, bench());
      expect(r.recService.msPerRequest.value).toBeCloseTo(5, 10);
      expect(r.recService.qpsPerCore.value).toBeCloseTo(200, 10);
      expect(r.recService.nodes.value).toBe(7);
      expect(r.recService.nodes.chain).toContain('→ 7 nodes');
      expect(r.recService.costSource).toBe('derived from per-op benchmarks');
    });
    it('uses load.json QPS/core when present, scaled by the per-op cost ratio to its coarse keep', () => {
      // at keep 100 the per-op cost is 3 ms, at keep 200 it is 5 ms: 100 QPS/core measured at 200 → 100 × 5/3 at keep 100
      const b = bench({ load: { qpsPerCore: { value: 100, from: 'load.json metrics.qpsPerCore' }, coarseKeep: 200 } });
      const r = computeSizing({ ...ONE_SLOT, slots: { homepage: { qps: 10_000, retrieved: 1000, coarseKeep: 100 } } }, b);
      expect(r.recService.costSource).toBe('load.json');
      expect(r.recService.qpsPerCore.value).toBeCloseTo((100 * 5) / 3, 8);
    });
    it('says a GPU is not needed when fine rank is a small share and far inside its budget, and that it is when not', () => {
      expect(computeSizing(ONE_SLOT, bench()).recService.gpu.needed).toBe(false);
      const heavy = bench({ fine: { ms: { value: 15, from: 'x' }, candidates: 200 } });
      expect(computeSizing(ONE_SLOT, heavy).recService.gpu.needed).toBe(true);
    });
  });

  describe('feature store', () => {
    it('reads QPS × keep × features values, sizes masters by throughput and by bandwidth, adds replicas', () => {
      const r = computeSizing(ONE_SLOT, bench());
      // 10 000 × 200 × 50 = 100M values/s; node = 10 000 values / 10 ms = 1M values/s → 100 masters
      expect(r.featureStore.valuesPerSec.value).toBe(100_000_000);
      expect(r.featureStore.valuesPerSecPerNode.value).toBeCloseTo(1_000_000, 6);
      expect(r.featureStore.mastersByThroughput.value).toBe(100);
      // 100M × 10 B × 8 = 8 Gbit/s on 10 Gbit/s NICs → 1 master
      expect(r.featureStore.bandwidthGbps.value).toBeCloseTo(8, 10);
      expect(r.featureStore.mastersByBandwidth.value).toBe(1);
      expect(r.featureStore.nodes.value).toBe(200);
    });
    it('divides the item reads by the local cache miss rate and adds the user row', () => {
      const r = computeSizing({ ...ONE_SLOT, featureCacheHitRate: 0.75, userFeatures: 10 }, bench());
      expect(r.featureStore.valuesPerSec.value).toBeCloseTo(25_000_000 + 100_000, 6);
    });
  });

  describe('kafka', () => {
    it('sizes aggregators from the sustained event rate and partitions as consumers × partitions each', () => {
      const r = computeSizing({ ...ONE_SLOT, spikeFactor: 2 }, bench());
      // 20 000 QPS × 5 events = 100 000 events/s ÷ 1000 → 100 consumers → 200 partitions
      expect(r.traffic.eventsPerSec.value).toBe(100_000);
      expect(r.kafka.aggregators.value).toBe(100);
      expect(r.kafka.partitions.value).toBe(200);
    });
  });

  describe('ann', () => {
    it('rescales bytes per item to the embedding width and shards by usable memory per version', () => {
      // 300 B at 64-d f16 → 300 − 128 + 256 = 428 B at 128-d; 1M items → 428 MB; 0.1 GiB shards → 4 shards
      const r = computeSizing({ ...ONE_SLOT, embeddingDims: 128, annNodeMemoryGiB: 0.125 }, bench());
      expect(r.ann.bytesPerItem.value).toBe(428);
      expect(r.ann.shards.value).toBe(Math.ceil(428_000_000 / (0.125 * 1024 ** 3)));
      expect(r.ann.memoryPerShardGiB.value * r.ann.shards.value).toBeCloseTo(428_000_000 / 1024 ** 3, 10);
    });
    it('skips the ANN for cold users and sizes replicas from searches × per-shard cost', () => {
      const r = computeSizing({ ...ONE_SLOT, coldUserShare: 0.5 }, bench());
      expect(r.traffic.annQps.value).toBe(5000);
      // one shard of the measured size: 6 ms × 5000/s = 30 cores → 3 replicas of 10 cores
      expect(r.ann.searchMsPerShard.value).toBeCloseTo(6, 10);
      expect(r.ann.replicasPerShard.value).toBe(3);
      expect(r.ann.nodes.value).toBe(3);
    });
    it('fails naming retrieval-ann.json when the quantisation was not measured', () => {
      expect(() => computeSizing({ ...ONE_SLOT, quantization: 'i8' }, bench())).toThrow(MissingBenchFigureError);
      expect(() => computeSizing({ ...ONE_SLOT, quantization: 'i8' }, bench())).toThrow(/retrieval-ann\.json.*i8/);
    });
    it('annSearchMs grows with log(n) and equals the measurement at the measured size', () => {
      expect(annSearchMs(6, 1e6, 1e6)).toBeCloseTo(6, 10);
      expect(annSearchMs(6, 1e6, 1e12)).toBeCloseTo(12, 10);
    });
  });

  describe('presets', () => {
    it('the spike preset trims coarse keep to 150 and needs more nodes than steady state at 4× traffic', () => {
      for (const s of Object.values(EVENT_SPIKE.slots)) expect(s.coarseKeep).toBeLessThanOrEqual(150);
      const steady = computeSizing(STEADY_STATE, bench());
      const spike = computeSizing(EVENT_SPIKE, bench());
      expect(spike.traffic.qps.value).toBe(steady.traffic.qps.value * 4);
      expect(spike.recService.msPerRequest.value).toBeLessThan(steady.recService.msPerRequest.value);
      expect(spike.recService.nodes.value).toBeGreaterThan(steady.recService.nodes.value);
    });
    it('node counts never fall when QPS rises (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (a, b) => {
          const lo = computeSizing({ ...ONE_SLOT, slots: { h: { qps: Math.min(a, b), retrieved: 1000, coarseKeep: 200 } } }, bench());
          const hi = computeSizing({ ...ONE_SLOT, slots: { h: { qps: Math.max(a, b), retrieved: 1000, coarseKeep: 200 } } }, bench());
          return (
            hi.recService.nodes.value >= lo.recService.nodes.value &&
            hi.featureStore.nodes.value >= lo.featureStore.nodes.value &&
            hi.kafka.partitions.value >= lo.kafka.partitions.value &&
            hi.ann.nodes.value >= lo.ann.nodes.value
          );
        }),
      );
    });
  });
});
