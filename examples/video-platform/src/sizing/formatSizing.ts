import type { Figure, SizingResult } from './computeSizing.js';
import { fmt } from './internal/format.js';

function line(label: string, f: Figure): string {
  return `  ${label.padEnd(26)} ${fmt(f.value).padStart(9)} ${f.unit}\n  ${' '.repeat(26)} ${f.chain}`;
}

/** Renders one preset's result for people: every figure with its chain of derivation. */
export function formatSizing(r: SizingResult): string {
  const out: string[] = [];
  out.push(`== ${r.preset}: ${r.description}`);
  out.push(line('peak traffic', r.traffic.qps));
  out.push(line('ANN searches', r.traffic.annQps));
  out.push(line('events', r.traffic.eventsPerSec));
  out.push(`-- rec service (CPU; cost source: ${r.recService.costSource})`);
  out.push(line('CPU per request', r.recService.msPerRequest));
  out.push(line('throughput per core', r.recService.qpsPerCore));
  out.push(line('rec-service nodes', r.recService.nodes));
  out.push(`  GPU? ${r.recService.gpu.chain}`);
  out.push('-- feature store (Redis Cluster)');
  out.push(line('feature values read', r.featureStore.valuesPerSec));
  out.push(line('per-node throughput', r.featureStore.valuesPerSecPerNode));
  out.push(line('bandwidth', r.featureStore.bandwidthGbps));
  out.push(line('masters by throughput', r.featureStore.mastersByThroughput));
  out.push(line('masters by bandwidth', r.featureStore.mastersByBandwidth));
  out.push(line('feature-store nodes', r.featureStore.nodes));
  out.push('-- Kafka + stream aggregator');
  out.push(line('aggregator instances', r.kafka.aggregators));
  out.push(line('partitions', r.kafka.partitions));
  out.push(`-- ANN (scatter-gather over shards; ${r.ann.recall})`);
  out.push(line('bytes per item', r.ann.bytesPerItem));
  out.push(line('index size', r.ann.totalGiB));
  out.push(line('shards', r.ann.shards));
  out.push(line('memory per shard', r.ann.memoryPerShardGiB));
  out.push(line('search per shard', r.ann.searchMsPerShard));
  out.push(line('replicas per shard', r.ann.replicasPerShard));
  out.push(line('ANN nodes', r.ann.nodes));
  return out.join('\n');
}
