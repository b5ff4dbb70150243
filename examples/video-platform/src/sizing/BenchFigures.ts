import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Quantization } from './SizingInputs.js';

/** A measured figure with the file and JSON path it came from, for the derivation chains. */
export interface Measured {
  readonly value: number;
  readonly from: string;
}

/** Cost of one operation on `n` candidates, measured at p50 (service time on one core). */
export interface OpCost {
  readonly ms: Measured;
  readonly candidates: number;
}

export interface AnnFigures {
  readonly bytesPerItem: Measured;
  readonly dims: number;
  readonly items: number;
  readonly searchP50Ms: Measured;
  readonly k: number;
  readonly expansionSearch: number;
  readonly recallAtK: number;
}

/**
 * Every per-node throughput and per-operation cost the calculator uses, read from
 * `bench-results/*.json`. Nothing here is typed in by hand.
 */
export interface BenchFigures {
  /** From `load.json` (the example's open-loop load test) when present. */
  readonly load?: { readonly qpsPerCore: Measured; readonly coarseKeep: number | undefined };
  readonly coarse: OpCost;
  readonly fine: OpCost;
  readonly rerank: OpCost;
  /** Client-side decode of one feature batch (in-memory store: no network), per candidate × features. */
  readonly featureDecode: OpCost & { readonly featuresPerItem: number };
  /** The runner's own overhead per request, when `core-overhead.json` is present. */
  readonly runnerOverheadMs: Measured | undefined;
  /** One Redis node: feature values returned per read and the read's p50. */
  readonly featureStore: { readonly valuesPerRead: Measured; readonly readP50Ms: Measured };
  readonly ann: Partial<Record<Quantization, AnnFigures>>;
  readonly aggregator: { readonly maxSustainedEventsPerSec: Measured; readonly partitions: number };
}

/** Thrown when a benchmark file the calculator needs is missing or lacks a figure. */
export class MissingBenchFigureError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`sizing: ${detail} (${file}). Run the benchmark that writes it first; see docs/tuning.md.`);
    this.name = 'MissingBenchFigureError';
  }
}

const PRODUCERS: Readonly<Record<string, string>> = {
  'rank.json': 'npm run bench -w packages/rank',
  'rerank.json': 'npm run bench -w packages/rerank',
  'retrieval-ann.json': 'npm run bench -w packages/retrieval',
  'features-fetch.json': 'npm run bench -w packages/features',
  'features-freshness.json': 'npm run bench -w packages/features',
};

type Json = Record<string, unknown>;

function readJson(dir: string, file: string, required: boolean): Json | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) {
    if (!required) return undefined;
    throw new MissingBenchFigureError(path, `missing benchmark file ${file} — produce it with \`${PRODUCERS[file] ?? 'its bench'}\``);
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (e) {
    throw new MissingBenchFigureError(path, `unreadable benchmark file ${file}: ${(e as Error).message}`);
  }
}

function at(doc: Json, file: string, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

function num(doc: Json, file: string, path: string): number {
  const v = at(doc, file, path);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new MissingBenchFigureError(file, `${file} has no finite number at ${path}`);
  }
  return v;
}

function measured(doc: Json, file: string, path: string): Measured {
  return { value: num(doc, file, path), from: `${file} ${path}` };
}

/**
 * Reads the benchmark outputs from `dir` (normally `<repo>/bench-results`). Required files:
 * rank.json, rerank.json, retrieval-ann.json, features-fetch.json, features-freshness.json;
 * optional: load.json (rec-service QPS per core), core-overhead.json.
 *
 * @throws MissingBenchFigureError naming the file (and the JSON path) that is missing.
 */
export function loadBenchFigures(dir: string): BenchFigures {
  const rank = readJson(dir, 'rank.json', true) as Json;
  const rerank = readJson(dir, 'rerank.json', true) as Json;
  const ann = readJson(dir, 'retrieval-ann.json', true) as Json;
  const fetch = readJson(dir, 'features-fetch.json', true) as Json;
  const fresh = readJson(dir, 'features-freshness.json', true) as Json;
  const load = readJson(dir, 'load.json', false);
  const overhead = readJson(dir, 'core-overhead.json', false);

  const backends = at(ann, 'retrieval-ann.json', 'metrics.backends');
  if (!Array.isArray(backends)) throw new MissingBenchFigureError('retrieval-ann.json', 'retrieval-ann.json has no metrics.backends[]');
  const annByQ: Partial<Record<Quantization, AnnFigures>> = {};
  backends.forEach((b: unknown, i) => {
    const e = b as Json;
    if (e['backend'] !== 'usearch') return; // usearch is the backend with all three quantisations
    const q = e['quantization'] as Quantization;
    const p = `metrics.backends.${i}`;
    annByQ[q] = {
      bytesPerItem: measured(ann, 'retrieval-ann.json', `${p}.bytesPerItem`),
      dims: num(ann, 'retrieval-ann.json', `${p}.dims`),
      items: num(ann, 'retrieval-ann.json', `${p}.items`),
      searchP50Ms: measured(ann, 'retrieval-ann.json', `${p}.searchP50Ms`),
      k: num(ann, 'retrieval-ann.json', `${p}.k`),
      expansionSearch: num(ann, 'retrieval-ann.json', `${p}.expansionSearch`),
      recallAtK: num(ann, 'retrieval-ann.json', `${p}.recallAtK`),
    };
  });

  const loadKeep = load ? at(load, 'load.json', 'params.coarseKeep') : undefined;
  return {
    load: load
      ? { qpsPerCore: measured(load, 'load.json', 'metrics.qpsPerCore'), coarseKeep: typeof loadKeep === 'number' ? loadKeep : undefined }
      : undefined,
    coarse: { ms: measured(rank, 'rank.json', 'metrics.coarseP50Ms'), candidates: num(rank, 'rank.json', 'metrics.coarseCandidates') },
    fine: { ms: measured(rank, 'rank.json', 'metrics.fineP50Ms'), candidates: num(rank, 'rank.json', 'metrics.fineCandidates') },
    rerank: { ms: measured(rerank, 'rerank.json', 'metrics.chainCpuP50Ms'), candidates: num(rerank, 'rerank.json', 'metrics.candidates') },
    featureDecode: {
      ms: measured(fetch, 'features-fetch.json', 'metrics.memoryP50Ms'),
      candidates: num(fetch, 'features-fetch.json', 'metrics.items'),
      featuresPerItem: num(fetch, 'features-fetch.json', 'metrics.featuresPerItem'),
    },
    runnerOverheadMs: overhead
      ? { value: num(overhead, 'core-overhead.json', 'metrics.overheadP50Us') / 1000, from: 'core-overhead.json metrics.overheadP50Us' }
      : undefined,
    featureStore: {
      valuesPerRead: measured(fetch, 'features-fetch.json', 'metrics.featuresReturned'),
      readP50Ms: measured(fetch, 'features-fetch.json', 'metrics.redisP50Ms'),
    },
    ann: annByQ,
    aggregator: {
      maxSustainedEventsPerSec: measured(fresh, 'features-freshness.json', 'metrics.maxSustainedEventsPerSec'),
      partitions: num(fresh, 'features-freshness.json', 'params.partitions'),
    },
  };
}
